"""Nobody gives up a customer silently (problems 2 and 4): across customers, knowledge, pipeline
and notify, over real RabbitMQ, as `make run` starts them."""

import pytest

from tests.support.system import api, eventually

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def team(system):
    admin = system.client("admin", system.admin_password)
    people = [
        ("zhoujie", "周杰", "manager", None),
        ("chenlu", "陈璐", "sales", "zhoujie"),
        ("heming", "何明", "sales", "zhoujie"),
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
                "team": "西南",
                "manager": manager,
                "phone": "13800138" + str(len(username)).zfill(3),
            },
        )
        assert reply.status_code == 201, reply.text
    return {username: system.client(username, f"{username}-pw-1") for username, *_ in people}


def new_customer(system, session, name, phone):
    reply = api(system, session, "POST", "/customers", json={"name": name, "phone": phone})
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


def raise_alarm(system, session, customer_id, title="客户一直压价"):
    reply = api(
        system,
        session,
        "POST",
        "/alarms",
        json={"title": title, "problem": "报价三次都被拒，客户要求再降两成", "customer_id": customer_id},
    )
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


def abandon(system, session, customer_id, alarm_id):
    return api(
        system,
        session,
        "POST",
        f"/customers/{customer_id}/abandon",
        json={"reason": "客户预算砍掉了", "alarm_id": alarm_id},
    )


def test_giving_up_is_refused_until_a_manager_answered_an_alarm_about_that_customer(system, team):
    chen, he, manager = team["chenlu"], team["heming"], team["zhoujie"]
    customer = new_customer(system, chen, "成都蓉城五金机电有限公司", "02885550101")
    other = new_customer(system, chen, "绵阳科创电子有限公司", "08162220202")

    no_alarm = api(system, chen, "POST", f"/customers/{customer}/abandon", json={"reason": "不想跟了"})
    assert no_alarm.status_code == 409 and no_alarm.json()["error"]["code"] == "alarm_required"

    unknown = abandon(system, chen, customer, 999999)
    assert unknown.status_code == 409 and unknown.json()["error"]["code"] == "alarm_required"

    about_another = raise_alarm(system, chen, other)
    api(system, manager, "POST", f"/alarms/{about_another}/answers", json={"body": "换个决策人试试"})
    wrong_customer = abandon(system, chen, customer, about_another)
    assert wrong_customer.status_code == 409 and wrong_customer.json()["error"]["code"] == "alarm_required"

    alarm = raise_alarm(system, chen, customer)
    colleague = api(system, he, "POST", f"/alarms/{alarm}/answers", json={"body": "我也遇到过，放了吧"})
    assert colleague.status_code == 201, colleague.text
    only_colleague = abandon(system, chen, customer, alarm)
    assert only_colleague.status_code == 409 and only_colleague.json()["error"]["code"] == "alarm_required"

    not_owner = abandon(system, he, customer, alarm)
    assert not_owner.status_code in (403, 404)

    # the manager hears of the alarm in the app (notify reacts to alarm_raised)
    assert eventually(
        lambda: any(
            str(alarm) in str(n) or "客户一直压价" in str(n)
            for n in api(system, manager, "GET", "/notifications").json()["notifications"]
        )
    ), "the manager was not notified of the alarm"

    api(
        system, manager, "POST", f"/alarms/{alarm}/answers", json={"body": "价格底线已到，可以放弃，转入公海"}
    )
    given_up = abandon(system, chen, customer, alarm)
    assert given_up.status_code == 200, given_up.text
    assert given_up.json()["owner_id"] is None

    pool = api(system, he, "GET", "/pool").json()
    entry = next(item for item in pool if item["id"] == customer)
    assert entry["pooled_from_name"] == "陈璐" and entry["pool_reason"] == "客户预算砍掉了"
    assert api(system, chen, "GET", f"/customers/{customer}").status_code in (403, 404)

    taken = api(system, he, "POST", f"/pool/{customer}/take")
    assert taken.status_code == 200, taken.text
    assert api(system, chen, "POST", f"/pool/{customer}/take").status_code in (404, 409)

    history = api(system, he, "GET", f"/customers/{customer}/history").json()
    reasons = [change["reason"] for change in history["ownership_changes"]]
    assert reasons[-2:] == ["abandoned", "pool_take"]
    assert history["ownership_changes"][-1]["to_owner_name"] == "何明"
