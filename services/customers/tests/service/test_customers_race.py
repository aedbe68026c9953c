"""Race safety: the database, not a check before the insert, keeps one customer per company."""

from contextlib import ExitStack

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from customers.exceptions import DuplicateCustomer
from customers.models import Customer
from customers.service import CustomersService
from customers.store import Store
from tests.support.callers import as_caller

SAME_COMPANY = [
    "华为技术有限公司",
    "深圳市华为技术有限公司",
    "华为技术（深圳）有限公司",
    "华为技术股份有限公司",
]
CONCURRENT_ENTRIES = 40


def test_many_salespeople_entering_one_company_through_two_instances_create_exactly_one_customer(
    container_factory, service_config, migrated, accounts, users
):
    migrated("customers")
    instances = [container_factory(CustomersService, service_config) for _ in range(2)]
    for instance in instances:
        instance.start()
    sellers = [users.lina, users.zhang, users.liu, users.chen]
    with ExitStack() as stack:
        for instance in instances:  # both instances take part in the race
            stack.enter_context(entrypoint_waiter(instance, "create_customer", timeout=30))
        proxies = [
            stack.enter_context(
                ServiceRpcProxy(
                    "customers", service_config, context_data=as_caller(s["id"], s["role"], s["team"])
                )
            )
            for s in sellers
        ]
        replies = [
            proxies[i % len(proxies)].create_customer.call_async(
                {"name": SAME_COMPANY[i % len(SAME_COMPANY)], "phone": f"1390000{i:04d}"}
            )
            for i in range(CONCURRENT_ENTRIES)
        ]
        created, refused = [], []
        for reply in replies:
            try:
                created.append(reply.result())
            except DuplicateCustomer as exc:
                refused.append(exc.details)

    assert len(created) == 1
    assert len(refused) == CONCURRENT_ENTRIES - 1
    winner = created[0]
    assert {(d["customer_id"], d["owner"], tuple(d["matched_on"])) for d in refused} == {
        (winner["id"], winner["owner_name"], ("name",))
    }
    engine = create_engine(service_config["DB_URL"])
    with Session(engine) as session:
        assert session.query(Customer).count() == 1
    engine.dispose()


def test_the_database_refuses_a_second_holder_of_a_key(migrated):
    engine = create_engine(migrated("customers"))
    with Session(engine) as session:
        records = Store.on_session(session)
        first = Customer(
            name="华为技术有限公司",
            name_key="华为技术",
            phones=[],
            contacts=[],
            status="active",
            revision=1,
            entered_by=1,
            entered_at=_now(),
        )
        second = Customer(
            name="深圳华为技术",
            name_key="华为技术",
            phones=[],
            contacts=[],
            status="active",
            revision=1,
            entered_by=2,
            entered_at=_now(),
        )
        session.add_all([first, second])
        session.flush()
        records.claim_keys(first.id, [("name", "华为技术")])
        with pytest.raises(IntegrityError):
            records.claim_keys(second.id, [("name", "华为技术")])
    engine.dispose()


def _now():
    from crm_common.clock import utcnow

    return utcnow()
