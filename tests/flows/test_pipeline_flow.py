"""A sales team's pipeline through HTTP, against every service running as `make run` starts it:
stages and targets by the manager, deals by the salesperson, the forecast and funnel both see, and
deals ending lost when their customer is given up."""

import time
from decimal import Decimal

import pytest
import requests

from tests.support.system import api

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def team(system):
    """王芳 manages 华南; 刘洋 and 张伟 sell there."""
    admin = system.client("admin", system.admin_password)
    people = [
        {"username": "wangfang", "password": "manager-pw-1", "display_name": "王芳", "role": "manager"},
        {"username": "liuyang", "password": "sales-pw-12", "display_name": "刘洋", "manager": "wangfang"},
        {"username": "zhangwei", "password": "sales-pw-34", "display_name": "张伟", "manager": "wangfang"},
    ]
    ids = {}
    for person in people:
        created = api(system, admin, "POST", "/users", json={"team": "华南", **person})
        assert created.status_code == 201, created.text
        ids[person["username"]] = created.json()["id"]
    return {
        "ids": ids,
        "manager": system.client("wangfang", "manager-pw-1"),
        "liu": system.client("liuyang", "sales-pw-12"),
        "zhang": system.client("zhangwei", "sales-pw-34"),
    }


def _customer(system, session, name, phone):
    created = api(
        system,
        session,
        "POST",
        "/customers",
        json={"name": name, "phone": phone, "address": "广州市天河区", "industry": "制造", "contacts": []},
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def test_the_manager_edits_the_stages_and_sets_targets_the_salesperson_reads(system, team):
    manager, liu = team["manager"], team["liu"]
    stages = api(system, liu, "GET", "/stages").json()
    assert [s["probability"] for s in stages["stages"]] == [0, 10, 25, 50, 75, 90, 100]
    assert api(system, liu, "PUT", "/stages", json={"stages": stages["stages"]}).status_code == 403

    renamed = [{**s, "name": "送样" if s["key"] == "s25" else s["name"]} for s in stages["stages"]]
    edited = api(system, manager, "PUT", "/stages", json={"stages": renamed})
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] > stages["version"] and edited.json()["team"] == "华南"
    assert api(system, liu, "GET", "/stages").json()["stages"][2]["name"] == "送样"

    target = api(
        system,
        manager,
        "PUT",
        "/targets",
        json={"owner": team["ids"]["liuyang"], "period": "2026-Q1", "amount": "300000"},
    )
    assert target.status_code == 200, target.text
    assert [t["amount"] for t in api(system, liu, "GET", "/targets").json()] == ["300000.00"]
    assert api(system, team["zhang"], "GET", "/targets").json() == []
    refused = api(
        system,
        liu,
        "PUT",
        "/targets",
        json={"owner": team["ids"]["liuyang"], "period": "2026-Q1", "amount": "1"},
    )
    assert refused.status_code == 403


def test_deals_give_the_salesperson_a_forecast_and_funnel_and_the_manager_the_team_view(system, team):
    liu, zhang, manager = team["liu"], team["zhang"], team["manager"]
    customer = _customer(system, liu, "广州明辉五金有限公司", "13800138101")
    deal_ids = []
    for stage, count in {"s25": 4, "s50": 3, "s75": 2, "s90": 2, "s10": 5}.items():
        for n in range(count):
            created = api(
                system,
                liu,
                "POST",
                "/opportunities",
                json={
                    "customer_id": customer,
                    "title": f"五金件 {stage}-{n}",
                    "amount": "10000",
                    "stage": stage,
                },
            )
            assert created.status_code == 201, created.text
            deal_ids.append(created.json()["id"])
    assert api(
        system,
        zhang,
        "POST",
        "/opportunities",
        json={"customer_id": customer, "title": "抢单", "amount": "1"},
    ).status_code in (403, 404)

    moved = api(system, liu, "POST", f"/opportunities/{deal_ids[0]}/stage", json={"stage": "s50"})
    assert moved.status_code == 200 and [h["to_stage"] for h in moved.json()["history"]] == ["s25", "s50"]
    won = api(system, liu, "POST", f"/opportunities/{deal_ids[-1]}/won", json={"reason": "第三次送货完成"})
    assert won.status_code == 200 and won.json()["status"] == "won"

    forecast = api(system, liu, "GET", "/forecast").json()
    # 3 × 2,500 + 4 × 5,000 + 2 × 7,500 + 2 × 9,000
    assert forecast["weighted_total"] == "60500.00"
    assert forecast["sample_size"] == 11 and forecast["reliable"] is False
    assert Decimal(forecast["interval"]["low"]) <= Decimal("60500") <= Decimal(forecast["interval"]["high"])
    assert api(system, liu, "GET", "/forecast", params={"team": "华南"}).status_code == 403

    funnel = api(system, liu, "GET", "/funnel").json()
    assert [s["count"] for s in funnel["stages"]] == [0, 4, 3, 4, 2, 2, 1]
    assert {a["kind"] for a in funnel["advice"]} >= {"prospect"}

    team_view = api(system, manager, "GET", "/forecast").json()
    assert team_view["team"] == "华南" and team_view["weighted_total"] == "60500.00"
    assert {o["display_name"] for o in team_view["by_owner"]} == {"刘洋", "张伟"}
    team_funnel = api(system, manager, "GET", "/funnel").json()
    assert {o["owner_id"] for o in team_funnel["by_owner"]} == set(
        team["ids"][n] for n in ("liuyang", "zhangwei")
    )


def test_giving_up_a_customer_ends_its_open_deals_lost(system, team):
    liu, manager = team["liu"], team["manager"]
    customer = _customer(system, liu, "佛山顺达塑料制品厂", "13800138102")
    deal = api(
        system,
        liu,
        "POST",
        "/opportunities",
        json={"customer_id": customer, "title": "塑料件", "amount": "5000", "stage": "s50"},
    ).json()
    alarm = api(
        system,
        liu,
        "POST",
        "/alarms",
        json={"title": "客户要倒闭", "problem": "付不起货款", "customer_id": customer},
    )
    assert alarm.status_code == 201, alarm.text
    alarm_id = alarm.json().get("alarm_id") or alarm.json()["id"]
    answered = api(
        system, manager, "POST", f"/alarms/{alarm_id}/answers", json={"body": "可以放弃，转入公海"}
    )
    assert answered.status_code in (200, 201), answered.text
    abandoned = api(
        system,
        liu,
        "POST",
        f"/customers/{customer}/abandon",
        json={"reason": "客户倒闭", "alarm_id": alarm_id},
    )
    assert abandoned.status_code in (200, 201, 204), abandoned.text

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        current = api(system, liu, "GET", f"/opportunities/{deal['id']}").json()
        if current["status"] == "lost":
            break
        time.sleep(0.2)
    assert (current["status"], current["close_reason"]) == ("lost", "abandoned")


def test_the_pipeline_routes_are_in_the_openapi_document(system):
    paths = requests.get(system.base_url + "/openapi.json", timeout=10).json()["paths"]
    for path in (
        "/api/v1/stages",
        "/api/v1/opportunities",
        "/api/v1/forecast",
        "/api/v1/funnel",
        "/api/v1/targets",
    ):
        assert path in paths
