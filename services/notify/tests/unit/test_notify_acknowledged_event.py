"""``reminder_acknowledged`` on the fake store: published once when the owner acknowledges, saying
whether it came before the SMS (the appraisal's punctuality) or after it."""

from datetime import timedelta

from notify import usecases_reminders
from services.notify.tests.fakes import FakeStore
from services.notify.tests.reminder_checks import ANNA, NOW, _create


def acknowledged(store: FakeStore) -> list[dict]:
    return [data for event, data in store.events if event == "reminder_acknowledged"]


def test_acknowledged_before_the_sms_is_published_once() -> None:
    store = FakeStore()
    view = _create(store, ANNA, "拜访华为")
    at = NOW + timedelta(hours=1, minutes=2)

    usecases_reminders.acknowledge(store, ANNA, view["id"], at)
    usecases_reminders.acknowledge(store, ANNA, view["id"], at + timedelta(hours=1))  # again: nothing new

    assert acknowledged(store) == [
        {
            "reminder_id": view["id"],
            "owner_id": ANNA.user_id,
            "team": "east",
            "title": "拜访华为",
            "kind": "manual",
            "customer_id": None,
            "due_at": (NOW + timedelta(hours=1)).isoformat(),
            "acknowledged_at": at.isoformat(),
            "escalated_at": None,
            "before_escalation": True,
        }
    ]


def test_acknowledged_after_the_sms_says_so() -> None:
    store = FakeStore()
    view = _create(store, ANNA, "拜访华为")
    row = store.reminder(view["id"])
    escalated = NOW + timedelta(hours=1, minutes=15)
    assert store.change_reminder(row, "pending", {"status": "escalated", "escalated_at": escalated})

    usecases_reminders.acknowledge(store, ANNA, view["id"], escalated + timedelta(minutes=5))

    [data] = acknowledged(store)
    assert (data["escalated_at"], data["before_escalation"]) == (escalated.isoformat(), False)
