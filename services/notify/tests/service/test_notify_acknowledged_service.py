"""``reminder_acknowledged`` from a real notify container: one event per acknowledgement, through
the outbox in the acknowledging transaction, saying it came before the SMS."""

from datetime import timedelta

from .conftest import wait_for
from .test_notify_reminders_service import reminder, settle


def test_an_acknowledgement_is_published_once(notify, rpc, clock, database, listener):
    created = reminder(rpc, 11, clock, minutes_ahead=1, escalate_after_minutes=3)
    clock.advance(minutes=1)
    wait_for(lambda: database.reminder(created["id"]).status == "due")
    with rpc(11) as notify_rpc:
        notify_rpc.acknowledge_reminder(created["id"])
        notify_rpc.acknowledge_reminder(created["id"])  # again: unchanged, nothing published

    [event] = wait_for(lambda: [e for e in listener if e["event_type"] == "reminder_acknowledged"])
    clock.advance(minutes=10)
    settle()
    assert [e["event_type"] for e in listener].count("reminder_acknowledged") == 1
    stored = database.reminder(created["id"])
    assert event["data"] == {
        "reminder_id": created["id"],
        "owner_id": 11,
        "team": "east",
        "title": "拜访华为",
        "kind": "manual",
        "customer_id": None,
        "due_at": stored.due_at.isoformat(),
        "acknowledged_at": stored.acknowledged_at.isoformat(),
        "escalated_at": None,
        "before_escalation": True,
    }
    assert stored.acknowledged_at - stored.due_at < timedelta(minutes=1)
