"""People leave, customers stay: the hand-over of a deactivated user's customers on the in-memory
FakeStore (the store's part is held to the real one by the contract checks)."""

from datetime import timedelta

import pytest

from crm_common.clock import FrozenClock
from customers import domain
from customers import usecases_offboarding as offboarding
from customers.schemas import UserDeactivatedSchema
from services.customers.tests.fakes import FakeStore
from services.customers.tests.store_checks import NOW, new_customer

LINA, ZHOU, MANAGER = 11, 12, 10


def deactivated(**choice) -> dict:
    return UserDeactivatedSchema().load(
        {"id": LINA, "username": "lina", "role": "sales", "team": "east", "by": MANAGER, **choice}
    )


@pytest.fixture
def store():
    store = FakeStore()
    for name in ("甲公司", "乙公司", "丙公司", "丁公司", "戊公司"):
        new_customer(store, name, owner_id=LINA)
    new_customer(store, "别人的公司", owner_id=ZHOU, owner_name="周")
    new_customer(
        store, "公海的公司", status=domain.IN_POOL, pooled_at=NOW - timedelta(days=1), pooled_from=ZHOU
    )
    return store


@pytest.fixture
def clock():
    return FrozenClock(NOW)


def hand_over(store, clock, fact, event_id="evt-1", **options) -> int:
    handover_id, token = offboarding.start_handover(store, fact, event_id, clock=clock)
    return offboarding.run_handover(store, handover_id, token, clock=clock, **options)


def owned_by(store, user_id):
    return sorted(c.name for c in store.customers.values() if c.owner_id == user_id and c.status == "active")


def test_every_active_customer_goes_to_the_colleague_with_history_and_events(store, clock) -> None:
    moved = hand_over(store, clock, deactivated(hand_over_to=ZHOU, hand_over_to_name="周"), batch=2)

    assert moved == 5
    assert owned_by(store, LINA) == []
    assert owned_by(store, ZHOU) == ["丁公司", "丙公司", "乙公司", "别人的公司", "戊公司", "甲公司"]
    transfers = store.emitted("customer_transferred")
    assert len(transfers) == 5
    assert {(t["from_owner_id"], t["to_owner_id"], t["to_owner_name"], t["reason"]) for t in transfers} == {
        (LINA, ZHOU, "周", "offboarding")
    }
    assert all(t["owner_id"] == ZHOU and t["team"] == "east" for t in transfers)
    changes = [c for c in store.changes if c.reason == "offboarding"]
    assert {(c.from_owner_id, c.to_owner_id, c.changed_by, c.changed_at) for c in changes} == {
        (LINA, ZHOU, MANAGER, NOW)
    }
    [handover] = store.handovers_of(LINA)
    assert (handover.state, handover.moved, handover.to_owner_id) == ("done", 5, ZHOU)


def test_without_a_colleague_the_customers_go_to_the_team_pool(store, clock) -> None:
    hand_over(store, clock, deactivated(to_pool=True))

    pooled = [c for c in store.customers.values() if c.pooled_from == LINA]
    assert len(pooled) == 5
    assert all(c.status == domain.IN_POOL and c.owner_id is None and c.pooled_at == NOW for c in pooled)
    assert all("lina" in c.pool_reason for c in pooled)
    abandoned = store.emitted("customer_abandoned")
    assert {(a["owner_id"], a["reason"], a["alarm_id"], a["team"]) for a in abandoned} == {
        (LINA, "offboarding", None, "east")
    }
    assert len(abandoned) == 5 and store.emitted("customer_transferred") == []
    assert [c.name for c in store.pool("east")][-1] == "公海的公司" and len(store.pool("east")) == 6
    assert {
        (c.from_owner_id, c.to_owner_id, c.to_status) for c in store.changes if c.reason == "offboarding"
    } == {(LINA, None, domain.IN_POOL)}


def test_a_run_cut_short_is_finished_by_the_next_worker_without_moving_anything_twice(store, clock) -> None:
    class WorkerDied(Exception):
        pass

    def die():
        raise WorkerDied

    handover_id, token = offboarding.start_handover(
        store, deactivated(hand_over_to=ZHOU, hand_over_to_name="周"), "evt-1", clock=clock
    )
    with pytest.raises(WorkerDied):
        offboarding.run_handover(store, handover_id, token, clock=clock, batch=2, between_batches=die)
    assert len(owned_by(store, LINA)) == 3
    assert offboarding.resume_stale_handovers(store, clock=clock) == 0  # its lease still holds

    clock.advance(seconds=offboarding.HANDOVER_LEASE.total_seconds() + 1)
    assert offboarding.resume_stale_handovers(store, clock=clock) == 3

    assert owned_by(store, LINA) == []
    transfers = store.emitted("customer_transferred")
    assert sorted(t["customer_id"] for t in transfers) == sorted({t["customer_id"] for t in transfers})
    assert len(transfers) == 5
    assert (store.handover(handover_id).state, store.handover(handover_id).moved) == ("done", 5)
    assert offboarding.resume_stale_handovers(store, clock=clock) == 0


def test_a_customer_moved_meanwhile_is_left_where_it_went(store, clock, monkeypatch) -> None:
    first = min(c.id for c in store.customers.values() if c.owner_id == LINA)
    real_update = store.update_customer

    def another_worker_first(customer_id, expected, values):
        if customer_id == first:  # a manager's transfer committed between the read and the move
            store.customers[first].owner_id = 77
        return real_update(customer_id, expected, values)

    monkeypatch.setattr(store, "update_customer", another_worker_first)

    moved = hand_over(store, clock, deactivated(hand_over_to=ZHOU, hand_over_to_name="周"))

    assert moved == 4
    assert store.customers[first].owner_id == 77
    assert first not in {t["customer_id"] for t in store.emitted("customer_transferred")}
    assert owned_by(store, LINA) == []


def test_an_event_without_the_users_id_is_refused_by_the_schema() -> None:
    from marshmallow import ValidationError

    with pytest.raises(ValidationError):
        UserDeactivatedSchema().load({"username": "lina", "team": "east"})
    with pytest.raises(ValidationError):
        UserDeactivatedSchema().load({"id": "11"})
