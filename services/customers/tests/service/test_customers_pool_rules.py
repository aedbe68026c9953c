"""The pool rules (公海规则) in the real service, on SQLite and PostgreSQL: a frozen clock moved
past the limits makes the schedule warn and then return customers (once, even with two instances
sweeping the same database), the limits refuse entries and takes, pipeline's won deals count."""

from datetime import UTC, datetime, timedelta

import pytest
from nameko.events import event_handler
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter, replace_dependencies
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from crm_common.clock import FrozenClock
from crm_common.errors import Forbidden, InvalidInput
from crm_common.outbox import envelope
from customers.exceptions import CustomerLimitReached, PoolCooldown
from customers.models import Customer, OwnershipChange
from customers.service import CustomersService
from tests.support.callers import as_caller

START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=400)


class PoolEvents:
    name = "pool_rules_event_log"
    seen: list = []

    @event_handler("customers", "customer_returned_to_pool")
    def on_returned(self, event):
        PoolEvents.seen.append(event)

    @event_handler("customers", "customer_return_warning")
    def on_warning(self, event):
        PoolEvents.seen.append(event)


def of(kind):
    return [event for event in PoolEvents.seen if event["event_type"] == kind]


@pytest.fixture
def clock():
    return FrozenClock(START)


@pytest.fixture
def start_customers(container_factory, service_config, migrated, accounts, clock):
    migrated("customers")
    PoolEvents.seen = []
    container_factory(PoolEvents, service_config).start()

    def start(sweep_seconds=0.05):
        container = container_factory(
            CustomersService, {**service_config, "POOL_SWEEP_SECONDS": sweep_seconds}
        )
        replace_dependencies(container, clock=clock)
        container.start()
        return container

    return start


@pytest.fixture
def as_user(service_config):
    def connect(user):
        return ServiceRpcProxy(
            "customers",
            service_config,
            context_data=as_caller(user["id"], user["role"], user["team"], user["username"]),
        )

    return connect


def sweep(container):
    """Let the schedule (every 0.05 s) run a few times on the clock as it is now."""
    for _ in range(3):
        with entrypoint_waiter(container, "sweep_pool"):
            pass


def wait_until(check, timeout=15):
    import time

    import eventlet

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        eventlet.sleep(0.05)
    raise AssertionError(f"not reached; seen: {PoolEvents.seen}")


def test_settings_are_set_by_the_manager_and_validated(start_customers, as_user, users):
    start_customers()
    with as_user(users.lina) as service:
        assert service.get_pool_settings()["followup_days"] == 30
        with pytest.raises(Forbidden):
            service.set_pool_settings({"followup_days": 10})
    with as_user(users.wang) as service:
        with pytest.raises(InvalidInput) as refused:
            service.set_pool_settings({"followup_days": 0, "max_customers": "many"})
        assert set(refused.value.details) == {"followup_days", "max_customers"}
        saved = service.set_pool_settings({"followup_days": 10, "max_customers": 1})
        assert (saved["followup_days"], saved["max_customers"], saved["won_deal_days"]) == (10, 1, 90)
        with pytest.raises(Forbidden):
            service.set_pool_settings({"followup_days": 10}, {"team": "west"})
    with as_user(users.admin) as service:
        assert service.set_pool_settings({"cooldown_days": 0}, {"team": "west"})["cooldown_days"] == 0
        assert service.get_pool_settings({"team": "east"})["followup_days"] == 10


def test_an_entry_beyond_the_limit_is_refused(start_customers, as_user, users, new_customer):
    start_customers()
    with as_user(users.wang) as service:
        service.set_pool_settings({"max_customers": 1})
    with as_user(users.lina) as service:
        service.create_customer(new_customer("久久食品有限公司"))
        with pytest.raises(CustomerLimitReached) as refused:
            service.create_customer(new_customer("长江电器有限公司"))
        assert refused.value.code == "customer_limit_reached"
        assert refused.value.details == {"held": 1, "limit": 1}
    with as_user(users.zhang) as service:
        service.create_customer(new_customer("长江电器有限公司"))


def test_the_schedule_warns_returns_once_and_the_former_owner_waits(
    start_customers, as_user, users, new_customer, clock
):
    container = start_customers()
    with as_user(users.lina) as service:
        customer = service.create_customer(new_customer("久久食品有限公司"))
    clock.advance(days=27)
    sweep(container)
    wait_until(lambda: of("customer_return_warning"))
    warning = of("customer_return_warning")[0]["data"]
    assert (warning["customer_id"], warning["owner_id"], warning["days_left"]) == (customer["id"], 11, 3)
    clock.advance(days=3)
    sweep(container)
    sweep(container)
    wait_until(lambda: of("customer_returned_to_pool"))
    (returned,) = [event["data"] for event in of("customer_returned_to_pool")]
    assert (returned["reason"], returned["days"], returned["former_owner_id"]) == ("no_followup", 30, 11)
    assert len(of("customer_return_warning")) == 1
    with as_user(users.lina) as service:
        (entry,) = service.list_pool()
        assert entry["pool_cause"] == "no_followup" and entry["pooled_from_name"] == "李娜"
        assert entry["returned_at"] == clock.now().isoformat()
        with pytest.raises(PoolCooldown):
            service.take_from_pool(customer["id"])
    with as_user(users.zhang) as service:
        assert service.take_from_pool(customer["id"])["owner_id"] == 12


def test_a_won_deal_keeps_the_customer(start_customers, as_user, users, new_customer, clock, service_config):
    container = start_customers()
    with as_user(users.wang) as service:
        service.set_pool_settings({"followup_days": 1000, "warning_days": 0})
    with as_user(users.lina) as service:
        won = service.create_customer(new_customer("久久食品有限公司"))
        unwon = service.create_customer(new_customer("长江电器有限公司"))
    clock.advance(days=60)
    with entrypoint_waiter(container, "on_opportunity_won"):
        dispatch = event_dispatcher(service_config)
        dispatch(
            "pipeline",
            "opportunity_won",
            envelope(
                "opportunity_won",
                {"customer_id": won["id"], "opportunity_id": 3},
                "pipeline",
                clock.now(),
            ),
        )
    clock.advance(days=31)
    sweep(container)
    wait_until(lambda: of("customer_returned_to_pool"))
    assert [event["data"]["customer_id"] for event in of("customer_returned_to_pool")] == [unwon["id"]]
    assert of("customer_returned_to_pool")[0]["data"]["reason"] == "no_won_deal"


def test_two_instances_do_not_return_a_customer_twice(
    start_customers, as_user, users, new_customer, clock, service_config
):
    start_customers(sweep_seconds=0.02)
    start_customers(sweep_seconds=0.02)
    names = [
        "久久食品有限公司",
        "长江电器有限公司",
        "黄河机械有限公司",
        "泰山建材有限公司",
        "华山茶叶有限公司",
    ]
    with as_user(users.lina) as service:
        ids = [service.create_customer(new_customer(name))["id"] for name in names]
    clock.advance(days=31)
    wait_until(lambda: len(of("customer_returned_to_pool")) >= len(ids))
    import eventlet

    eventlet.sleep(0.5)  # both instances sweep a few more times
    returned = sorted(event["data"]["customer_id"] for event in of("customer_returned_to_pool"))
    assert returned == sorted(ids)
    engine = create_engine(service_config["DB_URL"])
    try:
        with Session(engine) as session:
            changes = session.scalar(
                select(func.count())
                .select_from(OwnershipChange)
                .where(OwnershipChange.reason == "no_followup")
            )
            pooled = session.scalar(
                select(func.count()).select_from(Customer).where(Customer.status == "pool")
            )
        assert (changes, pooled) == (len(ids), len(ids))
    finally:
        engine.dispose()


def test_a_restart_in_the_middle_of_the_schedule_returns_each_customer_once(
    start_customers, as_user, users, new_customer, clock, service_config, monkeypatch
):
    """The process dies between two pages of the schedule (the first committed, the second not
    begun); the next instance returns the rest, and no customer is returned or announced twice."""
    import eventlet

    from customers import usecases_pool

    real_page = usecases_pool.sweep_page
    pages: list[int] = []
    dying = {}

    def page_of_two(store, team, now, after_id, limit):
        pages.append(after_id)
        if len(pages) == 2 and "container" in dying:  # the first page is committed: die here
            eventlet.spawn(dying.pop("container").kill)
            eventlet.sleep(30)
        return real_page(store, team, now, after_id, 2)

    monkeypatch.setattr(usecases_pool, "sweep_page", page_of_two)
    first = start_customers(sweep_seconds=0.05)
    names = [
        "久久食品有限公司",
        "长江电器有限公司",
        "黄河机械有限公司",
        "泰山建材有限公司",
        "华山茶叶有限公司",
    ]
    with as_user(users.lina) as service:
        ids = [service.create_customer(new_customer(name))["id"] for name in names]
    pages.clear()
    dying["container"] = first
    clock.advance(days=31)
    wait_until(lambda: first._died.ready())
    engine = create_engine(service_config["DB_URL"])
    try:

        def counts():
            with Session(engine) as session:
                changes = session.scalar(
                    select(func.count())
                    .select_from(OwnershipChange)
                    .where(OwnershipChange.reason == "no_followup")
                )
                pooled = session.scalar(
                    select(func.count()).select_from(Customer).where(Customer.status == "pool")
                )
            return changes, pooled

        assert counts() == (2, 2)  # one page of two, committed before the process died

        start_customers(sweep_seconds=0.05)  # the restart
        wait_until(lambda: counts() == (5, 5))
        eventlet.sleep(0.5)  # a few more sweeps: nothing more happens
        assert counts() == (5, 5)
        wait_until(lambda: len(of("customer_returned_to_pool")) >= 5)
        eventlet.sleep(0.5)
        returned = sorted(event["data"]["customer_id"] for event in of("customer_returned_to_pool"))
        assert returned == sorted(ids)  # each announced once, the first page's events included
    finally:
        engine.dispose()


def test_after_a_transfer_the_new_owner_is_warned_and_the_days_count_from_the_transfer(
    start_customers, as_user, users, new_customer, clock
):
    container = start_customers()
    with as_user(users.lina) as service:
        customer = service.create_customer(new_customer("久久食品有限公司"))
    clock.advance(days=27)
    sweep(container)
    wait_until(lambda: of("customer_return_warning"))
    with as_user(users.wang) as service:
        service.transfer_customer(customer["id"], {"owner_id": users.zhang["id"], "reason": "调岗"})
    clock.advance(days=3)  # 30 days after the entry, 3 after the transfer: nothing returns
    sweep(container)
    sweep(container)
    assert of("customer_returned_to_pool") == []
    assert [e["data"]["owner_id"] for e in of("customer_return_warning")] == [users.lina["id"]]
    clock.advance(days=24)  # 27 days after the transfer: the new owner is warned, not the former
    sweep(container)
    wait_until(lambda: len(of("customer_return_warning")) == 2)
    warning = of("customer_return_warning")[1]["data"]
    assert (warning["owner_id"], warning["days_left"]) == (users.zhang["id"], 3)
    clock.advance(days=3)
    sweep(container)
    wait_until(lambda: of("customer_returned_to_pool"))
    (returned,) = [event["data"] for event in of("customer_returned_to_pool")]
    assert returned["former_owner_id"] == users.zhang["id"]
