"""A reminder refers only to a customer its owner may read: notify asks the real customers
service, with the caller's identity, before it stores the reminder."""

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from customers.exceptions import CustomerNotFound, NotYourCustomer
from notify.models import Reminder

from .conftest import caller


@pytest.fixture
def linas_customer(real_customers, accounts, service_config):
    with ServiceRpcProxy("customers", service_config, context_data=caller(11)) as customers:
        return customers.create_customer({"name": "苏州精工机械有限公司"})["id"]


def reminder_about(customer_id):
    return {
        "title": "回访",
        "content": "问问样品",
        "due_at": "2031-03-01T09:30:00+08:00",
        "customer_id": customer_id,
    }


def test_a_reminder_about_a_customer_the_caller_may_not_read_is_refused_and_not_stored(
    notify, rpc, linas_customer, database
):
    for other in (12, 31):  # a colleague who does not own it; a salesperson of another team
        with rpc(other) as notify_rpc:
            with pytest.raises(NotYourCustomer) as refused:
                notify_rpc.create_reminder(reminder_about(linas_customer))
            with pytest.raises(CustomerNotFound):
                notify_rpc.create_reminder(reminder_about(424242))
        assert refused.value.code == "not_your_customer"
    assert database.rows(Reminder) == []


def test_the_owner_and_the_manager_set_reminders_about_the_customer(notify, rpc, linas_customer):
    for reader in (11, 21):
        with rpc(reader) as notify_rpc:
            created = notify_rpc.create_reminder(reminder_about(linas_customer))
        assert created["customer_id"] == linas_customer and created["owner_id"] == reader
