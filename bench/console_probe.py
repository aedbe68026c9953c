"""Load the console's first page in Chromium and measure it (run as its own process: no eventlet).

    python -m bench.console_probe <origin> <access token> [runs]

Prints JSON: the JavaScript and CSS the first page loads (bytes and gzip bytes), and for each run the
time from navigation to 工作台 being usable (its panels loaded, the forecast shown).
"""

from __future__ import annotations

import gzip
import json
import statistics
import sys
import time

from playwright.sync_api import sync_playwright

from tests.support.chromium import launch


def main(origin: str, token: str, runs: int) -> dict:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        assets: dict[str, tuple[int, int]] = {}
        times = []
        for attempt in range(runs):
            context = browser.new_context(viewport={"width": 1440, "height": 900})  # a cold cache each run
            context.add_init_script(f"localStorage.setItem('crm.token', {json.dumps(token)})")
            page = context.new_page()

            def seen(response) -> None:
                kind = response.request.resource_type
                if kind in ("script", "stylesheet") and response.ok:
                    body = response.body()
                    assets[response.url] = (len(body), len(gzip.compress(body, 9)))

            if attempt == 0:
                page.on("response", seen)
            started = time.perf_counter()
            page.goto(origin + "/")
            page.get_by_role("button", name="退出登录").wait_for(timeout=30_000)
            page.wait_for_function(
                "() => document.querySelector('.dashboard') && !document.querySelector('[role=status]')"
                " && document.querySelector('.dashboard .big')",
                timeout=30_000,
            )
            times.append(time.perf_counter() - started)
            context.close()
        browser.close()
    scripts = {url: size for url, size in assets.items() if url.endswith(".js")}
    styles = {url: size for url, size in assets.items() if url.endswith(".css")}
    return {
        "first_page_files": len(assets),
        "js_bytes": sum(raw for raw, _ in scripts.values()),
        "js_gzip_bytes": sum(packed for _, packed in scripts.values()),
        "css_bytes": sum(raw for raw, _ in styles.values()),
        "css_gzip_bytes": sum(packed for _, packed in styles.values()),
        "first_page_gzip_kb": round(sum(packed for _, packed in assets.values()) / 1024, 1),
        "usable_seconds": [round(t, 3) for t in times],
        "usable_median_seconds": round(statistics.median(times), 3),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 5)))
