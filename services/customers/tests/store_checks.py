"""What the customers use cases rely on of a store, as checks run against both the in-memory
`FakeStore` (tests/unit/test_customers_fake_store.py) and the real `Store` on a real database
(tests/service/test_customers_store_contract.py): the fake cannot drift from the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from customers import domain
from customers.exceptions import ClaimExists, CustomerNotFound

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def new_customer(store, name="华为技术有限公司", owner_id=11, team="east", status=domain.ACTIVE, **values):
    return store.add_customer(
        {
            "name": name,
            "name_key": name,
            "phones": [],
            "contacts": [],
            "owner_id": owner_id if status == domain.ACTIVE else None,
            "owner_name": "李娜" if status == domain.ACTIVE else None,
            "team": team,
            "owned_since": NOW,
            "status": status,
            "revision": 1,
            "entered_by": 11,
            "entered_at": NOW,
            **values,
        }
    )


def check_require_and_get(store):
    customer = new_customer(store)
    assert store.require(customer.id).name == "华为技术有限公司"
    assert store.get(customer.id + 1000) is None
    assert store.get(0) is None and store.get(2**31) is None and store.get("1") is None
    with pytest.raises(CustomerNotFound):
        store.require(customer.id + 1000)
    assert set(store.by_ids([customer.id, customer.id + 1000])) == {customer.id}


def check_conditional_update(store):
    customer = new_customer(store)
    assert store.update_customer(customer.id, {"owner_id": 11, "status": domain.ACTIVE}, {"owner_id": 12})
    assert store.require(customer.id).owner_id == 12
    assert not store.update_customer(customer.id, {"owner_id": 11}, {"owner_id": 13})
    assert store.require(customer.id).owner_id == 12


def check_pool_lists_the_teams_pooled_customers_latest_first(store):
    first = new_customer(store, "甲公司", status=domain.IN_POOL, pooled_at=NOW, pooled_from=11)
    second = new_customer(
        store, "乙公司", status=domain.IN_POOL, pooled_at=NOW + timedelta(hours=1), pooled_from=11
    )
    new_customer(store, "丙公司", team="west", status=domain.IN_POOL, pooled_at=NOW, pooled_from=21)
    new_customer(store, "丁公司")
    assert [c.id for c in store.pool("east")] == [second.id, first.id]
    assert len(store.pool(None)) == 3


def check_keys_are_held_once(store):
    first, second = new_customer(store, "甲公司"), new_customer(store, "乙公司")
    assert store.try_claim_keys(first.id, [("name", "甲公司"), ("phone", "+8613800138000")])
    assert not store.try_claim_keys(second.id, [("phone", "+8613800138000")])


def check_released_keys_are_free_again(store):
    first, second = new_customer(store, "甲公司"), new_customer(store, "乙公司")
    assert store.try_claim_keys(first.id, [("phone", "+8613800138000")])
    store.release_keys(first.id)
    assert store.try_claim_keys(second.id, [("phone", "+8613800138000")])


def check_one_open_dispute_and_one_claim_per_claimant(store):
    customer = new_customer(store)
    dispute = store.open_or_join_dispute(customer.id, customer.owner_id, NOW)
    assert store.open_or_join_dispute(customer.id, customer.owner_id, NOW).id == dispute.id
    claim = dict(
        dispute_id=dispute.id,
        customer_id=customer.id,
        claimant_id=12,
        claimant_name="张伟",
        claimant_team="east",
        contact_name="王总",
        decision_level=5,
        reason="我在跟",
        claimed_at=NOW,
        status="open",
    )
    store.add_claim(**claim)
    with pytest.raises(ClaimExists):
        store.add_claim(**claim)


def check_a_dispute_closes_once_and_settles_its_claims(store):
    customer = new_customer(store)
    dispute = store.open_or_join_dispute(customer.id, customer.owner_id, NOW)
    for claimant in (12, 13):
        store.add_claim(
            dispute_id=dispute.id,
            customer_id=customer.id,
            claimant_id=claimant,
            claimant_name=str(claimant),
            claimant_team="east",
            contact_name="王总",
            decision_level=3,
            reason="我在跟",
            claimed_at=NOW,
            status="open",
        )
    assert store.close_dispute(dispute.id, status="resolved", winner_id=12, resolved_at=NOW)
    assert not store.close_dispute(dispute.id, status="resolved", winner_id=13, resolved_at=NOW)
    store.settle_claims(dispute.id, 12)
    assert {c.claimant_id: c.status for c in store.claims_of_dispute(dispute.id)} == {12: "won", 13: "lost"}
    assert store.open_dispute(customer.id) is None


def check_followups_latest_first_and_per_customer(store):
    customer, other = new_customer(store, "甲公司"), new_customer(store, "乙公司")
    older = store.add_followup(
        customer_id=customer.id,
        kind="call",
        summary="初次",
        contact=None,
        occurred_at=NOW,
        recorded_by=11,
        recorded_at=NOW,
    )
    newer = store.add_followup(
        customer_id=customer.id,
        kind="visit",
        summary="拜访",
        contact=None,
        occurred_at=NOW + timedelta(days=1),
        recorded_by=11,
        recorded_at=NOW,
    )
    assert [f.id for f in store.followups(customer.id)] == [newer.id, older.id]
    assert [f.id for f in store.followups(customer.id, limit=1)] == [newer.id]
    assert store.followup(customer.id, older.id).summary == "初次"
    assert store.followup(other.id, older.id) is None


def check_ownership_changes_in_order(store):
    customer = new_customer(store)
    for reason, at in (("entered", NOW), ("admin", NOW + timedelta(hours=1))):
        store.add_ownership_change(
            customer_id=customer.id,
            to_owner_id=11,
            to_status=domain.ACTIVE,
            reason=reason,
            changed_by=1,
            changed_at=at,
        )
    assert [c.reason for c in store.ownership_changes(customer.id)] == ["entered", "admin"]


def check_entered_since_with_the_owner_at_entry(store):
    early, late = (
        new_customer(store, "甲公司"),
        new_customer(store, "乙公司", entered_at=NOW + timedelta(days=1)),
    )
    for customer, owner, reason in ((early, 11, "entered"), (late, 12, "entered"), (early, 13, "admin")):
        store.add_ownership_change(
            customer_id=customer.id, to_owner_id=owner, to_status=domain.ACTIVE, reason=reason,
            changed_by=1, changed_at=NOW + timedelta(days=2),
        )  # fmt: skip
    found = store.entered_since(NOW, 0, 10)
    assert [(c.id, owner) for c, owner in found] == [(early.id, 11), (late.id, 12)]
    assert [(c.id, owner) for c, owner in store.entered_since(NOW, 1, 10)] == [(late.id, 12)]
    assert [c.id for c, _ in store.entered_since(NOW + timedelta(hours=1), 0, 10)] == [late.id]


def check_an_amendment_is_decided_once_and_listed_by_scope(store):
    customer, other = new_customer(store, "甲公司"), new_customer(store, "乙公司", team="west")
    mine = store.add_amendment(
        customer_id=customer.id,
        changes={"industry": "制造"},
        reason="写错了",
        status="pending",
        base_revision=1,
        requested_by=11,
        requested_at=NOW,
    )
    store.add_amendment(
        customer_id=other.id,
        changes={"industry": "贸易"},
        reason="改",
        status="pending",
        base_revision=1,
        requested_by=21,
        requested_at=NOW,
    )
    assert store.amendment(customer.id, mine.id).reason == "写错了"
    assert store.amendment(other.id, mine.id) is None
    assert [a.id for a in store.pending_amendments(("team", "east"))] == [mine.id]
    assert [a.id for a in store.pending_amendments(("own", 11))] == [mine.id]
    assert len(store.pending_amendments(("all", None))) == 2
    assert store.decide_amendment(mine.id, status="approved", decided_by=10, decided_at=NOW, revision=2)
    assert not store.decide_amendment(mine.id, status="rejected", decided_by=10, decided_at=NOW)
    assert store.amendments(customer.id)[0].status == "approved"
    assert [a.requested_by for a in store.pending_amendments(("all", None))] == [21]


def check_revisions_in_order(store):
    customer = new_customer(store)
    for revision in (2, 1):
        store.add_revision(
            customer_id=customer.id,
            revision=revision,
            snapshot={"name": customer.name},
            changed_fields=[],
            reason="r",
            changed_by=11,
            changed_at=NOW,
        )
    assert [r.revision for r in store.revisions(customer.id)] == [1, 2]


def check_a_leavers_active_customers_by_id_in_batches(store):
    first = new_customer(store, "甲公司", owner_id=31)
    new_customer(store, "乙公司", owner_id=32)
    new_customer(store, "丙公司", status=domain.IN_POOL)
    third = new_customer(store, "丁公司", owner_id=31)
    fourth = new_customer(store, "戊公司", owner_id=31)
    assert [c.id for c in store.customers_owned_by(31, 0, 2)] == [first.id, third.id]
    assert [c.id for c in store.customers_owned_by(31, third.id, 2)] == [fourth.id]
    assert store.customers_owned_by(33, 0, 10) == []


def check_a_handover_is_worked_by_the_holder_of_its_lease(store):
    handover = store.add_handover(
        event_id="evt-1",
        user_id=31,
        username="lina",
        team="east",
        to_owner_id=None,
        to_owner_name=None,
        by=1,
        state="running",
        moved=0,
        claim_token="token-a",
        lease_until=NOW + timedelta(minutes=1),
        started_at=NOW,
    )
    assert [h.id for h in store.handovers_of(31)] == [handover.id]
    assert store.record_handover_progress(
        handover.id, "token-a", 2, {"lease_until": NOW + timedelta(minutes=2)}
    )
    assert store.stale_handovers(NOW + timedelta(minutes=1), 10) == []
    assert not store.take_handover(
        handover.id, "token-b", NOW + timedelta(minutes=1), NOW + timedelta(minutes=5)
    )
    later = NOW + timedelta(minutes=3)
    assert store.stale_handovers(later, 10) == [handover.id]
    assert store.take_handover(handover.id, "token-b", later, later + timedelta(minutes=1))
    assert not store.record_handover_progress(handover.id, "token-a", 5, {})  # the lease moved on
    assert store.record_handover_progress(handover.id, "token-b", 1, {"state": "done", "lease_until": None})
    assert not store.record_handover_progress(handover.id, "token-b", 1, {})  # done: nothing more counts
    done = store.handover(handover.id)
    assert (done.moved, done.state) == (3, "done")
    assert store.stale_handovers(later + timedelta(days=1), 10) == []


CHECKS = [
    check_a_leavers_active_customers_by_id_in_batches,
    check_a_handover_is_worked_by_the_holder_of_its_lease,
    check_an_amendment_is_decided_once_and_listed_by_scope,
    check_revisions_in_order,
    check_require_and_get,
    check_conditional_update,
    check_pool_lists_the_teams_pooled_customers_latest_first,
    check_keys_are_held_once,
    check_released_keys_are_free_again,
    check_one_open_dispute_and_one_claim_per_claimant,
    check_a_dispute_closes_once_and_settles_its_claims,
    check_followups_latest_first_and_per_customer,
    check_ownership_changes_in_order,
    check_entered_since_with_the_owner_at_entry,
]
