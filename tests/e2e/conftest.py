"""The web console in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium, no
browser download) against the whole system started as `make run` does, with the console built.

These tests run WITHOUT eventlet (Playwright's sync API hangs under eventlet's monkey-patching), in a
pytest run of their own that does not load the root conftest:
``scripts/test_console.sh`` = ``pytest --confcutdir=tests/e2e tests/e2e``. The main run skips them
(``collect_ignore`` in the root conftest).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from crm_common.config import REPO_ROOT
from tests.e2e.people import ESCALATION_MINUTE_SECONDS, PEOPLE, password
from tests.support.chromium import CHROMIUM, launch
from tests.support.system import RunningSystem, api

SCREENSHOTS = REPO_ROOT / "web" / "test-results"


@pytest.fixture(scope="session")
def console_build() -> Path:
    """`make console`: builds web/dist if its sources changed (needs Node.js 20 and npm)."""
    result = subprocess.run(
        ["bash", "scripts/build_console.sh"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"the console did not build:\n{result.stdout}\n{result.stderr}"
    return REPO_ROOT / "web" / "dist"


@pytest.fixture(scope="module")
def system(request, tmp_path_factory, rabbit_manager, console_build) -> Iterator[RunningSystem]:
    """The whole system on a RabbitMQ vhost of its own (made and removed through the management API)."""
    uri = urlparse(request.config.getoption("RABBIT_AMQP_URI"))
    vhost = "console_e2e_" + uuid.uuid4().hex[:10]
    rabbit_manager.create_vhost(vhost)
    rabbit_manager.set_vhost_permissions(vhost, uri.username, ".*", ".*", ".*")
    running = RunningSystem(
        f"{uri.scheme}://{uri.netloc}/{vhost}",
        tmp_path_factory.mktemp("var"),
        extra_env={"NOTIFY_ESCALATION_MINUTE_SECONDS": str(ESCALATION_MINUTE_SECONDS)},
    )
    try:
        yield running.start()
    finally:
        running.stop()
        rabbit_manager.delete_vhost(vhost)


@pytest.fixture(scope="module")
def people(system) -> dict[str, requests.Session]:
    """A manager and three salespeople of team east, each a logged-in API session; and admin."""
    admin = system.client("admin", system.admin_password)
    sessions = {"admin": admin}
    for username, fields in PEOPLE.items():
        reply = api(
            system,
            admin,
            "POST",
            "/users",
            json={"username": username, "password": password(username), "team": "east", **fields},
        )
        assert reply.status_code == 201, reply.text
        sessions[username] = system.client(username, password(username))
    return sessions


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: apt-get install -y chromium fonts-noto-cjk"
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


class Console:
    """One person's browser tab on the console, collecting what the browser logs as errors."""

    def __init__(self, browser, system: RunningSystem, width: int = 1440, height: int = 900):
        self.origin = system.base_url.removesuffix("/api/v1")
        self.context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.errors: list[str] = []
        # substrings of browser errors a test causes on purpose (a 401 for a wrong password …)
        self.allowed: tuple[str, ...] = ()
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        # which requests failed, to say what a "Failed to load resource" error was about
        self.failed: list[str] = []
        self.page.on(
            "response",
            lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.request.method} {r.url}"),
        )

    def goto(self, path: str) -> None:
        self.page.goto(self.origin + path)

    def login(self, username: str, secret: str | None = None, path: str = "/") -> None:
        self.goto("/login" if path == "/" else path)
        self.page.get_by_label("用户名").fill(username)
        self.page.get_by_label("密码").fill(secret or password(username))
        self.page.get_by_role("button", name="登录").click()
        self.page.get_by_role("button", name="退出登录").wait_for()

    def menu(self, name: str):
        return self.page.get_by_role("menuitem", name=name, exact=True)

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in self.allowed)]


@pytest.fixture
def open_console(browser, system):
    tabs: list[Console] = []

    def open_tab(**kwargs) -> Console:
        tab = Console(browser, system, **kwargs)
        tabs.append(tab)
        return tab

    yield open_tab
    for tab in tabs:
        tab.context.close()
    errors = [error for tab in tabs for error in tab.unexpected_errors()]
    failed = [request for tab in tabs for request in tab.failed]
    assert not errors, f"the browser logged errors: {errors}; failed requests: {failed}"
