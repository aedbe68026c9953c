"""The pool (公海) in the console: a manager sets the team's pool rules (a refused value is shown
beside its field), a salesperson returns a customer to the pool (退回公海) from its page, the pool
says why each customer is there, and a 领取 refused by the cool-down or the daily limit says so
plainly. A real Chromium, the whole system behind it (its own: the team's rules change here)."""

from __future__ import annotations

import re

import pytest

from tests.support.system import api, eventually

pytestmark = [pytest.mark.flow, pytest.mark.e2e]


def answered_alarm(system, people, customer_id: int, title: str) -> int:
    """An alarm about the customer, answered by the team's manager: what 退回公海 needs."""
    alarm = api(
        system,
        people["zhang"],
        "POST",
        "/alarms",
        json={"title": title, "problem": "客户不再采购", "customer_id": customer_id},
    )
    assert alarm.status_code == 201, alarm.text
    answer = api(
        system, people["wang"], "POST", f"/alarms/{alarm.json()['id']}/answers", json={"body": "同意退回公海"}
    )
    assert answer.status_code == 201, answer.text
    return alarm.json()["id"]


def field(tab, label: str):
    """The form item holding the control named ``label`` (its error shows inside it)."""
    return tab.page.locator(".el-form-item").filter(has=tab.page.get_by_role("spinbutton", name=label))


def test_a_manager_sets_the_pool_rules_and_a_refused_value_is_shown_beside_its_field(
    system, people, open_console
):
    tab = open_console()
    tab.allowed = ("status of 400",)
    tab.login("wang")
    tab.goto("/customers?tab=pool")
    tab.page.get_by_role("button", name="公海规则").click()
    tab.page.wait_for_url(re.compile(r"/admin/pool$"))
    followup = tab.page.get_by_role("spinbutton", name="未跟进退回天数")
    followup.wait_for()
    tab.page.get_by_text("尚未设置，以下为默认值。").wait_for()
    assert followup.input_value() == "30"
    assert tab.page.get_by_role("spinbutton", name="提前提醒天数").input_value() == "3"

    # a warning that would come after the return: the server's 400, beside its field
    tab.page.get_by_role("spinbutton", name="提前提醒天数").fill("40")
    tab.page.get_by_role("button", name="保存").click()
    field(tab, "提前提醒天数").get_by_text(re.compile("提醒天数必须小于未跟进退回天数")).wait_for()
    tab.page.get_by_text("填写的内容有误，请检查标出的字段").wait_for()
    tab.screenshot("pool-rules-refused")
    assert api(system, people["wang"], "GET", "/pool/settings").json()["warning_days"] == 3

    tab.page.get_by_role("spinbutton", name="提前提醒天数").fill("5")
    tab.page.get_by_role("spinbutton", name="每天领取上限").fill("1")
    tab.page.get_by_role("spinbutton", name="领回冷却天数").fill("7")
    tab.page.get_by_role("button", name="保存").click()
    tab.page.get_by_text("公海规则已保存").wait_for()
    field(tab, "提前提醒天数").locator(".el-form-item__error").wait_for(state="detached")
    rules = api(system, people["zhang"], "GET", "/pool/settings").json()
    assert (rules["warning_days"], rules["max_daily_takes"], rules["cooldown_days"]) == (5, 1, 7)
    assert rules["followup_days"] == 30 and rules["updated_by"] is not None
    tab.page.get_by_text(re.compile("最近修改：")).wait_for()

    # a salesperson reads the rules but cannot open the page
    other = open_console()
    other.login("zhang")
    other.goto("/admin/pool")
    other.page.wait_for_url(re.compile(r"/forbidden"))


def test_a_released_customer_shows_why_and_a_refused_take_says_why(system, people, open_console):
    zhang, li = people["zhang"], people["li"]
    assert api(
        system, people["wang"], "PUT", "/pool/settings", json={"max_daily_takes": 1, "cooldown_days": 7}
    ).ok
    released = api(system, zhang, "POST", "/customers", json={"name": "杭州西湖茶叶贸易有限公司"}).json()
    earlier = api(system, zhang, "POST", "/customers", json={"name": "宁波北仑港口物流有限公司"}).json()
    alarm = answered_alarm(system, people, earlier["id"], "北仑物流转给别人")
    reply = api(
        system,
        zhang,
        "POST",
        f"/customers/{earlier['id']}/release",
        json={"reason": "对方换了采购，不再对接", "alarm_id": alarm},
    )
    assert reply.status_code == 200, reply.text
    answered_alarm(system, people, released["id"], "西湖茶叶不再合作")

    tab = open_console()
    tab.allowed = ("status of 409",)
    tab.login("zhang")
    tab.goto(f"/customers/{released['id']}")
    button = tab.page.get_by_role("button", name="退回公海")
    button.wait_for()
    tab.page.wait_for_function("b => !b.disabled", arg=button.element_handle())
    button.click()
    dialog = tab.page.get_by_role("dialog", name="退回公海")
    dialog.get_by_text("经理已回复").wait_for()
    confirm = dialog.get_by_role("button", name="确认退回")
    assert confirm.is_disabled()  # a reason is required
    dialog.get_by_label("退回原因").fill("客户已转向竞品，经理同意退回")
    confirm.click()
    tab.page.get_by_text("客户已退回公海").wait_for()
    tab.page.wait_for_url(re.compile(r"/customers\?tab=pool$"))

    row = tab.page.get_by_role("row", name=re.compile("杭州西湖茶叶"))
    row.get_by_text("主动退回", exact=True).wait_for()
    assert row.get_by_text("张三主动退回：客户已转向竞品，经理同意退回").is_visible()
    assert (
        tab.page.get_by_role("row", name=re.compile("宁波北仑港口"))
        .get_by_text("张三主动退回：对方换了采购，不再对接")
        .is_visible()
    )
    tab.screenshot("pool-reasons")

    # the former owner, too soon: the cool-down, with the day it ends
    row.get_by_role("button", name="领取 杭州西湖茶叶贸易有限公司").click()
    refusal = tab.page.get_by_role("alert").filter(has_text="不能领取")
    refusal.get_by_text(
        re.compile(
            r"不能领取「杭州西湖茶叶贸易有限公司」：这个客户是从你名下退回公海的，退回公海未满 7 天，\d{4}-\d\d-\d\d 之后才能再领取"
        )
    ).wait_for()

    # a colleague takes one, then the daily limit (1) refuses the next
    colleague = open_console()
    colleague.allowed = ("status of 409",)
    colleague.login("li")
    colleague.goto("/customers?tab=pool")
    colleague.page.get_by_role("button", name="领取 宁波北仑港口物流有限公司").click()
    colleague.page.get_by_text("已领取：宁波北仑港口物流有限公司").wait_for()
    colleague.page.get_by_role("row", name=re.compile("宁波北仑港口")).wait_for(state="detached")
    colleague.page.get_by_role("button", name="领取 杭州西湖茶叶贸易有限公司").click()
    colleague.page.get_by_role("alert").get_by_text(
        "不能领取「杭州西湖茶叶贸易有限公司」：今天已领取 1 个客户，达到团队每人每天的上限，明天再来领取"
    ).wait_for()
    colleague.screenshot("pool-daily-limit")

    def taken():
        return api(system, li, "GET", f"/customers/{earlier['id']}").json().get("owner_name") == "李四"

    assert eventually(taken)
    assert [e["id"] for e in api(system, li, "GET", "/pool").json()] == [released["id"]]  # still there
