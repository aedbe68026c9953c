"""Across every process, as `make run` starts them: a salesperson of another team learns no
customer's name through referrals, the duplicate check, reminders, alarms or knowledge entries."""

import pytest

from tests.support.system import api

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def people(system):
    """李娜 of 华东 and 陈静 of 华西, salespeople, and the admin, logged in."""
    admin = system.client("admin", system.admin_password)
    for username, display_name, team in (("lina", "李娜", "华东"), ("chenjing", "陈静", "华西")):
        reply = api(
            system,
            admin,
            "POST",
            "/users",
            json={
                "username": username,
                "display_name": display_name,
                "role": "sales",
                "team": team,
                "password": "sales-pw-12",
            },
        )
        assert reply.status_code == 201, reply.text
    return {
        "admin": admin,
        "lina": system.client("lina", "sales-pw-12"),
        "chen": system.client("chenjing", "sales-pw-12"),
    }


def created(reply):
    assert reply.status_code == 201, reply.text
    return reply.json()


def test_another_teams_salesperson_learns_no_name_of_a_customer_they_may_not_read(system, people):
    lina, chen, admin = people["lina"], people["chen"], people["admin"]
    huawei = created(api(system, lina, "POST", "/customers", json={"name": "深圳市华为技术有限公司"}))
    referred = created(
        api(
            system, lina, "POST", "/customers", json={"name": "西部矿业有限公司", "referred_by": huawei["id"]}
        )
    )
    chen_id = api(system, chen, "GET", "/me").json()["id"]
    moved = api(
        system,
        admin,
        "POST",
        f"/customers/{referred['id']}/transfer",
        json={"owner_id": chen_id, "reason": "调往华西"},
    )
    assert moved.status_code == 200, moved.text

    # referred_by naming a customer chen may not read is refused like an unknown id
    by_referral = api(
        system, chen, "POST", "/customers", json={"name": "鑫源贸易", "referred_by": huawei["id"]}
    )
    unknown = api(system, chen, "POST", "/customers", json={"name": "鑫源贸易", "referred_by": 424242})
    assert by_referral.status_code == unknown.status_code == 400
    assert by_referral.json() == unknown.json()

    # the tree, both ways: the other's customer is a bare node
    above = api(system, chen, "GET", f"/customers/{referred['id']}/referrals").json()
    assert above["referrers"] == [
        {"customer_id": huawei["id"], "readable": False, "name": None, "owner": None}
    ]
    below = api(system, lina, "GET", f"/customers/{huawei['id']}/referrals").json()
    assert [(c["customer_id"], c["name"], c["owner"]) for c in below["children"]] == [
        (referred["id"], None, None)
    ]

    # the check: owner, reason and score for a fragment, the name only for the same company
    fragment = api(system, chen, "POST", "/customers/check", json={"name": "华为"}).json()["matches"]
    assert [(m["customer_id"], m["owner"], m["name"]) for m in fragment] == [(huawei["id"], "李娜", None)]
    exact = api(system, chen, "POST", "/customers/check", json={"name": "华为技术有限公司"}).json()
    assert exact["matches"][0]["name"] == "深圳市华为技术有限公司"

    # reminders, alarms and entries about it: 403 as GET /customers/{id}, 404 for no customer
    about = {"customer_id": huawei["id"]}
    writes = [
        ("/reminders", {"title": "回访", "due_at": "2031-03-01T09:30:00+08:00"}),
        ("/alarms", {"title": "客户嫌贵", "problem": "采购说贵"}),
        ("/knowledge", {"kind": "success_story", "title": "拿下华为", "solution": "阶梯报价"}),
    ]
    for path, body in writes:
        refused = api(system, chen, "POST", path, json={**body, **about})
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["error"]["code"] == "not_your_customer"
        assert "华为" not in refused.text
        missing = api(system, chen, "POST", path, json={**body, "customer_id": 424242})
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "customer_not_found"
        assert created(api(system, lina, "POST", path, json={**body, **about}))["customer_id"] == huawei["id"]
