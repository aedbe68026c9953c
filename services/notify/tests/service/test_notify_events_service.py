"""notify reacting to customers' and knowledge's events (published as those services will, on
their exchanges): birthday and revisit reminders for owners, notices for the team's managers."""

from datetime import time, timedelta

import pytest
from nameko.standalone.events import event_dispatcher

from crm_common.errors import Forbidden
from crm_common.outbox import envelope
from notify import domain
from notify.models import CustomerWatch, ManagerNotice, Notification, Reminder, SmsMessage

from .conftest import wait_for


@pytest.fixture
def publish(notify, rabbit_config, clock):
    """Publish an event as its service's outbox relay does; returns the envelope."""
    dispatch = event_dispatcher(rabbit_config)

    def publish(source, event_type, data, occurred_at=None, event=None):
        event = event or envelope(event_type, data, source, occurred_at or clock.now())
        dispatch(source, event_type, event)
        return event

    return publish


def customer(customer_id=501, owner_id=11, **fields):
    return {
        "customer_id": customer_id,
        "name": "华为技术",
        "owner_id": owner_id,
        "owner_name": "李娜",
        "team": "east",
        "entered_by": owner_id,
        "birthday": None,
        "next_visit_at": None,
        "next_visit_contact": None,
        "referred_by": None,
        **fields,
    }


def local_day(clock, days=0):
    return domain.to_local(clock.now(), "Asia/Shanghai").date() + timedelta(days=days)


def test_a_customers_birthday_within_two_days_reminds_the_owner_once(publish, database, clock):
    birthday = local_day(clock, days=1)
    first = publish("customers", "customer_created", customer(birthday=f"{birthday:%m-%d}"))
    [made] = wait_for(lambda: database.rows(Reminder, Reminder.kind == "birthday"))
    assert (made.owner_id, made.customer_id, made.team) == (11, 501, "east")
    assert "华为技术" in made.title and "生日" in made.title and "明天" in made.title
    nine_local = domain.local_time_to_utc(local_day(clock), time(9, 0), "Asia/Shanghai")
    assert made.due_at == max(clock.now(), nine_local)
    assert made.escalate_after_minutes == 15  # lina's own setting from accounts
    publish("customers", "customer_created", {}, event=first)  # redelivered
    publish("customers", "customer_amended", customer(birthday=f"{birthday:%m-%d}", revision=2))
    wait_for(
        lambda: not database.rows(CustomerWatch, CustomerWatch.needs_review.is_(True))
        and database.rows(CustomerWatch)[0].revision == 2
    )
    assert len(database.rows(Reminder, Reminder.kind == "birthday")) == 1


def test_a_birthday_further_off_waits_for_the_teams_window(notify, publish, database, clock, rpc):
    birthday = local_day(clock, days=4)
    publish("customers", "customer_created", customer(birthday=f"2001-{birthday:%m-%d}"))
    wait_for(lambda: database.rows(CustomerWatch) and not database.rows(CustomerWatch)[0].needs_review)
    assert database.rows(Reminder) == []
    with rpc(11) as sales, pytest.raises(Forbidden):
        sales.update_team_settings({"birthday_days_ahead": 5})
    with rpc(21) as manager:
        assert manager.update_team_settings({"birthday_days_ahead": 5}) == {
            "team": "east",
            "birthday_days_ahead": 5,
            "revisit_lead_hours": 24,
        }
        with pytest.raises(Forbidden):
            manager.update_team_settings({"team": "west", "birthday_days_ahead": 1})
    [made] = wait_for(lambda: database.rows(Reminder, Reminder.kind == "birthday"))
    assert "4天后" in made.title


def test_a_planned_visit_reminds_the_owner_ahead_and_follows_the_customer_and_the_lead_time(
    publish, database, clock, rpc
):
    visit = clock.now() + timedelta(days=3)
    contact = {"name": "张总", "title": "总经理"}
    publish(
        "customers", "customer_created", customer(next_visit_at=visit.isoformat(), next_visit_contact=contact)
    )
    [first] = wait_for(lambda: database.rows(Reminder, Reminder.kind == "revisit"))
    assert first.due_at == visit - timedelta(hours=24) and first.owner_id == 11
    assert "张总（总经理）" in first.title and "华为技术" in first.title
    with rpc(21) as manager:
        manager.update_team_settings({"revisit_lead_hours": 48})
    wait_for(lambda: database.reminder(first.id).due_at == visit - timedelta(hours=48))

    later = clock.now() + timedelta(days=5)
    publish(
        "customers",
        "customer_amended",
        customer(next_visit_at=later.isoformat(), next_visit_contact=contact, revision=2),
    )
    wait_for(
        lambda: [r.due_at for r in database.rows(Reminder, Reminder.status == "pending")]
        == [later - timedelta(hours=48)]
    )
    assert database.reminder(first.id).status == "cancelled"

    transfer = {
        **customer(next_visit_at=later.isoformat(), next_visit_contact=contact),
        "from_owner_id": 11,
        "to_owner_id": 12,
        "to_owner_name": "张伟",
        "reason": "claim",
    }
    publish("customers", "customer_transferred", transfer)
    wait_for(lambda: [r.owner_id for r in database.rows(Reminder, Reminder.status == "pending")] == [12])
    [mine] = database.rows(Reminder, Reminder.status == "pending")
    assert mine.due_at == later - timedelta(hours=48) and mine.escalate_after_minutes == 5

    publish(
        "customers",
        "customer_abandoned",
        {
            "customer_id": 501,
            "name": "华为技术",
            "owner_id": 12,
            "team": "east",
            "reason": "倒闭",
            "alarm_id": 9,
        },
    )
    wait_for(lambda: database.rows(Reminder, Reminder.status == "pending") == [])


def test_a_visit_sooner_than_the_lead_time_is_reminded_now_and_an_old_event_changes_nothing(
    publish, database, clock
):
    soon = clock.now() + timedelta(hours=2)
    publish(
        "customers",
        "customer_created",
        customer(next_visit_at=soon.isoformat(), next_visit_contact="刘经理"),
        occurred_at=clock.now(),
    )
    [made] = wait_for(lambda: database.rows(Reminder, Reminder.kind == "revisit"))
    assert made.due_at == clock.now() and "刘经理" in made.title
    stale = customer(next_visit_at=(clock.now() + timedelta(days=9)).isoformat(), revision=1)
    publish("customers", "customer_amended", stale, occurred_at=clock.now() - timedelta(minutes=5))
    wait_for(
        lambda: len(database.rows(CustomerWatch)) == 1 and not database.rows(CustomerWatch)[0].needs_review
    )
    [kept] = database.rows(Reminder)
    assert kept.status in ("pending", "due") and kept.due_at == made.due_at  # due now: it may have fired


def alarm(alarm_id=77, raised_by=11, team="east"):
    return {
        "alarm_id": alarm_id,
        "title": "客户要求降价 30%",
        "problem": "华为采购坚持要降价，否则换供应商。",
        "customer_id": 501,
        "raised_by": raised_by,
        "raised_by_name": "李娜",
        "team": team,
    }


def test_a_difficulty_alarm_reaches_the_teams_manager_once_and_by_sms_if_asked(publish, database, rpc, clock):
    with rpc(21) as manager:
        assert manager.update_preferences({"sms_for_notices": True}) == {"sms_for_notices": True}
    raised = publish("knowledge", "alarm_raised", alarm())
    publish("knowledge", "alarm_raised", {}, event=raised)  # delivered twice
    [notice] = wait_for(lambda: database.notifications(Notification.kind == "alarm_raised"))
    assert notice.user_id == 21 and notice.subject_type == "alarm" and notice.subject_id == "77"
    assert "李娜" in notice.title and "客户要求降价" in notice.body
    [sms] = wait_for(lambda: database.sms(SmsMessage.status == "sent"))
    assert sms.to == "+8613800138000" and sms.reminder_id is None and sms.recipient_id == 21
    assert sms.body.startswith("【销售提醒】困难报警")
    assert len(database.rows(ManagerNotice)) == 1
    with rpc(41) as west_manager:
        assert west_manager.list_notifications()["unread_count"] == 0


def test_a_suspected_duplicate_is_shown_to_the_manager_with_both_owners(publish, database):
    publish(
        "customers",
        "customer_duplicate_suspected",
        {
            "suspicion_id": 5,
            "customer_id": 502,
            "name": "华为技术有限公司",
            "owner_id": 12,
            "duplicate_of_id": 501,
            "duplicate_of_name": "华为技术",
            "duplicate_owner_id": 11,
            "team": "east",
            "score": 92,
            "reason": "name",
        },
    )
    [notice] = wait_for(lambda: database.notifications(Notification.kind == "customer_duplicate_suspected"))
    assert notice.user_id == 21 and notice.subject_id == "502"
    assert "张伟" in notice.body and "李娜名下的「华为技术」" in notice.body and "92%" in notice.body
    assert database.sms() == []  # the manager did not ask for SMS


def test_an_unreadable_event_is_dropped_not_retried_forever(publish, database, notify):
    publish(
        "knowledge", "alarm_raised", {"alarm_id": 1}, event={"event_id": "x-1", "event_type": "alarm_raised"}
    )
    publish("customers", "customer_created", {"name": "无编号客户"})
    publish("customers", "customer_amended", {}, event={"data": {"customer_id": 3}})  # no envelope
    publish("knowledge", "alarm_raised", alarm(alarm_id=78))
    wait_for(lambda: database.notifications(Notification.kind == "alarm_raised"))
    assert len(database.rows(ManagerNotice)) == 1 and database.rows(CustomerWatch) == []
