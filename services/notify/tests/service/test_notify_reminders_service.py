"""Reminders in a real notify container: set, shown in the owner's zone, due in the app, acknowledged
or escalated by SMS exactly once, as the frozen clock moves (no test waits for real minutes)."""

import time
from datetime import timedelta

import pytest

from crm_common.errors import InvalidInput
from notify.exceptions import NotReminderOwner, ReminderClosed, ReminderNotFound
from notify.models import Notification, Reminder, SmsMessage

from .conftest import wait_for


def iso(moment):
    return moment.isoformat()


def reminder(rpc, user_id, clock, minutes_ahead=30, **fields):
    payload = {
        "title": "拜访华为",
        "content": "带上合同",
        "due_at": iso(clock.now() + timedelta(minutes=minutes_ahead)),
    }
    with rpc(user_id) as notify:
        return notify.create_reminder({**payload, **fields})


def test_a_reminder_is_kept_in_utc_and_shown_in_the_owners_zone(notify, rpc, clock, database):
    with rpc(11) as notify_rpc:
        created = notify_rpc.create_reminder(
            {"title": "拜访华为", "content": "带上合同", "due_at": "2031-03-01T09:30:00+08:00"}
        )
    assert created["due_at"] == "2031-03-01T09:30:00+08:00"
    assert created["timezone"] == "Asia/Shanghai"
    assert created["status"] == "pending" and created["owner_id"] == 11 and created["team"] == "east"
    # lina's own accounts setting, since the request named none
    assert created["escalate_after_minutes"] == 15
    assert created["escalate_at"] == "2031-03-01T09:45:00+08:00"
    stored = database.reminder(created["id"])
    assert stored.due_at.isoformat() == "2031-03-01T01:30:00+00:00"


def test_a_due_reminder_appears_in_the_app_and_is_announced(notify, rpc, clock, listener, database):
    created = reminder(rpc, 11, clock, minutes_ahead=5)
    with rpc(11) as notify_rpc:
        assert notify_rpc.list_notifications()["unread_count"] == 0
    clock.advance(minutes=5)
    inbox = wait_for(lambda: rpc_inbox(rpc, 11)["unread_count"] == 1 and rpc_inbox(rpc, 11))
    [shown] = inbox["notifications"]
    assert (shown["kind"], shown["title"], shown["reminder_id"]) == (
        "reminder_due",
        "拜访华为",
        created["id"],
    )
    assert "带上合同" in shown["body"] and shown["read"] is False
    due = wait_for(lambda: [e for e in listener if e["event_type"] == "reminder_due"])
    assert due[0]["data"] == {
        "reminder_id": created["id"],
        "owner_id": 11,
        "title": "拜访华为",
        "due_at": database.reminder(created["id"]).due_at.isoformat(),
        "late": False,
        "customer_id": None,
        "kind": "manual",
    }
    with rpc(11) as notify_rpc:
        assert notify_rpc.get_reminder(created["id"])["status"] == "due"
        read = notify_rpc.mark_notification_read(shown["id"])
        assert read["read"] is True
        assert notify_rpc.list_notifications()["unread_count"] == 0


def rpc_inbox(rpc, user_id):
    with rpc(user_id) as notify:
        return notify.list_notifications()


def test_acknowledged_in_time_means_no_sms(notify, rpc, clock, database):
    created = reminder(rpc, 11, clock, minutes_ahead=1, escalate_after_minutes=3)
    clock.advance(minutes=1)
    wait_for(lambda: database.reminder(created["id"]).status == "due")
    with rpc(11) as notify_rpc:
        acked = notify_rpc.acknowledge_reminder(created["id"])
        assert acked["status"] == "acknowledged"
        assert notify_rpc.list_notifications()["unread_count"] == 0  # the due notice needs no attention
    clock.advance(minutes=10)
    settle()
    assert database.sms() == []
    assert database.reminder(created["id"]).status == "acknowledged"


def settle():
    """Let the timers run several passes (they tick every 50 ms in these tests)."""
    time.sleep(0.4)


def test_unacknowledged_reminder_is_sent_once_by_sms_to_the_phone_accounts_has_now(
    notify, rpc, clock, database, users, listener
):
    created = reminder(rpc, 11, clock, minutes_ahead=1, escalate_after_minutes=2, content="带上合同和报价单")
    users[11]["phone"] = "+8613912345678"  # lina changed her phone after setting the reminder
    clock.advance(minutes=1)
    wait_for(lambda: database.reminder(created["id"]).status == "due")
    clock.advance(minutes=1, seconds=59)
    settle()
    assert database.sms() == []  # one second early: nothing
    clock.advance(seconds=1)
    [sms] = wait_for(lambda: [s for s in database.sms() if s.status == "sent"])
    assert sms.to == "+8613912345678" and sms.reminder_id == created["id"]
    assert sms.body.startswith("【销售提醒】拜访华为 ") and sms.body.endswith("：带上合同和报价单")
    assert sms.provider == "console" and sms.provider_id.startswith("console-")
    clock.advance(minutes=30)
    settle()
    assert len(database.sms()) == 1
    assert database.reminder(created["id"]).status == "escalated"
    kinds = wait_for(lambda: len(listener) >= 3 and [e["event_type"] for e in listener])
    assert sorted(kinds) == ["reminder_due", "reminder_escalated", "sms_sent"]
    escalated = next(e for e in listener if e["event_type"] == "reminder_escalated")
    assert escalated["data"] == {"reminder_id": created["id"], "owner_id": 11, "sms_id": sms.id}
    sent = next(e for e in listener if e["event_type"] == "sms_sent")["data"]
    assert (sent["sms_id"], sent["to"], sent["provider"], sent["status"]) == (
        sms.id,
        "+8613912345678",
        "console",
        "sent",
    )


def test_an_owner_without_a_phone_is_told_in_the_app_that_no_sms_went_out(
    notify, rpc, clock, database, users
):
    users[12]["phone"] = None
    created = reminder(rpc, 12, clock, minutes_ahead=0, escalate_after_minutes=1)
    clock.advance(minutes=1)
    [sms] = wait_for(lambda: database.sms())
    assert sms.status == "failed" and "no phone" in sms.last_error
    inbox = wait_for(lambda: [n for n in rpc_inbox(rpc, 12)["notifications"] if n["kind"] == "sms_failed"])
    assert inbox[0]["reminder_id"] == created["id"]


def test_only_the_owner_acknowledges_and_the_manager_sees_the_team(notify, rpc, clock):
    lina = reminder(rpc, 11, clock, title="林的提醒")
    reminder(rpc, 12, clock, title="张的提醒")
    zhao = reminder(rpc, 31, clock, title="西区提醒")
    with rpc(21) as manager:
        assert {r["title"] for r in manager.list_reminders()} == {"林的提醒", "张的提醒"}
        assert [r["title"] for r in manager.list_reminders({"owner_id": 12})] == ["张的提醒"]
        with pytest.raises(NotReminderOwner):
            manager.acknowledge_reminder(lina["id"])
        with pytest.raises(ReminderNotFound):
            manager.get_reminder(zhao["id"])
    with rpc(12) as colleague:
        assert [r["title"] for r in colleague.list_reminders()] == ["张的提醒"]
        with pytest.raises(ReminderNotFound):
            colleague.acknowledge_reminder(lina["id"])
    with rpc(1) as admin:
        assert len(admin.list_reminders()) == 3


def test_reminders_are_listed_by_status(notify, rpc, clock, database):
    first = reminder(rpc, 11, clock, minutes_ahead=1)
    reminder(rpc, 11, clock, minutes_ahead=60)
    clock.advance(minutes=1)
    wait_for(lambda: database.reminder(first["id"]).status == "due")
    with rpc(11) as notify_rpc:
        assert [r["id"] for r in notify_rpc.list_reminders({"status": "due"})] == [first["id"]]
        assert len(notify_rpc.list_reminders({"status": "pending"})) == 1
        with pytest.raises(InvalidInput) as error:
            notify_rpc.list_reminders({"status": "someday"})
    assert "status" in error.value.details


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("due_at", "2031-03-01T09:30:00"),
        ("due_at", "next tuesday"),
        ("escalate_after_minutes", 0),
        ("escalate_after_minutes", 1.5),
        ("escalate_after_minutes", True),
        ("title", ""),
    ],
)
def test_bad_input_is_a_field_error(notify, rpc, clock, field, value):
    payload = {"title": "拜访", "due_at": "2031-03-01T09:30:00+08:00", field: value}
    with rpc(11) as notify_rpc, pytest.raises(InvalidInput) as error:
        notify_rpc.create_reminder(payload)
    assert field in error.value.details


def test_a_cancelled_reminder_never_fires_and_an_acknowledged_one_cannot_be_cancelled(
    notify, rpc, clock, database
):
    cancelled = reminder(rpc, 11, clock, minutes_ahead=1)
    acked = reminder(rpc, 11, clock, minutes_ahead=1)
    with rpc(11) as notify_rpc:
        assert notify_rpc.cancel_reminder(cancelled["id"])["status"] == "cancelled"
        notify_rpc.acknowledge_reminder(acked["id"])
        with pytest.raises(ReminderClosed):
            notify_rpc.cancel_reminder(acked["id"])
        with pytest.raises(ReminderClosed):
            notify_rpc.acknowledge_reminder(cancelled["id"])
    clock.advance(hours=2)
    settle()
    assert database.notifications() == [] and database.sms() == []


def test_what_fell_due_while_notify_was_down_fires_on_start_marked_late(
    start_notify, rpc, clock, database, listener
):
    first = start_notify()
    on_time = reminder(rpc, 11, clock, minutes_ahead=1)
    missed = reminder(rpc, 11, clock, minutes_ahead=3)
    clock.advance(minutes=1)
    wait_for(lambda: database.reminder(on_time["id"]).status == "due")
    first.stop()
    clock.advance(minutes=30)  # notify is down while the second one falls due
    start_notify()
    wait_for(lambda: database.reminder(missed["id"]).status != "pending")
    assert database.reminder(missed["id"]).late is True
    assert database.reminder(on_time["id"]).late is False
    late_events = wait_for(lambda: [e for e in listener if e["data"].get("late")])
    assert [e["data"]["reminder_id"] for e in late_events] == [missed["id"]]
    [notice] = database.notifications(Notification.reminder_id == missed["id"])
    assert "补发" in notice.body


def test_two_instances_share_the_work_and_fire_and_escalate_each_reminder_once(
    start_notify, rpc, clock, database, fake_twilio, twilio_config
):
    start_notify(**twilio_config)
    start_notify(**twilio_config)
    owners = [11, 12]
    created = [
        reminder(rpc, owners[n % 2], clock, minutes_ahead=1, escalate_after_minutes=1, title=f"客户回访 {n}")
        for n in range(40)
    ]
    clock.advance(minutes=2)

    def all_sent():
        clock.advance(seconds=1)  # time goes on: a send that timed out under load is retried
        return len(database.sms(SmsMessage.status == "sent")) == 40

    wait_for(all_sent, timeout=30, interval=0.2)
    ids = sorted(r["id"] for r in created)
    assert sorted(n.reminder_id for n in database.notifications(Notification.kind == "reminder_due")) == ids
    assert sorted(s.reminder_id for s in database.sms()) == ids
    assert {r.status for r in database.rows(Reminder)} == {"escalated"}
    assert len(fake_twilio.messages) == 40 and fake_twilio.duplicates() == {}


def test_when_accounts_does_not_answer_the_sms_goes_to_the_phone_known_at_creation(
    notify, accounts, rpc, clock, database
):
    created = reminder(rpc, 11, clock, minutes_ahead=0, escalate_after_minutes=1)
    accounts.stop()
    clock.advance(minutes=1)
    [sms] = wait_for(lambda: database.sms(SmsMessage.status == "sent"), timeout=15)
    assert sms.reminder_id == created["id"] and sms.to == "+8613900139000"
