"""Checks of the reminder use cases users call, run on the fake store (tests/unit) and on the
real Store (tests/service, the contract). Firing and escalating are SQL claims: they are
checked on the real database only (tests/service/test_notify_reminders_service.py, test_notify_crash.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_common.caller import Caller
from crm_common.errors import Forbidden
from notify import usecases_reminders
from notify.dependencies import NotifySettings
from notify.exceptions import NotReminderOwner, ReminderClosed, ReminderNotFound

NOW = datetime(2031, 3, 1, 1, 30, tzinfo=UTC)
SETTINGS = NotifySettings()
ANNA = Caller(11, "anna", "sales", "east")
BO = Caller(12, "bo", "sales", "east")
MEI = Caller(13, "mei", "manager", "east")
WEST = Caller(14, "wu", "manager", "west")
ROOT = Caller(1, "root", "admin")
QUERY = {"offset": 0, "limit": 50}


def _new(title: str, hours: int = 1, minutes: int | None = None) -> dict[str, Any]:
    return {
        "title": title,
        "content": "带上合同",
        "due_at": NOW + timedelta(hours=hours),
        "escalate_after_minutes": minutes,
        "customer_id": None,
    }


def _create(store: Any, caller: Caller, title: str, hours: int = 1, owner: dict | None = None) -> Any:
    return usecases_reminders.create_reminder(
        store, caller, _new(title, hours), owner=owner, now=NOW, settings=SETTINGS
    )


def a_new_reminder_takes_the_owners_settings(store: Any, commit: Callable[[], None]) -> None:
    owner = {
        "team": "north",
        "timezone": "Europe/Berlin",
        "phone": "+8613800000001",
        "escalate_after_minutes": 30,
    }
    view = _create(store, ANNA, "拜访华为", owner=owner)
    commit()
    again = usecases_reminders.get_reminder(store, ANNA, view["id"])
    assert (again["status"], again["team"], again["timezone"], again["escalate_after_minutes"]) == (
        "pending",
        "north",
        "Europe/Berlin",
        30,
    )
    assert again["escalate_at"] - again["due_at"] == timedelta(minutes=30)
    assert again["due_at"].utcoffset() == timedelta(hours=1)
    requested = usecases_reminders.create_reminder(
        store, BO, _new("回访", minutes=5), owner=None, now=NOW, settings=SETTINGS
    )
    assert (requested["team"], requested["timezone"], requested["escalate_after_minutes"]) == (
        "east",
        SETTINGS.timezone,
        5,
    )


def who_sees_which_reminders(store: Any, commit: Callable[[], None]) -> None:
    late = _create(store, ANNA, "later", hours=5)
    soon = _create(store, ANNA, "sooner", hours=2)
    bos = _create(store, BO, "bo's", hours=3)
    commit()
    mine = usecases_reminders.list_reminders(store, ANNA, QUERY)
    assert [view["id"] for view in mine] == [soon["id"], late["id"]]
    with pytest.raises(Forbidden):
        usecases_reminders.list_reminders(store, ANNA, {**QUERY, "owner_id": BO.user_id})
    team = usecases_reminders.list_reminders(store, MEI, QUERY)
    assert [view["id"] for view in team] == [soon["id"], bos["id"], late["id"]]
    assert [v["id"] for v in usecases_reminders.list_reminders(store, MEI, {**QUERY, "owner_id": 12})] == [
        bos["id"]
    ]
    assert usecases_reminders.list_reminders(store, WEST, QUERY) == []
    assert len(usecases_reminders.list_reminders(store, ROOT, {**QUERY, "limit": 2})) == 2
    assert usecases_reminders.list_reminders(store, ROOT, {**QUERY, "status": "due"}) == []
    for caller in (BO, WEST):
        with pytest.raises(ReminderNotFound):
            usecases_reminders.get_reminder(store, caller, late["id"])
    with pytest.raises(ReminderNotFound):
        usecases_reminders.get_reminder(store, ROOT, 2**31)
    assert usecases_reminders.get_reminder(store, MEI, late["id"])["title"] == "later"


def acknowledging_marks_the_reminders_notifications_read(store: Any, commit: Callable[[], None]) -> None:
    view = _create(store, ANNA, "拜访华为")
    store.add_notification(
        user_id=ANNA.user_id,
        kind="reminder_due",
        title="拜访华为",
        body="",
        dedupe_key=f"reminder_due:{view['id']}",
        now=NOW,
        reminder_id=view["id"],
    )
    commit()
    with pytest.raises(NotReminderOwner):
        usecases_reminders.acknowledge(store, MEI, view["id"], NOW)
    acknowledged = usecases_reminders.acknowledge(store, ANNA, view["id"], NOW + timedelta(minutes=1))
    commit()
    assert acknowledged["status"] == "acknowledged" and store.unread_count(ANNA.user_id) == 0
    again = usecases_reminders.acknowledge(store, ANNA, view["id"], NOW + timedelta(hours=1))
    assert again["acknowledged_at"] == acknowledged["acknowledged_at"]
    with pytest.raises(ReminderClosed):
        usecases_reminders.cancel(store, ANNA, view["id"], NOW)


def a_cancelled_reminder_stays_cancelled(store: Any, commit: Callable[[], None]) -> None:
    view = _create(store, ANNA, "拜访华为")
    commit()
    with pytest.raises(NotReminderOwner):
        usecases_reminders.cancel(store, ROOT, view["id"], NOW)
    cancelled = usecases_reminders.cancel(store, ANNA, view["id"], NOW)
    commit()
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"] is not None
    assert usecases_reminders.cancel(store, ANNA, view["id"], NOW + timedelta(hours=1)) == cancelled
    with pytest.raises(ReminderClosed):
        usecases_reminders.acknowledge(store, ANNA, view["id"], NOW)


CHECKS = [
    a_new_reminder_takes_the_owners_settings,
    who_sees_which_reminders,
    acknowledging_marks_the_reminders_notifications_read,
    a_cancelled_reminder_stays_cancelled,
]
