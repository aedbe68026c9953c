"""经理放行: a manager lets a blocked entry through with a reason (the rare real exception); a
salesperson is never offered it. A real Chromium, the whole system behind it."""

from __future__ import annotations

import re

import pytest

from tests.support.system import api

pytestmark = [pytest.mark.flow, pytest.mark.e2e]

NAME = "佛山市南海恒昌铝材有限公司"


def test_a_manager_lets_a_blocked_entry_through_with_a_reason_a_salesperson_cannot(
    system, people, open_console
):
    first = api(system, people["zhang"], "POST", "/customers", json={"name": NAME})
    assert first.status_code == 201, first.text

    sales = open_console()
    sales.login("li")
    sales.goto("/customers/new")
    sales.page.get_by_label("公司名称").press_sequentially(NAME, delay=10)
    sales.page.get_by_text(re.compile(r"已存在：由 张三 于")).wait_for()
    assert sales.page.get_by_role("button", name="保存").is_disabled()
    assert sales.page.get_by_text("经理放行", exact=False).count() == 0

    tab = open_console()
    tab.login("wang")
    tab.goto("/customers/new")
    tab.page.get_by_label("公司名称").press_sequentially(NAME, delay=10)
    tab.page.get_by_text(re.compile(r"已存在：由 张三 于")).wait_for()
    save = tab.page.get_by_role("button", name="保存")
    assert save.is_disabled()
    tab.page.get_by_text(re.compile("经理放行")).click()
    assert save.is_disabled()  # not without a reason
    tab.page.get_by_label("放行原因").fill("同名不同厂：客户出示了营业执照，统一社会信用代码不同")
    tab.page.wait_for_function("b => !b.disabled", arg=save.element_handle())
    tab.screenshot("duplicate-override")
    save.click()
    tab.page.get_by_text(f"已放行录入：{NAME}").wait_for()
    tab.page.get_by_role("heading", name=re.compile(NAME)).wait_for()
    customer_id = int(re.search(r"/customers/(\d+)$", tab.page.url).group(1))
    assert customer_id != first.json()["id"]
    history = api(system, people["wang"], "GET", f"/customers/{customer_id}/history").json()
    [entered] = history["ownership_changes"]
    assert entered["reason"] == "duplicate_overridden"
    assert entered["note"] == "同名不同厂：客户出示了营业执照，统一社会信用代码不同"
    tab.page.get_by_text(re.compile("经理放行录入，同名不同厂")).wait_for()
