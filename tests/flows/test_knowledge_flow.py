"""Experience that stays: a manager writes down how the team handles price objections, a new
salesperson finds it on day one, gets stuck anyway, raises a difficulty alarm, and the accepted
answer becomes knowledge for the next person — over HTTP, every service running as `make run`
starts it."""

import pytest

from tests.support.system import api

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def team(system):
    admin = system.client("admin", system.admin_password)
    for user in (
        {
            "username": "wangfang",
            "password": "manager-pw-1",
            "display_name": "王芳",
            "role": "manager",
            "team": "华东",
        },
        {
            "username": "lina",
            "password": "sales-pw-12",
            "display_name": "李娜",
            "team": "华东",
            "manager": "wangfang",
        },
    ):
        created = api(system, admin, "POST", "/users", json=user)
        assert created.status_code == 201, created.text
    return system.client("wangfang", "manager-pw-1"), system.client("lina", "sales-pw-12")


def test_a_newcomer_finds_how_price_objections_were_handled_and_an_alarm_becomes_knowledge(system, team):
    manager, sales = team
    entries = [
        {
            "kind": "solution",
            "title": "客户嫌贵怎么办",
            "problem": "报价后客户说比竞品贵",
            "solution": "先认同客户的感受，再讲清楚售后和交期的价值，最后给阶梯报价",
            "tags": ["价格异议"],
        },
        {
            "kind": "success_story",
            "title": "阶梯报价拿下年度大单",
            "problem": "采购经理一直压价",
            "solution": "按采购量分三档报价，签了年度框架协议",
            "tags": ["价格异议", "大客户"],
        },
        {
            "kind": "faq",
            "title": "回款慢怎么催",
            "solution": "每周电话回访，约财务当面对账",
            "tags": ["回款"],
        },
    ]
    for entry in entries:
        written = api(system, manager, "POST", "/knowledge", json=entry)
        assert written.status_code == 201, written.text
        assert written.json()["author_name"] == "王芳"

    found = api(system, sales, "GET", "/knowledge", params={"q": "客户嫌贵"})
    assert found.status_code == 200, found.text
    assert found.json()["items"][0]["title"] == "客户嫌贵怎么办"
    assert found.json()["items"][0]["highlights"]["title"] == "<mark>客户嫌贵</mark>怎么办"
    stories = api(system, sales, "GET", "/knowledge", params={"q": "报价", "kind": "success_story"}).json()
    assert [item["title"] for item in stories["items"]] == ["阶梯报价拿下年度大单"]

    raised = api(
        system,
        sales,
        "POST",
        "/alarms",
        json={
            "title": "客户嫌贵不签合同",
            "problem": "试用结束后客户说我们比竞品贵两成，一直拖着不签",
            "customer_id": None,
        },
    )
    assert raised.status_code == 201, raised.text
    alarm = raised.json()
    assert alarm["status"] == "open" and alarm["raised_by_name"] == "李娜" and alarm["team"] == "华东"
    assert alarm["similar_entries"][0]["title"] == "客户嫌贵怎么办"

    team_alarms = api(system, manager, "GET", "/alarms").json()
    assert [listed["id"] for listed in team_alarms] == [alarm["id"]]
    answered = api(
        system,
        manager,
        "POST",
        f"/alarms/{alarm['id']}/answers",
        json={"body": "约技术负责人做一次产品演示，把三年的维保成本算给他看"},
    )
    assert answered.status_code == 201, answered.text
    answer = answered.json()
    assert answer["by_manager"] is True

    not_the_raiser = api(
        system, manager, "POST", f"/alarms/{alarm['id']}/resolve", json={"answer_id": answer["id"]}
    )
    assert not_the_raiser.status_code == 403 and not_the_raiser.json()["error"]["code"] == "not_raiser"

    resolved = api(
        system,
        sales,
        "POST",
        f"/alarms/{alarm['id']}/resolve",
        json={"answer_id": answer["id"], "publish": True, "tags": ["价格异议"]},
    )
    assert resolved.status_code == 200, resolved.text
    published = resolved.json()["entry"]
    assert resolved.json()["status"] == "resolved"
    assert published["alarm_id"] == alarm["id"] and published["author_name"] == "王芳"

    again = api(system, sales, "POST", f"/alarms/{alarm['id']}/resolve", json={"answer_id": answer["id"]})
    assert again.status_code == 409 and again.json()["error"]["code"] == "alarm_not_open"

    next_person = api(system, sales, "GET", "/knowledge", params={"q": "维保成本"}).json()
    assert [item["id"] for item in next_person["items"]] == [published["id"]]
    shown = api(system, sales, "GET", f"/knowledge/{published['id']}").json()
    assert shown["solution"].startswith("约技术负责人") and shown["views"] == 1


def test_curating_is_for_managers_and_onboarding_starts_with_the_pinned(system, team):
    manager, sales = team
    guide = api(
        system,
        manager,
        "POST",
        "/knowledge",
        json={
            "kind": "faq",
            "title": "新人第一周做什么",
            "solution": "跟着经理跑三次客户",
            "tags": ["新人培训"],
        },
    ).json()

    refused = api(system, sales, "POST", f"/knowledge/{guide['id']}/pin", json={})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_manager"
    pinned = api(system, manager, "POST", f"/knowledge/{guide['id']}/pin", json={})
    assert pinned.status_code == 200 and pinned.json()["pinned"] is True

    onboarding = api(system, sales, "GET", "/knowledge/onboarding")
    assert onboarding.status_code == 200, onboarding.text
    first = onboarding.json()["items"][0]
    assert (first["reason"], first["entry"]["id"]) == ("pinned", guide["id"])

    bad_kind = api(
        system, sales, "POST", "/knowledge", json={"kind": "gossip", "title": "x", "solution": "y"}
    )
    assert bad_kind.status_code == 400 and "kind" in bad_kind.json()["error"]["details"]
    missing = api(system, sales, "GET", "/knowledge/999999")
    assert missing.status_code == 404
