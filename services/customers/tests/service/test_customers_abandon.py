"""Giving up a customer needs a difficulty alarm a manager answered; it then goes to the pool.

knowledge is a small stand-in here, a real nameko service on the same broker answering
``alarm_for_abandon`` as the contract says; the real cross-service flow is a flow test.
"""

import pytest
from nameko.rpc import rpc

from crm_common.errors import Forbidden, NotFound, ServiceUnavailable
from customers.exceptions import AlarmRequired, DuplicateCustomer, NotInPool, NotYourCustomer


class FakeKnowledge:
    name = "knowledge"
    alarms: dict = {}

    @rpc
    def alarm_for_abandon(self, alarm_id):
        if alarm_id not in FakeKnowledge.alarms:
            raise NotFound(f"no alarm {alarm_id}")
        return FakeKnowledge.alarms[alarm_id]


@pytest.fixture
def knowledge(container_factory, service_config):
    FakeKnowledge.alarms = {}
    container = container_factory(FakeKnowledge, service_config)
    container.start()
    return FakeKnowledge.alarms


@pytest.fixture
def linas_customer(as_user, users, new_customer):
    with as_user(users.lina) as service:
        return service.create_customer(new_customer("久久食品有限公司", phone="13800138000"))


def alarm(alarm_id, customer_id, manager_answered=True):
    return {
        "alarm_id": alarm_id,
        "customer_id": customer_id,
        "raised_by": 11,
        "team": "east",
        "status": "open",
        "manager_answered": manager_answered,
    }


def status_of(as_user, users, customer):
    with as_user(users.admin) as service:
        return service.get_customer(customer["id"])["status"]


def test_giving_up_without_an_alarm_is_refused(as_user, users, knowledge, linas_customer):
    with as_user(users.lina) as service, pytest.raises(AlarmRequired):
        service.abandon_customer(linas_customer["id"], {"reason": "客户不回电话"})
    assert status_of(as_user, users, linas_customer) == "active"


@pytest.mark.parametrize(
    "known_alarm",
    [
        None,  # no such alarm
        "about another customer",
        "not answered by a manager",
    ],
)
def test_an_alarm_that_does_not_count_is_refused(as_user, users, knowledge, linas_customer, known_alarm):
    if known_alarm == "about another customer":
        knowledge[7] = alarm(7, linas_customer["id"] + 1)
    elif known_alarm == "not answered by a manager":
        knowledge[7] = alarm(7, linas_customer["id"], manager_answered=False)
    with as_user(users.lina) as service, pytest.raises(AlarmRequired):
        service.abandon_customer(linas_customer["id"], {"reason": "客户不回电话", "alarm_id": 7})
    assert status_of(as_user, users, linas_customer) == "active"


def test_when_knowledge_is_down_nobody_gives_up_a_customer(as_user, users, linas_customer):
    with as_user(users.lina) as service, pytest.raises(ServiceUnavailable):
        service.abandon_customer(linas_customer["id"], {"reason": "客户不回电话", "alarm_id": 7})
    assert status_of(as_user, users, linas_customer) == "active"


def test_only_the_owner_gives_up_a_customer(as_user, users, knowledge, linas_customer):
    knowledge[7] = alarm(7, linas_customer["id"])
    for other in (users.zhang, users.wang):
        with as_user(other) as service, pytest.raises(NotYourCustomer):
            service.abandon_customer(linas_customer["id"], {"reason": "x", "alarm_id": 7})


def test_an_answered_alarm_sends_the_customer_to_the_teams_pool(
    as_user, users, knowledge, linas_customer, new_customer, events
):
    knowledge[7] = alarm(7, linas_customer["id"])
    with as_user(users.lina) as service:
        pooled = service.abandon_customer(
            linas_customer["id"], {"reason": "客户预算砍掉，半年后再联系", "alarm_id": 7}
        )
        with pytest.raises(NotYourCustomer):
            service.get_customer(linas_customer["id"])
    assert pooled["status"] == "pool" and pooled["owner_id"] is None
    abandoned = events.wait_for("customer_abandoned", customer_id=linas_customer["id"])
    assert abandoned["data"] == {
        "customer_id": linas_customer["id"],
        "name": "久久食品有限公司",
        "owner_id": users.lina["id"],
        "team": "east",
        "reason": "客户预算砍掉，半年后再联系",
        "alarm_id": 7,
        "cause": "abandoned",
    }
    with as_user(users.zhang) as service:
        [entry] = service.list_pool()
        with pytest.raises(DuplicateCustomer) as refused:
            service.create_customer(new_customer("久久食品有限公司"))
    assert entry["id"] == linas_customer["id"] and entry["pooled_from_name"] == "李娜"
    assert entry["pool_reason"] == "客户预算砍掉，半年后再联系" and "phones" not in entry
    assert refused.value.details["status"] == "pool" and "pool" in refused.value.message
    with as_user(users.chen) as service:
        assert service.list_pool() == []


def test_a_salesperson_of_the_team_takes_it_from_the_pool_and_the_history_says_so(
    as_user, users, knowledge, linas_customer, events
):
    knowledge[7] = alarm(7, linas_customer["id"])
    with as_user(users.lina) as service:
        service.abandon_customer(linas_customer["id"], {"reason": "跟不动了", "alarm_id": 7})
    with as_user(users.chen) as service, pytest.raises(Forbidden):
        service.take_from_pool(linas_customer["id"])
    with as_user(users.zhang) as service:
        taken = service.take_from_pool(linas_customer["id"])
        history = service.get_history(linas_customer["id"])
    with as_user(users.liu) as service, pytest.raises(NotInPool):
        service.take_from_pool(linas_customer["id"])
    assert taken["owner_id"] == users.zhang["id"] and taken["status"] == "active" and taken["phones"]
    assert [(c["reason"], c["to_owner_name"]) for c in history["ownership_changes"]] == [
        ("entered", "李娜"),
        ("abandoned", None),
        ("pool_take", "张伟"),
    ]
    assert history["ownership_changes"][1]["alarm_id"] == 7
    assert history["ownership_changes"][1]["from_owner_name"] == "李娜"
    transferred = events.wait_for("customer_transferred", customer_id=linas_customer["id"])
    assert transferred["data"]["reason"] == "pool_take" and transferred["data"]["from_owner_id"] is None
    assert transferred["data"]["to_owner_name"] == "张伟"
