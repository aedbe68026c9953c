"""People leave, customers stay: accounts' ``user_deactivated`` over the real broker moves the
leaver's customers once — a redelivery moves nothing — and a run cut short on the real database
is finished without moving anything twice."""

from datetime import UTC, datetime

from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import create_engine, select
from sqlalchemy.orm import sessionmaker

from crm_common.clock import FrozenClock
from crm_common.db import UnitOfWork
from crm_common.outbox import OUTBOX_TABLE, envelope
from customers import usecases_offboarding as offboarding
from customers.models import Base
from customers.store import Store
from services.customers.tests.store_checks import new_customer as stored_customer


def deactivated(users, **choice):
    data = {"id": users.lina["id"], "username": "lina", "role": "sales", "team": "east", "by": 10}
    return envelope("user_deactivated", {**data, **choice}, "accounts", datetime.now(UTC))


def deliver(customers, service_config, event):
    with entrypoint_waiter(customers, "on_user_deactivated", timeout=15):
        event_dispatcher(service_config)("accounts", "user_deactivated", event)


def test_a_leavers_customers_go_to_the_colleague_once_even_when_the_event_comes_again(
    customers, service_config, as_user, users, new_customer, events
):
    with as_user(users.lina) as service:
        mine = [service.create_customer(new_customer(f"离职测试{n}号有限公司")) for n in range(3)]
    with as_user(users.zhang) as service:
        service.create_customer(new_customer("张伟自己的有限公司"))

    event = deactivated(users, hand_over_to=users.zhang["id"], hand_over_to_name="张伟", to_pool=False)
    deliver(customers, service_config, event)
    deliver(customers, service_config, event)  # redelivered: skipped

    with as_user(users.zhang) as service:
        for customer in mine:
            assert service.get_customer(customer["id"])["owner_id"] == users.zhang["id"]
        history = service.get_history(mine[0]["id"])
    assert [(c["from_owner_id"], c["to_owner_id"], c["reason"]) for c in history["ownership_changes"]][
        -1
    ] == (
        users.lina["id"],
        users.zhang["id"],
        "offboarding",
    )
    for customer in mine:
        events.wait_for("customer_transferred", customer_id=customer["id"], reason="offboarding")
    assert len(events.of("customer_transferred")) == 3


def test_with_the_pool_chosen_the_customers_wait_in_the_team_pool(
    customers, service_config, as_user, users, new_customer, events
):
    with as_user(users.lina) as service:
        mine = service.create_customer(new_customer("公海离职测试有限公司"))

    deliver(customers, service_config, deactivated(users, to_pool=True))

    abandoned = events.wait_for("customer_abandoned", customer_id=mine["id"])
    assert (abandoned["data"]["reason"], abandoned["data"]["alarm_id"]) == ("offboarding", None)
    assert abandoned["data"]["cause"] == "offboarding"
    with as_user(users.zhang) as service:
        [pooled] = service.list_pool()
    assert (pooled["id"], pooled["pooled_from"]) == (mine["id"], users.lina["id"])
    # the pool says why: the owner left
    assert (pooled["pool_cause"], pooled["pool_reason"]) == ("offboarding", "员工离职交接（lina）")


def test_a_handover_cut_short_finishes_without_moving_a_customer_twice(migrated):
    engine = create_engine(migrated("customers"))
    sessions = sessionmaker(bind=engine, expire_on_commit=False, info={"metadata": Base.metadata})
    clock = FrozenClock(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    unit = UnitOfWork(sessions, "customers")
    ids = [stored_customer(Store(unit), f"断点{n}有限公司", owner_id=11).id for n in range(5)]
    unit.commit()
    fact = {
        "id": 11,
        "username": "lina",
        "team": "east",
        "by": 10,
        "hand_over_to": 12,
        "hand_over_to_name": "张伟",
        "to_pool": False,
    }

    class WorkerDied(Exception):
        pass

    def die():
        raise WorkerDied

    handover_id, token = offboarding.start_handover(Store(unit), fact, "evt-cut", clock=clock)
    try:
        offboarding.run_handover(Store(unit), handover_id, token, clock=clock, batch=2, between_batches=die)
    except WorkerDied:
        unit.rollback()
    unit.close()

    clock.advance(seconds=offboarding.HANDOVER_LEASE.total_seconds() + 1)
    second = UnitOfWork(sessions, "customers")
    try:
        assert offboarding.resume_stale_handovers(Store(second), clock=clock) == 3
        store = Store(second)
        assert {store.require(i).owner_id for i in ids} == {12}
        changes = [c for i in ids for c in store.ownership_changes(i) if c.reason == "offboarding"]
        assert sorted(c.customer_id for c in changes) == ids
        outbox = Base.metadata.tables[OUTBOX_TABLE]
        transfers = second.session.execute(
            select(outbox.c.id).where(outbox.c.event_type == "customer_transferred")
        ).all()
        assert len(transfers) == 5  # the first batch's two, committed before the crash, and three
        assert (store.handover(handover_id).state, store.handover(handover_id).moved) == ("done", 5)
    finally:
        second.close()
        engine.dispose()
