"""People leave, customers stay: an admin deactivates a salesperson and hands their customers to
a colleague in one step — across accounts, the gateway, customers, pipeline and notify, over real
RabbitMQ, as `make run` starts them."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.system import api, eventually

pytestmark = pytest.mark.flow

PEOPLE = [
    ("qianbo", "钱波", "manager", None),
    ("sunli", "孙丽", "sales", "qianbo"),
    ("wuhao", "吴昊", "sales", "qianbo"),
    ("fengyu", "冯雨", "sales", None),
]


@pytest.fixture(scope="module")
def team(system):
    admin = system.client("admin", system.admin_password)
    ids = {}
    for username, name, role, manager in PEOPLE:
        reply = api(
            system,
            admin,
            "POST",
            "/users",
            json={
                "username": username,
                "password": f"{username}-pw-1",
                "display_name": name,
                "role": role,
                "team": "华东" if username != "fengyu" else "华北",
                "manager": manager,
            },
        )
        assert reply.status_code == 201, reply.text
        ids[username] = reply.json()["id"]
    sessions = {username: system.client(username, f"{username}-pw-1") for username, *_ in PEOPLE}
    return {"admin": admin, "ids": ids, **sessions}


def test_a_leavers_customers_deals_and_reminders_follow_the_colleague(system, team):
    admin, sun, wu, ids = team["admin"], team["sunli"], team["wuhao"], team["ids"]
    customers = []
    for name, phone in (
        ("杭州西湖茶叶有限公司", "057188880101"),
        ("宁波港城物流有限公司", "057488880202"),
        ("温州瓯江鞋业有限公司", "057788880303"),
    ):
        reply = api(system, sun, "POST", "/customers", json={"name": name, "phone": phone})
        assert reply.status_code == 201, reply.text
        customers.append(reply.json()["id"])
    deal = api(
        system,
        sun,
        "POST",
        "/opportunities",
        json={"customer_id": customers[0], "title": "明前龙井", "amount": "8000"},
    )
    assert deal.status_code == 201, deal.text
    due = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    reminder = api(
        system,
        sun,
        "POST",
        "/reminders",
        json={"title": "回访西湖茶叶", "due_at": due, "customer_id": customers[1]},
    )
    assert reminder.status_code == 201, reply.text

    other_team = api(
        system, admin, "POST", f"/users/{ids['sunli']}/deactivate", json={"hand_over_to": ids["fengyu"]}
    )
    assert other_team.status_code == 409 and other_team.json()["error"]["code"] == "colleague_not_eligible"
    both = api(
        system,
        admin,
        "POST",
        f"/users/{ids['sunli']}/deactivate",
        json={"hand_over_to": ids["wuhao"], "to_pool": True},
    )
    assert both.status_code == 400, both.text
    assert api(system, sun, "GET", "/me").status_code == 200  # nothing happened yet

    gone = api(
        system, admin, "POST", f"/users/{ids['sunli']}/deactivate", json={"hand_over_to": ids["wuhao"]}
    )
    assert gone.status_code == 200 and gone.json()["active"] is False, gone.text

    def refused():
        reply = api(system, sun, "GET", "/me")
        return reply.status_code == 401 and reply.json()["error"]["code"]

    assert eventually(refused, seconds=20), "the leaver's token still works"

    def all_with_wu():
        owners = [api(system, wu, "GET", f"/customers/{c}") for c in customers]
        return all(r.status_code == 200 and r.json()["owner_id"] == ids["wuhao"] for r in owners)

    assert eventually(all_with_wu, seconds=30), "the customers did not follow the colleague"

    def deal_with_wu():
        deals = api(system, wu, "GET", "/opportunities", params={"status": "open"}).json()
        return [d for d in deals if d["id"] == deal.json()["id"] and d["owner_id"] == ids["wuhao"]]

    assert eventually(deal_with_wu, seconds=30), "the open deal did not follow"

    def reminder_with_wu():
        mine = api(system, wu, "GET", "/reminders").json()
        return [r for r in mine if r["id"] == reminder.json()["id"] and r["owner_id"] == ids["wuhao"]]

    assert eventually(reminder_with_wu, seconds=30), "the reminder did not follow"

    history = api(system, wu, "GET", f"/customers/{customers[0]}/history").json()
    owners = [(c["from_owner_id"], c["to_owner_id"], c["reason"]) for c in history["ownership_changes"]]
    assert owners[-1] == (ids["sunli"], ids["wuhao"], "offboarding")
    assert ids["sunli"] in {c["to_owner_id"] for c in history["ownership_changes"]}  # who owned it before
    last = history["ownership_changes"][-1]
    assert (last["from_owner_name"], last["to_owner_name"]) == ("孙丽", "吴昊")
