"""Checks of the watching and manager-notice use cases, run on the fake store (tests/unit) and
on the real Store (tests/service, the contract). Which instance wins a review or a notice is a
claim in SQL: checked on the real database only (tests/service/test_notify_events_service.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_common.caller import Caller
from crm_common.errors import Forbidden, InvalidInput
from notify import usecases_notices, usecases_watching
from notify.dependencies import NotifySettings

NOW = datetime(2031, 3, 1, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
SETTINGS = NotifySettings()
MEI = Caller(13, "mei", "manager", "east")
ANNA = Caller(11, "anna", "sales", "east")
ROOT = Caller(1, "root", "admin")


def _event(kind: str, at: datetime, **data: Any) -> dict[str, Any]:
    return {
        "event_type": kind,
        "event_id": f"{kind}-{at:%H%M%S}",
        "occurred_at": at.isoformat(),
        "data": data,
    }


def an_older_event_changes_nothing(store: Any, commit: Callable[[], None]) -> None:
    usecases_watching.watch_customer(
        store,
        _event(
            "customer_created", NOW, customer_id=5, name="华为", owner_id=11, team="east", birthday="03-02"
        ),
        NOW,
    )
    commit()
    usecases_watching.watch_customer(
        store, _event("customer_transferred", NOW + timedelta(minutes=2), customer_id=5, to_owner_id=12), NOW
    )
    usecases_watching.watch_customer(
        store, _event("customer_amended", NOW + timedelta(minutes=1), customer_id=5, owner_id=99), NOW
    )
    usecases_watching.watch_customer(store, {"event_type": "customer_amended", "data": {"name": "x"}}, NOW)
    commit()
    watch = store.watch(5)
    assert (watch.name, watch.owner_id, watch.team, watch.birthday_month, watch.birthday_day) == (
        "华为",
        12,
        "east",
        3,
        2,
    )
    assert watch.needs_review and watch.version == 2
    usecases_watching.watch_customer(
        store,
        _event("customer_amended", NOW + timedelta(minutes=3), customer_id=5, owner_id=12, birthday="13-40"),
        NOW,
    )
    usecases_watching.watch_customer(
        store, _event("customer_abandoned", NOW + timedelta(minutes=4), customer_id=5), NOW
    )
    commit()
    watch = store.watch(5)
    assert (watch.owner_id, watch.birthday_month, watch.team) == (None, None, "east")


def team_settings_belong_to_the_teams_manager(store: Any, commit: Callable[[], None]) -> None:
    usecases_watching.watch_customer(
        store, _event("customer_created", NOW, customer_id=7, owner_id=11, team="east"), NOW
    )
    commit()
    assert store.take_review(7, store.watch(7).version)
    commit()
    defaults = usecases_watching.read_team_settings(store, ANNA, None, SETTINGS)
    assert defaults == {"team": "east", "birthday_days_ahead": 2, "revisit_lead_hours": 24}
    with pytest.raises(Forbidden):
        usecases_watching.change_team_settings(store, ANNA, {"revisit_lead_hours": 2}, SETTINGS, NOW)
    with pytest.raises(Forbidden):
        usecases_watching.read_team_settings(store, MEI, "west", SETTINGS)
    with pytest.raises(InvalidInput):
        usecases_watching.read_team_settings(store, ROOT, None, SETTINGS)
    changed = usecases_watching.change_team_settings(store, MEI, {"revisit_lead_hours": 2}, SETTINGS, NOW)
    commit()
    assert changed == {"team": "east", "birthday_days_ahead": 2, "revisit_lead_hours": 2}
    assert store.watch(7).needs_review  # the team's customers follow the new lead times
    west = usecases_watching.change_team_settings(
        store, ROOT, {"team": "west", "birthday_days_ahead": 5}, SETTINGS, NOW
    )
    commit()
    assert (
        west["birthday_days_ahead"] == 5
        and usecases_watching.read_team_settings(store, ROOT, "west", SETTINGS) == west
    )


def a_review_plans_the_revisit_and_one_birthday_reminder(store: Any, commit: Callable[[], None]) -> None:
    visit = NOW + timedelta(days=3)
    usecases_watching.watch_customer(
        store,
        _event(
            "customer_created",
            NOW,
            customer_id=9,
            name="腾讯",
            owner_id=11,
            team="east",
            birthday="03-02",
            next_visit_at=visit.isoformat(),
            next_visit_contact={"name": "王总", "title": "CTO"},
        ),
        NOW,
    )
    commit()
    owner = {11: {"id": 11, "team": "east", "phone": "+8613800000001"}, 12: {"id": 12, "team": "east"}}
    for _ in range(2):  # a second review adds nothing
        usecases_watching.reconcile(store, store.watch(9), owner, NOW, SETTINGS)
        commit()
    pending = sorted(store.pending_system_reminders(9, ("birthday", "revisit")), key=lambda row: row.kind)
    assert [(row.kind, row.owner_id, row.due_at) for row in pending] == [
        ("birthday", 11, NOW),
        ("revisit", 11, visit - timedelta(hours=24)),
    ]
    usecases_watching.watch_customer(
        store, _event("customer_transferred", NOW + timedelta(minutes=1), customer_id=9, to_owner_id=12), NOW
    )
    commit()
    usecases_watching.reconcile(store, store.watch(9), owner, NOW, SETTINGS)
    commit()
    moved = sorted(store.pending_system_reminders(9, ("birthday", "revisit")), key=lambda row: row.kind)
    assert [(row.kind, row.owner_id) for row in moved] == [("birthday", 12), ("revisit", 12)]
    assert moved[0].source_key == "birthday:9:2031:12"


def notices_reach_the_teams_managers(store: Any, commit: Callable[[], None]) -> None:
    alarm = _event("alarm_raised", NOW, alarm_id=3, title="报价太低", team="east", raised_by=13)
    usecases_notices.keep_manager_notice(store, alarm, NOW)
    usecases_notices.keep_manager_notice(store, {"event_type": "alarm_raised", "event_id": "bad"}, NOW)
    usecases_notices.change_preferences(store, 15, {"sms_for_notices": True}, NOW)
    commit()
    assert usecases_notices.preferences(store, 15) == {"sms_for_notices": True}
    assert usecases_notices.preferences(store, 16) == {"sms_for_notices": False}
    [(notice_id, team, payload)] = store.waiting_notices(NOW, 50)
    assert team == "east" and json.loads(payload)["data"]["alarm_id"] == 3
    members = [
        {"id": 13, "role": "manager"},
        {"id": 15, "role": "manager", "phone": "+8613800000015"},
        {"id": 11, "role": "sales"},
    ]
    usecases_notices.tell_managers(store, notice_id, json.loads(payload), members, NOW)
    commit()
    assert [store.unread_count(user) for user in (11, 13, 15)] == [0, 0, 1]
    [view] = store.notifications(15, True, 10)
    assert (view.kind, view.subject_type, view.subject_id) == ("alarm_raised", "alarm", "3")
    [sms] = store.sms_log(status=None, reminder_id=None, offset=0, limit=10)
    assert (sms.recipient_id, sms.to, sms.status, sms.idempotency_key) == (
        15,
        "+8613800000015",
        "pending",
        f"notice:{notice_id}:15",
    )


def a_leavers_manual_reminders_follow_their_customers(store: Any, commit: Callable[[], None]) -> None:
    def reminder(customer_id: int | None, owner_id: int = 11, kind: str = "manual", status: str = "pending"):
        return store.add_reminder(
            owner_id=owner_id,
            team="east",
            kind=kind,
            title=f"回访 {customer_id}",
            content="",
            customer_id=customer_id,
            due_at=NOW + timedelta(days=1),
            escalate_after_minutes=10,
            escalate_at=NOW + timedelta(days=1, minutes=10),
            status=status,
            timezone="Asia/Shanghai",
            owner_phone="+8613800138000",
            source_key=None if kind == "manual" else f"{kind}:{customer_id}:{owner_id}:{status}",
            created_at=NOW,
        )

    follows = reminder(21)
    anothers = reminder(21, owner_id=14)
    acknowledged = reminder(21, status="acknowledged")
    birthday = reminder(21, kind="birthday")
    unrelated = reminder(None)
    pooled = reminder(22)
    commit()
    ids = [r.id for r in (follows, anothers, acknowledged, birthday, unrelated, pooled)]

    def offboarded(kind: str, **data: Any) -> int:
        return usecases_watching.follow_offboarding(
            store, _event(kind, NOW, reason="offboarding", **data), NOW
        )

    assert (
        offboarded("customer_transferred", customer_id=21, from_owner_id=11, to_owner_id=12, team="east") == 1
    )
    assert offboarded("customer_abandoned", customer_id=22, owner_id=11, team="east") == 1
    moved = usecases_watching.follow_offboarding(
        store,
        _event("customer_transferred", NOW, customer_id=21, from_owner_id=14, to_owner_id=12, reason="admin"),
        NOW,
    )
    assert moved == 0  # only a hand-over because someone left moves manual reminders
    commit()
    rows = [store.reminder(i) for i in ids]
    assert [(r.owner_id, r.status) for r in rows] == [
        (12, "pending"),
        (14, "pending"),
        (11, "acknowledged"),
        (11, "pending"),
        (11, "pending"),
        (11, "cancelled"),
    ]
    assert rows[0].owner_phone is None and rows[5].cancelled_at is not None


CHECKS = [
    a_leavers_manual_reminders_follow_their_customers,
    an_older_event_changes_nothing,
    team_settings_belong_to_the_teams_manager,
    a_review_plans_the_revisit_and_one_birthday_reminder,
    notices_reach_the_teams_managers,
]
