"""The pool rules (公海规则) on the in-memory FakeStore: the schedule moving past the limits on a
frozen clock, the warnings, the limits on holding and taking, the cool-down, 退回公海 and the
settings (the store's part: tests/service/test_customers_pool_store_contract.py)."""

from contextlib import contextmanager
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from crm_common.clock import FrozenClock
from crm_common.errors import Forbidden, InvalidInput
from crm_common.validation import load
from customers import domain, domain_pool
from customers import usecases_pool as pool
from customers.exceptions import (
    AlarmRequired,
    CustomerLimitReached,
    DailyTakeLimitReached,
    PoolCooldown,
)
from customers.schemas import PoolSettingsSchema
from customers.usecases_common import Settings
from services.customers.tests.fakes import FakeStore
from services.customers.tests.store_checks import NOW, new_customer
from services.customers.tests.unit.test_customers_usecases import (
    ADMIN,
    CHEN,
    LINA,
    MANAGER,
    ZHANG,
    Alarms,
    People,
)

DAY = timedelta(days=1)
SETTINGS = Settings("CN", ZoneInfo("Asia/Shanghai"))


def sweep(store, clock):
    @contextmanager
    def scope():
        yield store

    return pool.sweep(scope, clock, page=2)


def followup(store, customer, when):
    store.add_followup(
        customer_id=customer.id,
        kind="call",
        summary="电话",
        contact=None,
        occurred_at=when,
        recorded_by=customer.owner_id,
        recorded_at=when,
    )


def test_a_customer_without_followups_returns_after_the_teams_days_once():
    store, clock = FakeStore(), FrozenClock(NOW)
    customer = new_customer(store, owned_since=NOW)
    clock.advance(days=26)
    assert sweep(store, clock).returned == 0 and not store.emitted("customer_return_warning")
    clock.advance(days=1)  # 3 days before the return: warned once
    assert sweep(store, clock).warned == 1
    assert sweep(store, clock).warned == 0
    (warning,) = store.emitted("customer_return_warning")
    assert warning["owner_id"] == 11 and warning["reason"] == "no_followup" and warning["days_left"] == 3
    clock.advance(days=3)
    report = sweep(store, clock)
    assert report.returned == 1
    assert sweep(store, clock).returned == 0  # once: it is in the pool now
    returned = store.require(customer.id)
    assert (returned.status, returned.owner_id, returned.pooled_from) == (domain.IN_POOL, None, 11)
    assert returned.pool_cause == "no_followup" and returned.pooled_at == clock.now()
    (event,) = store.emitted("customer_returned_to_pool")
    assert event["reason"] == "no_followup" and event["days"] == 30
    assert event["former_owner_id"] == 11 and event["former_owner_name"] == "李娜"
    assert event["status"] == domain.IN_POOL and event["owner_id"] is None
    change = store.ownership_changes(customer.id)[-1]
    assert (change.reason, change.from_owner_id, change.to_status, change.changed_by) == (
        "no_followup",
        11,
        domain.IN_POOL,
        None,
    )


def test_a_followup_restarts_the_days():
    store, clock = FakeStore(), FrozenClock(NOW)
    customer = new_customer(store, owned_since=NOW)
    followup(store, customer, NOW + 20 * DAY)
    clock.advance(days=31)
    assert sweep(store, clock).returned == 0
    clock.advance(days=19)
    assert sweep(store, clock).returned == 1


def test_no_won_deal_returns_unless_off_and_a_won_deal_restarts_it():
    store, clock = FakeStore(), FrozenClock(NOW)
    customer = new_customer(store, owned_since=NOW)
    other = new_customer(store, "乙公司", owned_since=NOW)
    pool.record_won_deal(store, other.id, NOW + 50 * DAY)
    for day in range(0, 91, 10):  # followed up every ten days: never "no follow-up"
        followup(store, customer, NOW + day * DAY)
        followup(store, other, NOW + day * DAY)
    clock.advance(days=90)
    assert sweep(store, clock).returned == 1
    assert store.require(customer.id).pool_cause == "no_won_deal"
    assert store.require(other.id).status == domain.ACTIVE
    store.save_pool_settings("east", {**domain_pool.PoolRules(won_deal_days=0).as_dict()})
    clock.advance(days=200)
    followup(store, other, clock.now())
    assert sweep(store, clock).returned == 0


def test_a_return_does_not_undo_a_change_of_owner_in_between():
    store, clock = FakeStore(), FrozenClock(NOW + 40 * DAY)
    customer = new_customer(store, owned_since=NOW)
    reason = domain_pool.due(domain_pool.PoolRules(), clock.now(), NOW, None, None)
    store.update_customer(customer.id, {}, {"owner_id": 12, "owned_since": clock.now()})
    assert pool.return_customer(store, customer.id, 11, NOW, reason, clock.now()) == 0
    assert store.require(customer.id).owner_id == 12 and not store.emitted("customer_returned_to_pool")


def test_many_customers_are_swept_page_by_page():
    store, clock = FakeStore(), FrozenClock(NOW)
    for index in range(5):
        new_customer(store, f"公司{index}", owned_since=NOW, team="east" if index % 2 else "west")
    clock.advance(days=30)
    assert sweep(store, clock).returned == 5


def test_settings_are_the_managers_and_validated():
    store, clock = FakeStore(), FrozenClock(NOW)
    assert pool.get_pool_settings(store, LINA, None)["followup_days"] == 30
    with pytest.raises(Forbidden):
        pool.set_pool_settings(store, LINA, None, {"followup_days": 10}, clock=clock)
    with pytest.raises(Forbidden):
        pool.get_pool_settings(store, CHEN, "east")
    view = pool.set_pool_settings(store, MANAGER, None, {"followup_days": 10}, clock=clock)
    assert (view["followup_days"], view["won_deal_days"], view["updated_by"]) == (10, 90, 10)
    assert store.emitted("pool_settings_changed")[0]["team"] == "east"
    with pytest.raises(Forbidden):
        pool.set_pool_settings(store, MANAGER, "west", {"followup_days": 10}, clock=clock)
    assert (
        pool.set_pool_settings(store, ADMIN, "west", {"max_customers": 2}, clock=clock)["max_customers"] == 2
    )
    with pytest.raises(InvalidInput):
        pool.get_pool_settings(store, ADMIN, None)
    for bad in (
        {"followup_days": 0},
        {"won_deal_days": -1},
        {"max_customers": "300"},
        {"warning_days": 5, "followup_days": 5},
        {},
        {"cooldown_days": 99999},
    ):
        with pytest.raises(InvalidInput) as refused:
            load(PoolSettingsSchema(), bad)
        assert refused.value.details


def test_a_change_of_one_rule_is_checked_against_the_rules_kept():
    store, clock = FakeStore(), FrozenClock(NOW)
    pool.set_pool_settings(store, MANAGER, None, {"followup_days": 10}, clock=clock)
    for bad in ({"warning_days": 10}, {"warning_days": 40}):
        with pytest.raises(InvalidInput) as refused:
            pool.set_pool_settings(store, MANAGER, None, bad, clock=clock)
        assert list(refused.value.details) == ["warning_days"]
    with pytest.raises(InvalidInput):  # the warning kept (3) would come with the return
        pool.set_pool_settings(store, MANAGER, None, {"followup_days": 3}, clock=clock)
    assert pool.get_pool_settings(store, MANAGER, None)["warning_days"] == 3  # nothing saved
    assert len(store.emitted("pool_settings_changed")) == 1
    assert pool.set_pool_settings(store, MANAGER, None, {"warning_days": 9}, clock=clock)["warning_days"] == 9


def test_holding_is_limited():
    store = FakeStore()
    store.save_pool_settings("east", domain_pool.PoolRules(max_customers=2).as_dict())
    new_customer(store, "甲公司")
    pool.check_may_hold(store, 11, "east")
    new_customer(store, "乙公司")
    with pytest.raises(CustomerLimitReached) as refused:
        pool.check_may_hold(store, 11, "east")
    assert refused.value.details == {"held": 2, "limit": 2}
    assert pool.room_for(store, 11, "east") == 0 and pool.room_for(store, 12, "east") == 2


def _pooled(store, name, pooled_from=13):
    return new_customer(store, name, status=domain.IN_POOL, pooled_at=NOW, pooled_from=pooled_from)


def test_takes_are_limited_per_day_and_by_holding():
    store, clock = FakeStore(), FrozenClock(NOW)
    store.save_pool_settings("east", domain_pool.PoolRules(max_daily_takes=1, max_customers=2).as_dict())
    first, second, third = _pooled(store, "甲公司"), _pooled(store, "乙公司"), _pooled(store, "丙公司")
    take = pool.take_from_pool
    take(store, ZHANG, first.id, clock=clock, people=People(), settings=SETTINGS)
    with pytest.raises(DailyTakeLimitReached):
        take(store, ZHANG, second.id, clock=clock, people=People(), settings=SETTINGS)
    clock.advance(days=1)
    take(store, ZHANG, second.id, clock=clock, people=People(), settings=SETTINGS)
    clock.advance(days=1)
    with pytest.raises(CustomerLimitReached):
        take(store, ZHANG, third.id, clock=clock, people=People(), settings=SETTINGS)
    assert store.require(third.id).status == domain.IN_POOL


def test_a_former_owner_waits_out_the_cool_down():
    store, clock = FakeStore(), FrozenClock(NOW)
    customer = new_customer(store, owned_since=NOW - 40 * DAY)
    assert sweep(store, clock).returned == 1
    with pytest.raises(PoolCooldown) as refused:
        pool.take_from_pool(store, LINA, customer.id, clock=clock, people=People(), settings=SETTINGS)
    assert refused.value.details["cooldown_days"] == 7
    clock.advance(days=7)
    taken = pool.take_from_pool(store, LINA, customer.id, clock=clock, people=People(), settings=SETTINGS)
    assert taken.owner_id == 11 and taken.pool_cause is None


def test_release_is_the_abandon_rule_with_its_own_cause():
    store, clock = FakeStore(), FrozenClock(NOW)
    customer = new_customer(store)
    with pytest.raises(AlarmRequired):
        pool.release_customer(
            store, LINA, customer.id, {"reason": "不做了", "alarm_id": None}, clock=clock, alarms=Alarms(None)
        )
    alarm = {"alarm_id": 5, "customer_id": customer.id, "manager_answered": True}
    pool.release_customer(
        store, LINA, customer.id, {"reason": "不做了", "alarm_id": 5}, clock=clock, alarms=Alarms(alarm)
    )
    assert store.require(customer.id).pool_cause == "released"
    assert store.emitted("customer_abandoned")[0]["cause"] == "released"
    assert store.pool("east")[0].id == customer.id


def test_a_won_deal_for_an_unknown_customer_changes_nothing():
    store = FakeStore()
    pool.record_won_deal(store, 999, NOW)
