"""Routes of the notify area."""

from __future__ import annotations

from typing import Any


class NotifyRoutes:
    notify: Any
    caller: Any
