"""Checks of the SMS log's use cases (delivery reports, failures, the log), run on the fake
store (tests/unit) and on the real Store (tests/service, the contract). Claims, leases and
exactly-once sending are about SQL: checked on the real database only
(tests/service/test_notify_sms_service.py, test_notify_crash.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from notify import usecases_delivery

NOW = datetime(2031, 3, 1, 1, 30, tzinfo=UTC)
TZ = "Asia/Shanghai"
ALL = {"offset": 0, "limit": 50}


def _sms(store: Any, key: str, status: str = "sent", **columns: Any) -> Any:
    return store.add_sms(
        idempotency_key=key,
        body="【销售提醒】拜访华为",
        status=status,
        attempts=1,
        created_at=NOW,
        updated_at=NOW,
        **columns,
    )


def a_delivery_report_only_moves_forward(store: Any, commit: Callable[[], None]) -> None:
    row = _sms(store, "a", recipient_id=11, to="+8613800000001", provider="twilio", provider_id="SM1")
    commit()
    report = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    assert usecases_delivery.record_delivery_status(store, report, NOW + timedelta(seconds=5))
    assert usecases_delivery.record_delivery_status(store, {**report, "MessageStatus": "sent"}, NOW)
    assert not usecases_delivery.record_delivery_status(store, {**report, "MessageSid": "SM404"}, NOW)
    commit()
    [view] = usecases_delivery.list_sms(store, ALL, timezone=TZ)
    assert (view["id"], view["provider_status"], view["status"]) == (row.id, "delivered", "sent")
    assert view["updated_at"] == NOW and store.unread_count(11) == 0  # the last report's time


def a_carrier_failure_tells_the_recipient_once(store: Any, commit: Callable[[], None]) -> None:
    reminder = store.add_reminder(
        owner_id=11,
        title="拜访华为",
        content="",
        due_at=NOW,
        escalate_after_minutes=10,
        escalate_at=NOW,
        status="escalated",
        timezone=TZ,
        created_at=NOW,
    )
    _sms(store, "b", reminder_id=reminder.id, recipient_id=11, provider_id="SM2", provider_status="sent")
    commit()
    report = {"MessageSid": "SM2", "MessageStatus": "undelivered", "ErrorCode": "30003"}
    for _ in range(2):
        assert usecases_delivery.record_delivery_status(store, report, NOW)
        commit()
    [view] = usecases_delivery.list_sms(store, ALL, timezone=TZ)
    assert (view["provider_status"], view["error_code"], view["last_error"]) == (
        "undelivered",
        30003,
        "the carrier reported undelivered",
    )
    [notice] = store.notifications(11, True, 10)
    assert (notice.kind, notice.reminder_id, notice.subject_type) == ("sms_failed", reminder.id, "sms")
    assert "拜访华为" in notice.title + notice.body


def the_sms_log_is_newest_first_and_filters(store: Any, commit: Callable[[], None]) -> None:
    first = _sms(store, "c", status="failed")
    second = _sms(store, "d", status="pending", reminder_id=77)
    commit()
    assert [view["id"] for view in usecases_delivery.list_sms(store, ALL, timezone=TZ)] == [
        second.id,
        first.id,
    ]
    assert [v["id"] for v in usecases_delivery.list_sms(store, {**ALL, "status": "failed"}, timezone=TZ)] == [
        first.id
    ]
    assert [v["id"] for v in usecases_delivery.list_sms(store, {**ALL, "reminder_id": 77}, timezone=TZ)] == [
        second.id
    ]
    [view] = usecases_delivery.list_sms(store, {**ALL, "offset": 1}, timezone=TZ)
    assert view["id"] == first.id and view["created_at"].utcoffset() == timedelta(hours=8)


CHECKS = [
    a_delivery_report_only_moves_forward,
    a_carrier_failure_tells_the_recipient_once,
    the_sms_log_is_newest_first_and_filters,
]
