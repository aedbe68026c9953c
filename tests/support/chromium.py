"""Debian's Chromium as Playwright drives it here: no browser download, no network of its own."""

from __future__ import annotations

import os
from typing import Any

CHROMIUM = os.environ.get("CRM_CHROMIUM", "/usr/bin/chromium")
# without the background-networking flags Chromium keeps dialling out, refused on a closed network
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch(playwright: Any) -> Any:
    """A headless Chromium browser from ``sync_playwright()``."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
