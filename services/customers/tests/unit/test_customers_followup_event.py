"""``followup_recorded`` on the FakeStore: one event per follow-up, with who recorded it, when it
happened and whether it kept the revisit date in force then; ``followups_since`` (the appraisal's
replay) says the same."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from crm_common.caller import Caller
from crm_common.clock import FrozenClock
from crm_common.errors import Forbidden
from customers import usecases_reading as reading
from customers.usecases_common import Settings
from services.customers.tests.fakes import FakeStore
from services.customers.tests.store_checks import NOW, new_customer

LINA = Caller(11, "lina", "sales", "east", "李娜")
ADMIN = Caller(1, "admin", "admin", None, "管理员")
SETTINGS = Settings("CN", ZoneInfo("Asia/Shanghai"))


def revise(store, customer, revision, at, next_visit_at):
    store.add_revision(
        customer_id=customer.id,
        revision=revision,
        snapshot={
            "name": customer.name,
            "next_visit_at": next_visit_at.isoformat() if next_visit_at else None,
        },
        changed_fields=["next_visit_at"],
        reason=None,
        changed_by=11,
        changed_at=at,
        amendment_id=None,
    )


def call(store, clock, customer, occurred_at=None):
    request = {"kind": "call", "summary": "聊了报价", "contact": None, "occurred_at": occurred_at}
    return reading.record_followup(store, LINA, customer.id, request, clock=clock, settings=SETTINGS)


def test_a_followup_is_published_once_against_the_revisit_date_in_force():
    store, clock = FakeStore(), FrozenClock(NOW + timedelta(days=1))  # 2026-03-02 17:00 in Shanghai
    planned = new_customer(store)
    revise(store, planned, 1, NOW, NOW + timedelta(days=1, hours=6))  # revisit 2026-03-03 (local)
    unplanned = new_customer(store, name="中兴通讯股份有限公司")

    kept = call(store, clock, planned)
    clock.advance(hours=1)
    revise(store, planned, 2, clock.now(), NOW - timedelta(days=3))  # the visit was due last week
    clock.advance(hours=1)
    late = call(store, clock, planned)
    free = call(store, clock, unplanned, occurred_at=clock.now() - timedelta(days=1))

    assert store.emitted("followup_recorded") == [
        {
            "followup_id": kept.id,
            "customer_id": planned.id,
            "recorded_by": LINA.user_id,
            "kind": "call",
            "occurred_at": (NOW + timedelta(days=1)).isoformat(),
            "recorded_at": (NOW + timedelta(days=1)).isoformat(),
            "revisit_at": (NOW + timedelta(days=1, hours=6)).isoformat(),
            "on_time": True,
        },
        {
            "followup_id": late.id,
            "customer_id": planned.id,
            "recorded_by": LINA.user_id,
            "kind": "call",
            "occurred_at": (NOW + timedelta(days=1, hours=2)).isoformat(),
            "recorded_at": (NOW + timedelta(days=1, hours=2)).isoformat(),
            "revisit_at": (NOW - timedelta(days=3)).isoformat(),
            "on_time": False,
        },
        {
            "followup_id": free.id,
            "customer_id": unplanned.id,
            "recorded_by": LINA.user_id,
            "kind": "call",
            "occurred_at": (NOW + timedelta(hours=2)).isoformat(),
            "recorded_at": (NOW + timedelta(days=1, hours=2)).isoformat(),
            "revisit_at": None,
            "on_time": None,
        },
    ]

    # the replay's list: the same facts, oldest first, from a moment on; another service or an admin
    emitted = store.emitted("followup_recorded")
    page = {"since": NOW, "offset": 0, "limit": 10}
    assert reading.followups_since(store, None, page, SETTINGS) == [emitted[2], emitted[0], emitted[1]]
    assert reading.followups_since(store, ADMIN, {**page, "offset": 2}, SETTINGS) == [emitted[1]]
    assert reading.followups_since(
        store, None, {**page, "since": NOW + timedelta(days=1, hours=1)}, SETTINGS
    ) == [emitted[1]]
    with pytest.raises(Forbidden):
        reading.followups_since(store, LINA, page, SETTINGS)
