"""The ownership, claim and follow-up use cases on the in-memory FakeStore: no broker, no
database (the store's part is checked by tests/service/test_customers_store_contract.py)."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from crm_common.caller import Caller
from crm_common.clock import FrozenClock
from crm_common.errors import Conflict, Forbidden, InvalidInput
from customers import domain
from customers import usecases_amendments as amendments
from customers import usecases_claims as claims
from customers import usecases_ownership as ownership
from customers import usecases_reading as reading
from customers.exceptions import (
    AlarmRequired,
    AlreadyDecided,
    ClaimExists,
    CustomerArchived,
    CustomerInPool,
    NothingToAmend,
    NotInPool,
    NotYourCustomer,
)
from customers.usecases_common import Settings
from services.customers.tests.fakes import FakeStore
from services.customers.tests.store_checks import NOW, new_customer

ADMIN = Caller(1, "admin", "admin", None, "管理员")
MANAGER = Caller(10, "wang", "manager", "east", "王经理")
LINA = Caller(11, "lina", "sales", "east", "李娜")
ZHANG = Caller(12, "zhang", "sales", "east", "张伟")
CHEN = Caller(21, "chen", "sales", "west", "陈静")
USERS = {
    c.user_id: {"id": c.user_id, "display_name": c.display_name, "role": c.role, "team": c.team}
    for c in (ADMIN, MANAGER, LINA, ZHANG, CHEN)
}


class People:
    def user(self, user_id):
        return USERS.get(user_id)

    def display_names(self, user_ids):
        return {uid: USERS[uid]["display_name"] for uid in user_ids if uid in USERS}

    def display_name(self, user_id, fallback):
        return self.display_names([user_id]).get(user_id) or fallback

    def name_of(self, caller):
        return caller.display_name or self.display_name(caller.user_id, caller.username)


class Alarms:
    def __init__(self, alarm):
        self.alarm = alarm

    def for_abandon(self, alarm_id):
        return self.alarm


@pytest.fixture
def store():
    return FakeStore()


@pytest.fixture
def clock():
    return FrozenClock(NOW + timedelta(days=1))


def answered(customer_id):
    return Alarms({"alarm_id": 7, "customer_id": customer_id, "manager_answered": True})


def test_the_owner_abandons_to_the_pool_and_a_teammate_takes_it(store, clock):
    customer = new_customer(store)
    ownership.abandon_customer(
        store,
        LINA,
        customer.id,
        {"reason": "不回电话", "alarm_id": 7},
        clock=clock,
        alarms=answered(customer.id),
    )
    assert (customer.status, customer.owner_id, customer.pooled_from) == (domain.IN_POOL, None, LINA.user_id)
    assert [c.reason for c in store.ownership_changes(customer.id)] == ["abandoned"]
    assert store.emitted("customer_abandoned")[0]["owner_id"] == LINA.user_id
    assert [e["id"] for e in ownership.list_pool(store, ZHANG, people=People())] == [customer.id]
    assert ownership.list_pool(store, CHEN, people=People()) == []

    ownership.take_from_pool(store, ZHANG, customer.id, clock=clock, people=People())
    assert (customer.status, customer.owner_id, customer.owner_name) == (domain.ACTIVE, ZHANG.user_id, "张伟")
    assert store.emitted("customer_transferred")[0]["reason"] == "pool_take"
    with pytest.raises(NotInPool):
        ownership.take_from_pool(store, LINA, customer.id, clock=clock, people=People())


def test_abandoning_needs_the_owner_and_an_answered_alarm(store, clock):
    customer = new_customer(store)
    with pytest.raises(NotYourCustomer):
        ownership.abandon_customer(
            store,
            ZHANG,
            customer.id,
            {"reason": "x", "alarm_id": 7},
            clock=clock,
            alarms=answered(customer.id),
        )
    with pytest.raises(AlarmRequired):
        ownership.abandon_customer(
            store,
            LINA,
            customer.id,
            {"reason": "x", "alarm_id": None},
            clock=clock,
            alarms=answered(customer.id),
        )
    unanswered = Alarms({"alarm_id": 7, "customer_id": customer.id, "manager_answered": False})
    with pytest.raises(AlarmRequired):
        ownership.abandon_customer(
            store, LINA, customer.id, {"reason": "x", "alarm_id": 7}, clock=clock, alarms=unanswered
        )
    assert customer.status == domain.ACTIVE and store.events == []


def test_another_team_cannot_take_from_the_pool(store, clock):
    customer = new_customer(store, status=domain.IN_POOL, pooled_at=NOW, pooled_from=11)
    with pytest.raises(Forbidden):
        ownership.take_from_pool(store, CHEN, customer.id, clock=clock, people=People())
    with pytest.raises(CustomerInPool):
        ownership.abandon_customer(
            store,
            LINA,
            customer.id,
            {"reason": "x", "alarm_id": 7},
            clock=clock,
            alarms=answered(customer.id),
        )


def test_the_manager_transfers_within_the_team_only(store, clock):
    customer = new_customer(store)
    ownership.transfer_customer(
        store,
        MANAGER,
        customer.id,
        {"owner_id": ZHANG.user_id, "reason": "调岗"},
        clock=clock,
        people=People(),
    )
    assert customer.owner_id == ZHANG.user_id
    with pytest.raises(Conflict):
        ownership.transfer_customer(
            store,
            MANAGER,
            customer.id,
            {"owner_id": ZHANG.user_id, "reason": "x"},
            clock=clock,
            people=People(),
        )
    with pytest.raises(Forbidden):
        ownership.transfer_customer(
            store,
            MANAGER,
            customer.id,
            {"owner_id": CHEN.user_id, "reason": "x"},
            clock=clock,
            people=People(),
        )
    with pytest.raises(Forbidden):
        ownership.transfer_customer(
            store, LINA, customer.id, {"owner_id": LINA.user_id, "reason": "x"}, clock=clock, people=People()
        )


def test_entered_since_names_the_owner_at_entry_after_the_customer_changed_hands(store, clock):
    entered_at = clock.now()
    customer = new_customer(store, entered_at=entered_at)
    store.add_ownership_change(
        customer_id=customer.id, to_owner_id=LINA.user_id, to_status=domain.ACTIVE, reason="entered",
        changed_by=LINA.user_id, changed_at=entered_at,
    )  # fmt: skip
    clock.advance(hours=1)
    ownership.transfer_customer(
        store,
        MANAGER,
        customer.id,
        {"owner_id": ZHANG.user_id, "reason": "调岗"},
        clock=clock,
        people=People(),
    )
    page = {"since": NOW, "offset": 0, "limit": 10}

    entered = reading.entered_since(store, None, page)

    assert customer.owner_id == ZHANG.user_id  # today's owner, as list_customers shows it
    assert entered == [
        {
            "customer_id": customer.id,
            "name": "华为技术有限公司",
            "owner_id": LINA.user_id,  # the one customer_created named
            "team": "east",
            "entered_by": 11,
            "entered_at": entered_at.isoformat(),
        }
    ]
    assert reading.entered_since(store, ADMIN, {**page, "offset": 1}) == []
    assert reading.entered_since(store, None, {**page, "since": entered_at + timedelta(seconds=1)}) == []
    with pytest.raises(Forbidden):
        reading.entered_since(store, MANAGER, page)


def test_archiving_is_for_admins_releases_the_keys_and_lapses_the_dispute(store, clock):
    customer = new_customer(store)
    store.try_claim_keys(customer.id, [("name", customer.name_key)])
    claims.claim_customer(
        store,
        ZHANG,
        customer.id,
        {"contact_name": "王总", "decision_level": 5, "reason": "我在跟"},
        clock=clock,
        people=People(),
    )
    with pytest.raises(Forbidden):
        ownership.archive_customer(store, MANAGER, customer.id, {"reason": "重复"}, clock=clock)
    ownership.archive_customer(store, ADMIN, customer.id, {"reason": "公司注销"}, clock=clock)
    assert customer.status == domain.ARCHIVED and store.keys == {}
    assert store.open_dispute(customer.id) is None
    assert [c.status for c in store.claims.values()] == ["closed"]
    with pytest.raises(CustomerArchived):
        ownership.archive_customer(store, ADMIN, customer.id, {"reason": "again"}, clock=clock)


def test_the_senior_contact_wins_the_dispute_and_the_customer(store, clock):
    customer = new_customer(store, contacts=[{"name": "李经理", "decision_level": 3}])
    claim = claims.claim_customer(
        store,
        ZHANG,
        customer.id,
        {"contact_name": "王总", "decision_level": 5, "reason": "老板是我的"},
        clock=clock,
        people=People(),
    )
    with pytest.raises(ClaimExists):
        claims.claim_customer(
            store,
            ZHANG,
            customer.id,
            {"contact_name": "王总", "decision_level": 5, "reason": "again"},
            clock=clock,
            people=People(),
        )
    with pytest.raises(Conflict):
        claims.claim_customer(
            store,
            LINA,
            customer.id,
            {"contact_name": "x", "decision_level": 1, "reason": "mine"},
            clock=clock,
            people=People(),
        )
    with pytest.raises(Forbidden):
        claims.resolve_dispute(store, LINA, claim.dispute_id, {"winner_id": None, "note": None}, clock=clock)

    claims.resolve_dispute(store, MANAGER, claim.dispute_id, {"winner_id": None, "note": None}, clock=clock)
    assert customer.owner_id == ZHANG.user_id and claim.status == "won"
    transferred = store.emitted("customer_transferred")
    assert [(t["reason"], t["from_owner_id"], t["to_owner_id"]) for t in transferred] == [("claim", 11, 12)]
    assert store.dispute(claim.dispute_id).status == "resolved"  # settled by the claim, not lapsed


def test_a_followup_in_the_future_is_refused(store, clock):
    customer = new_customer(store)
    settings = Settings("CN", ZoneInfo("Asia/Shanghai"))
    request = {
        "kind": "call",
        "summary": "聊了",
        "contact": None,
        "occurred_at": clock.now() + timedelta(hours=1),
    }
    with pytest.raises(InvalidInput):
        reading.record_followup(store, LINA, customer.id, request, clock=clock, settings=settings)
    request["occurred_at"] = None
    followup = reading.record_followup(store, LINA, customer.id, request, clock=clock, settings=settings)
    assert reading.list_followups(store, LINA, customer.id) == [followup]
    with pytest.raises(NotYourCustomer):
        reading.list_followups(store, CHEN, customer.id)


def test_an_approved_amendment_becomes_the_next_revision(store, clock):
    customer = new_customer(store, industry="通信")
    settings = Settings("CN", ZoneInfo("Asia/Shanghai"))
    request = {"changes": {"industry": "制造"}, "reason": "行业填错了"}
    view = amendments.request_amendment(store, LINA, customer.id, request, clock=clock, settings=settings)
    assert view["changed_fields"] == ["industry"] and view["status"] == "pending"
    assert store.emitted("amendment_requested")[0]["changed_fields"] == ["industry"]
    with pytest.raises(NothingToAmend):
        amendments.request_amendment(
            store,
            LINA,
            customer.id,
            {"changes": {"industry": "通信"}, "reason": "x"},
            clock=clock,
            settings=settings,
        )
    with pytest.raises(Forbidden):
        amendments.approve_amendment(store, LINA, customer.id, view["id"], None, clock=clock, people=People())
    assert [
        a["customer_name"] for a in amendments.list_pending_amendments(store, MANAGER, people=People())
    ] == [customer.name]

    approved = amendments.approve_amendment(
        store, MANAGER, customer.id, view["id"], "好", clock=clock, people=People()
    )
    assert approved["status"] == "approved" and approved["decided_by_name"] == "王经理"
    assert (customer.industry, customer.revision) == ("制造", 2)
    assert [(r.revision, r.changed_fields) for r in store.revisions(customer.id)] == [(2, ["industry"])]
    assert store.emitted("customer_amended")[0]["revision"] == 2
    with pytest.raises(AlreadyDecided):
        amendments.reject_amendment(
            store, MANAGER, customer.id, view["id"], None, clock=clock, people=People()
        )
