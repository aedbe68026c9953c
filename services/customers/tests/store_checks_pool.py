"""What the pool rules' use cases rely on of a store (`customers.store_pool`), as checks run
against both the in-memory `FakeStore` (tests/unit/test_customers_pool_store.py) and the real
`Store` (tests/service/test_customers_pool_store_contract.py): the fake cannot drift."""

from __future__ import annotations

from datetime import timedelta

from customers import domain
from services.customers.tests.store_checks import NOW, new_customer

DAY = timedelta(days=1)


def _followup(store, customer_id, when):
    return store.add_followup(
        customer_id=customer_id,
        kind="call",
        summary="电话",
        contact=None,
        occurred_at=when,
        recorded_by=11,
        recorded_at=when,
    )


def check_settings_saved_per_team(store):
    assert store.pool_settings("east") is None
    store.save_pool_settings(
        "east",
        {
            "followup_days": 10,
            "won_deal_days": 0,
            "warning_days": 2,
            "max_customers": 5,
            "max_daily_takes": 1,
            "cooldown_days": 3,
        },
    )
    store.save_pool_settings(
        "east",
        {
            "followup_days": 12,
            "won_deal_days": 0,
            "warning_days": 2,
            "max_customers": 5,
            "max_daily_takes": 1,
            "cooldown_days": 3,
            "updated_by": 10,
            "updated_at": NOW,
        },
    )
    row = store.pool_settings("east")
    assert (row.followup_days, row.max_customers, row.updated_by) == (12, 5, 10)
    assert store.pool_settings("west") is None


def check_holdings_count_active_customers_only(store):
    new_customer(store, "甲公司", owner_id=11)
    new_customer(store, "乙公司", owner_id=11)
    new_customer(store, "丙公司", owner_id=12)
    new_customer(store, "丁公司", status=domain.IN_POOL, pooled_at=NOW, pooled_from=11)
    assert store.held_by(11) == 2 and store.held_by(12) == 1 and store.held_by(13) == 0
    assert store.teams_with_customers() == ["east"]


def check_takes_and_returns_from_the_history(store):
    customer = new_customer(store, "甲公司")
    for when, reason, from_owner, to_owner, to_status in (
        (NOW - DAY, "pool_take", None, 12, domain.ACTIVE),
        (NOW + timedelta(hours=1), "pool_take", None, 12, domain.ACTIVE),
        (NOW + timedelta(hours=2), "admin", 11, 12, domain.ACTIVE),
        (NOW + timedelta(hours=3), "no_followup", 12, None, domain.IN_POOL),
        (NOW + timedelta(hours=4), "abandoned", 12, None, domain.IN_POOL),
    ):
        store.add_ownership_change(
            customer_id=customer.id,
            from_owner_id=from_owner,
            to_owner_id=to_owner,
            from_status=domain.ACTIVE,
            to_status=to_status,
            reason=reason,
            changed_by=None,
            changed_at=when,
        )
    assert store.takes_since(12, NOW) == 1
    assert store.takes_since(12, NOW - 2 * DAY) == 2
    assert store.left_owner_at(customer.id, 12) == NOW + timedelta(hours=4)
    assert store.left_owner_at(customer.id, 11) is None


def check_return_candidates_by_followups_and_won_deals(store):
    quiet = new_customer(store, "甲公司", owned_since=NOW - 40 * DAY)
    followed = new_customer(store, "乙公司", owned_since=NOW - 40 * DAY)
    _followup(store, followed.id, NOW - 5 * DAY)
    _followup(store, quiet.id, NOW - 35 * DAY)
    fresh = new_customer(store, "丙公司", owned_since=NOW - 5 * DAY)
    unwon = new_customer(store, "丁公司", owned_since=NOW - 100 * DAY)
    _followup(store, unwon.id, NOW - DAY)
    won = new_customer(store, "戊公司", owned_since=NOW - 100 * DAY, last_won_at=NOW - 10 * DAY)
    _followup(store, won.id, NOW - DAY)
    new_customer(store, "己公司", team="west", owned_since=NOW - 100 * DAY)
    cut = NOW - 30 * DAY
    rows = store.return_candidates("east", cut, NOW - 90 * DAY, 0, 10)
    assert [row.id for row in rows] == [quiet.id, unwon.id]
    assert rows[0].last_followup_at == NOW - 35 * DAY and rows[0].owner_id == 11
    assert rows[1].last_won_at is None and rows[1].owned_since == NOW - 100 * DAY
    assert [row.id for row in store.return_candidates("east", cut, None, 0, 10)] == [quiet.id]
    assert [row.id for row in store.return_candidates("east", cut, NOW - 90 * DAY, quiet.id, 1)] == [unwon.id]
    assert fresh.id not in [row.id for row in store.return_candidates("east", cut, None, 0, 10)]


def check_a_warning_is_recorded_once_per_window(store):
    customer = new_customer(store, "甲公司")
    assert store.mark_warned(customer.id, 11, NOW, NOW - 3 * DAY)
    assert not store.mark_warned(customer.id, 11, NOW + DAY, NOW - 2 * DAY)
    assert not store.mark_warned(customer.id, 12, NOW + 5 * DAY, NOW + 2 * DAY)
    assert store.mark_warned(customer.id, 11, NOW + 5 * DAY, NOW + 2 * DAY)
    assert store.require(customer.id).return_warned_at == NOW + 5 * DAY


def check_the_latest_won_deal_is_kept(store):
    customer = new_customer(store, "甲公司")
    assert store.record_won_deal(customer.id, NOW)
    assert not store.record_won_deal(customer.id, NOW - DAY)
    assert store.record_won_deal(customer.id, NOW + DAY)
    assert store.require(customer.id).last_won_at == NOW + DAY


POOL_CHECKS = [
    check_settings_saved_per_team,
    check_holdings_count_active_customers_only,
    check_takes_and_returns_from_the_history,
    check_return_candidates_by_followups_and_won_deals,
    check_a_warning_is_recorded_once_per_window,
    check_the_latest_won_deal_is_kept,
]
