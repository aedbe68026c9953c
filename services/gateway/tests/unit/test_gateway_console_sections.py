"""The gateway serves the console's index.html for every first path segment of the console's router,
so a reload or a shared link to any page opens the console instead of a 404."""

import re
from pathlib import Path

from gateway.console import CLIENT_SECTIONS

ROUTER = Path(__file__).resolve().parents[4] / "web" / "src" / "router.ts"


def router_sections() -> set[str]:
    paths = re.findall(r"path:\s*'([^']*)'", ROUTER.read_text(encoding="utf-8"))
    firsts = {path.strip("/").split("/")[0] for path in paths}
    return {first for first in firsts if first and not first.startswith(":")}


def test_every_page_of_the_console_router_is_served_by_the_gateway():
    sections = router_sections()
    assert {"customers", "appraisal", "login"} <= sections  # the parse found the routes
    assert sections <= set(CLIENT_SECTIONS), (
        f"add to gateway.console.CLIENT_SECTIONS: {sections - set(CLIENT_SECTIONS)}"
    )
