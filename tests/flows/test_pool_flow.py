"""The pool rules (公海规则) across the real processes, as `make run` starts them, with the services'
clock moved by the test (``RunningSystem.move_clock``): a customer nobody follows up is warned
about, then returns to the team pool after the team's days; a colleague takes it; the daily take
limit and the former owner's cool-down hold; a won deal keeps a customer out of the pool while one
without returns for "no won deal"."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlparse

import pytest

from tests.support.system import RunningSystem, api, eventually

pytestmark = pytest.mark.flow

TEAM = "华南"
RULES = {
    "followup_days": 10,
    "won_deal_days": 30,
    "warning_days": 3,
    "max_daily_takes": 1,
    "cooldown_days": 5,
}


@pytest.fixture(scope="module")
def system(request, tmp_path_factory, vhost_pipeline):
    """The whole system with its clock under the test's control and the pool swept every second."""
    uri = urlparse(request.config.getoption("RABBIT_AMQP_URI"))
    with vhost_pipeline.get() as vhost:
        running = RunningSystem(
            f"{uri.scheme}://{uri.netloc}/{vhost}",
            tmp_path_factory.mktemp("var"),
            extra_env={"CUSTOMERS_POOL_SWEEP_SECONDS": "1"},
            clock_control=True,
        ).start()
        running.vhost = vhost
        yield running
        running.stop()


@pytest.fixture(scope="module")
def team(system):
    admin = system.client("admin", system.admin_password)
    people = [
        ("huang", "黄经理", "manager", None),
        ("zhou", "周萍", "sales", "huang"),
        ("lin", "林涛", "sales", "huang"),
    ]
    for username, name, role, manager in people:
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
                "team": TEAM,
                "manager": manager,
            },
        )
        assert reply.status_code == 201, reply.text
    sessions = {username: system.client(username, f"{username}-pw-1") for username, *_ in people}
    sessions["ids"] = {u["username"]: u["id"] for u in api(system, admin, "GET", "/users").json()}
    return sessions


def enter(system, session, name: str) -> int:
    reply = api(system, session, "POST", "/customers", json={"name": name})
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


def follow_up(system, session, customer_id: int) -> None:
    reply = api(
        system,
        session,
        "POST",
        f"/customers/{customer_id}/followups",
        json={"kind": "call", "summary": "电话回访"},
    )
    assert reply.status_code == 201, reply.text


def owner_of(system, session, customer_id: int):
    return api(system, session, "GET", f"/customers/{customer_id}").json()["owner_id"]


def pooled(system, session, customer_id: int) -> dict | None:
    return next((e for e in api(system, session, "GET", "/pool").json() if e["id"] == customer_id), None)


def warnings_about(system, session, customer_id: int) -> list[dict]:
    listed = api(system, session, "GET", "/notifications", params={"limit": 200}).json()["notifications"]
    return [
        n for n in listed if n["kind"] == "customer_return_warning" and n["subject_id"] == str(customer_id)
    ]


def take(system, session, customer_id: int):
    return api(system, session, "POST", f"/pool/{customer_id}/take")


def test_the_pool_rules_over_a_month(system, team, rabbit_manager):
    huang, zhou, lin, ids = team["huang"], team["zhou"], team["lin"], team["ids"]
    settings = api(system, huang, "PUT", "/pool/settings", json=RULES)
    assert settings.status_code == 200, settings.text

    # 25 days ago zhou entered four customers
    system.move_clock(days=-25)
    silent = enter(system, zhou, "佛山顺德恒发五金有限公司")
    also_silent = enter(system, zhou, "东莞长安宏达电子有限公司")
    winner = enter(system, zhou, "中山小榄鑫源灯饰有限公司")
    plain = enter(system, zhou, "江门蓬江华兴陶瓷有限公司")

    # 9 days later: a day before the 10-day limit, so within the 3 days' warning, zhou is warned
    system.move_clock(days=-16)
    assert eventually(lambda: warnings_about(system, zhou, silent), seconds=30), "no warning for zhou"
    [warning] = warnings_about(system, zhou, silent)
    assert warning["title"] == "客户即将退回公海：佛山顺德恒发五金有限公司"
    assert "超过 10 天没有跟进记录" in warning["body"] and "（1 天后）自动退回团队公海" in warning["body"]
    assert owner_of(system, zhou, silent) == ids["zhou"]  # warned before, still zhou's
    assert eventually(lambda: warnings_about(system, zhou, also_silent), seconds=30)
    for customer_id in (winner, plain):
        follow_up(system, zhou, customer_id)

    # 11 days after entry: the two silent ones are back in the pool, saying why; the others stay
    system.move_clock(days=-14)
    assert eventually(lambda: pooled(system, lin, silent) and pooled(system, lin, also_silent), seconds=30)
    entry = pooled(system, lin, silent)
    assert (entry["pool_cause"], entry["pooled_from"], entry["pooled_from_name"]) == (
        "no_followup",
        ids["zhou"],
        "周萍",
    )
    assert entry["pool_reason"] == "超过 10 天未跟进，自动退回公海"
    assert datetime.fromisoformat(entry["returned_at"]) > datetime.fromisoformat(warning["created_at"])
    assert len(warnings_about(system, zhou, silent)) == 1  # warned once, whatever number of sweeps
    assert owner_of(system, zhou, winner) == owner_of(system, zhou, plain) == ids["zhou"]

    # lin takes one; the team allows one take a day; zhou must wait 5 days to take one back
    taken = take(system, lin, silent)
    assert taken.status_code == 200, taken.text
    assert taken.json()["owner_id"] == ids["lin"]
    refused = take(system, lin, also_silent)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "daily_take_limit_reached"
    assert refused.json()["error"]["details"]["limit"] == 1
    too_soon = take(system, zhou, also_silent)
    assert too_soon.status_code == 409, too_soon.text
    assert too_soon.json()["error"]["code"] == "pool_cooldown"
    assert too_soon.json()["error"]["details"]["cooldown_days"] == 5

    # 6 days later the cool-down is over: zhou takes it back
    system.move_clock(days=-8)
    back = take(system, zhou, also_silent)
    assert back.status_code == 200, back.text
    for customer_id in (winner, plain):
        follow_up(system, zhou, customer_id)
    system.move_clock(days=-1)
    for customer_id in (winner, plain):
        follow_up(system, zhou, customer_id)

    # today: a deal with one of them is won (pipeline tells customers)
    system.move_clock()
    for customer_id in (winner, plain):
        follow_up(system, zhou, customer_id)
    deal = api(
        system,
        zhou,
        "POST",
        "/opportunities",
        json={"customer_id": winner, "title": "灯饰年单", "amount": "50000"},
    )
    assert deal.status_code == 201, deal.text
    won = api(
        system, zhou, "POST", f"/opportunities/{deal.json()['id']}/won", json={"reason": "签了年度合同"}
    )
    assert won.status_code == 200, won.text
    queue = "evt-pipeline-opportunity_won--customers.on_opportunity_won"

    def handled() -> bool:
        stats = rabbit_manager.get_queue(system.vhost, queue)
        return (stats.get("message_stats") or {}).get("ack", 0) >= 1 and stats.get("messages", 1) == 0

    assert eventually(handled, seconds=40), "customers did not handle opportunity_won"

    # 6 days on: 31 days without a won deal sends the other one back; the won deal keeps its customer
    system.move_clock(days=6)
    assert eventually(lambda: pooled(system, lin, plain), seconds=30), (
        "the customer without a won deal stayed"
    )
    assert pooled(system, lin, plain)["pool_cause"] == "no_won_deal"
    assert pooled(system, lin, plain)["pool_reason"] == "超过 30 天未成交，自动退回公海"
    assert owner_of(system, zhou, winner) == ids["zhou"]
    assert pooled(system, lin, winner) is None
