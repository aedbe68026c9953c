"""Alarms and entries refer only to customers their author may read: knowledge asks the real
customers service, with the caller's identity, before it writes anything."""

import pytest

from customers.exceptions import CustomerNotFound, NotYourCustomer

pytestmark = pytest.mark.usefixtures("customers")

LINAS, ZHANGS = 1, 2  # the customers fixture enters them in this order


def entry(customer_id):
    return {
        "kind": "success_story",
        "title": "阶梯报价拿下大单",
        "solution": "先认同再讲价值",
        "customer_id": customer_id,
    }


def alarm(customer_id):
    return {"title": "客户嫌贵", "problem": "采购说比竞品贵两成", "customer_id": customer_id}


@pytest.mark.parametrize("write", ["create_entry", "raise_alarm"])
def test_a_customer_of_another_team_or_colleague_is_refused_and_nothing_is_written(as_user, users, write):
    payload = entry if write == "create_entry" else alarm
    for reader in (users.chen, users.zhang):  # another team; a colleague who does not own it
        with as_user(reader) as service:
            with pytest.raises(NotYourCustomer) as refused:
                getattr(service, write)(payload(LINAS))
            with pytest.raises(CustomerNotFound):
                getattr(service, write)(payload(424242))
        assert refused.value.code == "not_your_customer"
    with as_user(users.wang) as service:
        assert service.search_entries({})["items"] == [] and service.list_alarms({}) == []


def test_the_owner_and_the_manager_refer_to_the_customer(as_user, users):
    with as_user(users.lina) as service:
        story = service.create_entry(entry(LINAS))
        raised = service.raise_alarm(alarm(LINAS))
    with as_user(users.wang) as service:
        managers = service.create_entry(entry(ZHANGS))
    assert story["customer_id"] == LINAS and managers["customer_id"] == ZHANGS
    assert raised["customer_name"] == "苏州精工机械有限公司"
