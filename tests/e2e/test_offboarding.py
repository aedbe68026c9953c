"""A salesperson leaves: in the console's users list an admin deactivates them and chooses who takes
their customers; a manager may do it only for their own team's salespeople. A real Chromium, the
whole system behind it (its own, since users are deactivated here)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.people import password
from tests.support.system import api, eventually

pytestmark = [pytest.mark.flow, pytest.mark.e2e]


def user_ids(system, people) -> dict[str, int]:
    return {u["username"]: u["id"] for u in api(system, people["admin"], "GET", "/users").json()}


def row(tab, display_name: str):
    return tab.page.get_by_role("row", name=re.compile(display_name))


def test_a_manager_may_deactivate_their_salespeople_only(system, people, open_console):
    tab = open_console()
    tab.login("wang")
    tab.goto("/admin/users")
    row(tab, "张三").get_by_text("在职").wait_for()
    assert row(tab, "张三").get_by_role("button", name="停用 张三").is_visible()
    assert row(tab, "王经理").get_by_role("button", name=re.compile("停用|启用")).count() == 0


def test_an_admin_hands_a_leavers_customer_to_a_colleague_and_the_leaver_cannot_log_in(
    system, people, open_console
):
    ids = user_ids(system, people)
    wu, li = people["wu"], people["li"]
    customer = api(system, wu, "POST", "/customers", json={"name": "苏州吴中精密仪器有限公司"})
    assert customer.status_code == 201, customer.text
    customer_id = customer.json()["id"]
    due = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    reminder = api(
        system,
        wu,
        "POST",
        "/reminders",
        json={"title": "回访吴中精密", "due_at": due, "customer_id": customer_id},
    )
    assert reminder.status_code == 201, reminder.text

    tab = open_console()
    tab.login("admin", system.admin_password)
    tab.goto("/admin/users")
    row(tab, "吴六").get_by_text("在职").wait_for()
    # no 停用 for oneself
    assert row(tab, "admin").get_by_role("button", name=re.compile("停用")).count() == 0
    row(tab, "吴六").get_by_role("button", name="停用 吴六").click()
    dialog = tab.page.get_by_role("dialog", name=re.compile("停用 吴六"))
    dialog.get_by_text("待处理的提醒").wait_for()
    confirm = dialog.get_by_role("button", name="确认停用")
    assert confirm.is_disabled()  # no colleague picked yet
    dialog.get_by_role("combobox", name="接手同事").click()
    options = tab.page.get_by_role("option")
    options.first.wait_for()
    offered = sorted(options.all_inner_texts())
    assert offered == sorted(["李四（业务员）", "张三（业务员）", "王经理（经理）"]), (
        offered
    )  # not 吴六, not admin
    tab.page.get_by_role("option", name="李四（业务员）").click()
    tab.page.get_by_role("option", name="李四（业务员）").wait_for(state="hidden")
    tab.screenshot("deactivate-dialog")
    confirm.click()
    tab.page.get_by_text("已停用 吴六，客户已交给 李四").wait_for()
    dialog.wait_for(state="hidden")
    row(tab, "吴六").get_by_text("已停用").wait_for()
    assert row(tab, "吴六").get_by_role("button", name="启用 吴六").is_visible()
    tab.screenshot("users-deactivated")

    def with_li():
        reply = api(system, li, "GET", "/customers", params={"q": "吴中精密"})
        return reply.ok and [
            c for c in reply.json()["items"] if c["id"] == customer_id and c["owner_id"] == ids["li"]
        ]

    assert eventually(with_li, seconds=30), "the customer did not go to 李四"

    def reminder_with_li():
        return [r for r in api(system, li, "GET", "/reminders").json() if r["id"] == reminder.json()["id"]]

    assert eventually(reminder_with_li, seconds=30), "the reminder did not follow the customer"

    leaver = open_console()
    leaver.allowed = ("status of 401",)
    leaver.goto("/login")
    leaver.page.get_by_label("用户名").fill("wu")
    leaver.page.get_by_label("密码").fill(password("wu"))
    leaver.page.get_by_role("button", name="登录").click()
    leaver.page.get_by_text("用户名或密码错误").wait_for()
    assert "/login" in leaver.page.url

    # 启用 again: the user logs in; the customer stays with 李四
    row(tab, "吴六").get_by_role("button", name="启用 吴六").click()
    tab.page.get_by_role("dialog", name="启用用户").get_by_role("button", name="启用").click()
    tab.page.get_by_text("已启用 吴六").wait_for()
    row(tab, "吴六").get_by_text("在职").wait_for()
    back = open_console()
    back.login("wu")
    assert api(system, li, "GET", f"/customers/{customer_id}").json()["owner_id"] == ids["li"]


def test_a_colleague_deactivated_meanwhile_is_refused_with_the_reason(system, people, open_console):
    ids = user_ids(system, people)
    tab = open_console()
    tab.allowed = ("status of 409",)
    tab.login("admin", system.admin_password)
    tab.goto("/admin/users")
    row(tab, "张三").get_by_role("button", name="停用 张三").click()
    dialog = tab.page.get_by_role("dialog", name=re.compile("停用 张三"))
    dialog.get_by_role("combobox", name="接手同事").click()
    tab.page.get_by_role("option", name="王经理（经理）").click()

    # another admin deactivates 王经理 before this one confirms
    gone = api(system, people["admin"], "POST", f"/users/{ids['wang']}/deactivate")
    assert gone.status_code == 200, gone.text
    dialog.get_by_role("button", name="确认停用").click()
    dialog.get_by_text(
        "这位同事不能接手客户：对方已停用，请选择在职的同事（colleague_not_eligible）"
    ).wait_for()
    tab.screenshot("deactivate-refused")
    assert api(system, people["zhang"], "GET", "/me").status_code == 200  # 张三 is still active

    # the list is read again: 王经理 is no longer offered; the pool instead
    dialog.get_by_role("combobox", name="接手同事").click()
    tab.page.get_by_role("option", name="李四（业务员）").wait_for()
    assert tab.page.get_by_role("option", name="王经理（经理）").count() == 0
    tab.page.keyboard.press("Escape")
    dialog.get_by_text("退回团队公海", exact=True).click()
    dialog.get_by_role("button", name="确认停用").click()
    tab.page.get_by_text("已停用 张三，客户已退回团队公海").wait_for()
    row(tab, "张三").get_by_text("已停用").wait_for()
