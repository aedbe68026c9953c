"""A customer the pool rules returned to the pool (``customer_returned_to_pool``) has no owner
to remind any more: its pending reminders end, as an abandoned customer's do. Before that, the
owner is warned (``customer_return_warning``) with one in-app notice."""

from datetime import timedelta

from notify.models import CustomerWatch, Notification, Reminder

from .conftest import wait_for
from .test_notify_events_service import customer, publish  # noqa: F401 — the fixture


def test_a_returned_customers_pending_reminders_end(publish, database, clock):  # noqa: F811
    visit = clock.now() + timedelta(days=3)
    publish(
        "customers", "customer_created", customer(next_visit_at=visit.isoformat(), next_visit_contact="张总")
    )
    wait_for(lambda: database.rows(Reminder, Reminder.status == "pending"))
    publish(
        "customers",
        "customer_returned_to_pool",
        {**customer(owner_id=None), "reason": "no_followup", "days": 30, "former_owner_id": 11},
    )
    wait_for(lambda: database.rows(Reminder, Reminder.status == "pending") == [])
    [watch] = database.rows(CustomerWatch, CustomerWatch.customer_id == 501)
    assert watch.owner_id is None


def test_the_owner_is_warned_once_before_the_customer_returns_to_the_pool(publish, database, clock, rpc):  # noqa: F811
    return_at = clock.now() + timedelta(days=3)
    warning = {
        "customer_id": 501,
        "name": "恒发五金",
        "owner_id": 11,
        "owner_name": "李娜",
        "team": "east",
        "reason": "no_followup",
        "days": 30,
        "return_at": return_at.isoformat(),
        "days_left": 3,
    }
    event = publish("customers", "customer_return_warning", warning)
    publish("customers", "customer_return_warning", warning, event=event)  # the broker redelivers it
    publish("customers", "customer_return_warning", {**warning, "owner_id": "11"})  # unreadable: dropped
    publish("customers", "customer_return_warning", {**warning, "customer_id": 502, "name": "宏达"})
    wait_for(lambda: len(database.notifications(Notification.kind == "customer_return_warning")) == 2)
    with rpc(11) as owner:
        listed = owner.list_notifications()
    warnings = [n for n in listed["notifications"] if n["kind"] == "customer_return_warning"]
    assert [(n["subject_type"], n["subject_id"]) for n in warnings] == [
        ("customer", "502"),
        ("customer", "501"),
    ]
    assert warnings[1]["title"] == "客户即将退回公海：恒发五金"
    assert (
        "超过 30 天没有跟进记录" in warnings[1]["body"]
        and "（3 天后）自动退回团队公海" in warnings[1]["body"]
    )
    assert listed["unread_count"] == 2
    with rpc(21) as manager:  # the owner's alone: the team's manager is not told
        assert manager.list_notifications()["unread_count"] == 0
