"""Matching through HTTP against every service running (issue 12): the same trade name in
another city is accepted and flagged, a homophone is flagged, the form is warned while typing,
and a manager lets a real exception through."""

import time

import pytest

from tests.support.system import api

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def team(system):
    """The manager 王芳 and two salespeople of 华南, logged in."""
    admin = system.client("admin", system.admin_password)
    people = [
        {"username": "wangfang", "display_name": "王芳", "role": "manager", "password": "manager-pw-1"},
        {"username": "lina", "display_name": "李娜", "manager": "wangfang", "password": "sales-pw-12"},
        {"username": "zhangwei", "display_name": "张伟", "manager": "wangfang", "password": "sales-pw-34"},
    ]
    for person in people:
        reply = api(system, admin, "POST", "/users", json={"team": "华南", **person})
        assert reply.status_code == 201, reply.text
    return {person["username"]: system.client(person["username"], person["password"]) for person in people}


def enter(system, client, name, **fields):
    reply = api(system, client, "POST", "/customers", json={"name": name, **fields})
    assert reply.status_code == 201, reply.text
    return reply.json()


def flagged(system, manager, customer_id, timeout=15):
    """The suspected pair of ``customer_id`` once the scan has run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pairs = api(system, manager, "GET", "/duplicates").json()
        for pair in pairs:
            if pair["customer"]["id"] == customer_id:
                return pair
        time.sleep(0.3)
    raise AssertionError(f"no suspected pair for customer {customer_id}")


def test_the_same_trade_name_in_another_city_is_accepted_and_flagged(system, team):
    shenzhen = enter(system, team["lina"], "深圳市恒发五金有限公司", phone="0755-8600 1234")
    typed = api(system, team["zhangwei"], "POST", "/customers/check", json={"name": "广州市恒发五金有限公司"})
    assert typed.status_code == 200 and typed.json()["duplicate"] is False
    [near] = typed.json()["matches"]
    assert near["customer_id"] == shenzhen["id"] and near["reason"].startswith("同字号，不同地区")
    assert near["name"] is None and "0755" not in typed.text  # not his customer: no name, no contact

    guangzhou = enter(system, team["zhangwei"], "广州市恒发五金有限公司")
    pair = flagged(system, team["wangfang"], guangzhou["id"])
    assert pair["duplicate_of"]["id"] == shenzhen["id"]
    assert pair["reason"].startswith("同字号，不同地区")

    refused = api(system, team["zhangwei"], "POST", "/customers", json={"name": "恒发五金有限公司"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "duplicate_customer"


def test_a_homophone_is_flagged(system, team):
    alibaba = enter(system, team["lina"], "阿里巴巴网络技术有限公司")
    typed = api(
        system, team["zhangwei"], "POST", "/customers/check", json={"name": "阿里吧吧网络技术有限公司"}
    )
    assert typed.json()["matches"][0]["reason"].startswith("同音")
    homophone = enter(system, team["zhangwei"], "阿里吧吧网络技术有限公司")
    pair = flagged(system, team["wangfang"], homophone["id"])
    assert pair["duplicate_of"]["id"] == alibaba["id"] and pair["reason"].startswith("同音")


def test_a_manager_lets_a_blocked_entry_through_with_a_reason(system, team):
    first = enter(system, team["lina"], "东莞市宏达塑胶有限公司")
    by_sales = api(
        system, team["zhangwei"], "POST", "/customers",
        json={"name": "东莞市宏达塑胶有限公司", "override": {"reason": "两家"}},
    )  # fmt: skip
    assert by_sales.status_code == 403 and by_sales.json()["error"]["code"] == "forbidden"
    reason = "营业执照不同：两个法人主体"
    overridden = enter(system, team["wangfang"], "东莞市宏达塑胶有限公司", override={"reason": reason})
    history = api(system, team["wangfang"], "GET", f"/customers/{overridden['id']}/history").json()
    [change] = history["ownership_changes"]
    assert change["reason"] == "duplicate_overridden" and change["note"] == reason
    again = api(system, team["zhangwei"], "POST", "/customers", json={"name": "东莞市宏达塑胶有限公司"})
    assert again.status_code == 409 and again.json()["error"]["details"]["customer_id"] == first["id"]
