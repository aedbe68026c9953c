"""Checks of the in-app notification use cases, run on the fake store (tests/unit) and on the
real Store (tests/service, the contract)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from notify import usecases_inbox
from notify.exceptions import NotificationNotFound

NOW = datetime(2031, 3, 1, 1, 30, tzinfo=UTC)
TZ = "Asia/Shanghai"


def _add(store: Any, user_id: int, key: str, reminder_id: int | None = None) -> Any:
    return store.add_notification(
        user_id=user_id,
        kind="reminder_due",
        title="拜访华为",
        body="带上合同",
        dedupe_key=key,
        now=NOW,
        reminder_id=reminder_id,
        subject=("customer", 5),
    )


def a_notification_is_kept_once_per_key(store: Any, commit: Callable[[], None]) -> None:
    assert _add(store, 11, "k1") is not None
    commit()
    assert _add(store, 11, "k1") is None
    listed = usecases_inbox.list_notifications(store, 11, {"unread": False, "limit": 50}, timezone=TZ)
    assert listed["unread_count"] == 1
    [view] = listed["notifications"]
    assert (view["title"], view["subject_type"], view["subject_id"], view["read"]) == (
        "拜访华为",
        "customer",
        "5",
        False,
    )
    assert view["created_at"].utcoffset() == timedelta(hours=8)


def the_list_is_newest_first_per_user_and_unread_filters(store: Any, commit: Callable[[], None]) -> None:
    for key in ("a", "b", "c"):
        _add(store, 11, key)
    _add(store, 12, "other")
    commit()
    first = usecases_inbox.list_notifications(store, 11, {"unread": False, "limit": 2}, timezone=TZ)
    ids = [view["id"] for view in first["notifications"]]
    assert len(ids) == 2 and ids == sorted(ids, reverse=True) and first["unread_count"] == 3
    usecases_inbox.mark_notification_read(store, 11, ids[0], now=NOW, timezone=TZ)
    commit()
    unread = usecases_inbox.list_notifications(store, 11, {"unread": True, "limit": 50}, timezone=TZ)
    assert ids[0] not in [view["id"] for view in unread["notifications"]] and unread["unread_count"] == 2


def only_the_owner_marks_a_notification_read(store: Any, commit: Callable[[], None]) -> None:
    row = _add(store, 11, "mine")
    commit()
    with pytest.raises(NotificationNotFound):
        usecases_inbox.mark_notification_read(store, 12, row.id, now=NOW, timezone=TZ)
    with pytest.raises(NotificationNotFound):
        usecases_inbox.mark_notification_read(store, 11, 2**31, now=NOW, timezone=TZ)
    first = usecases_inbox.mark_notification_read(store, 11, row.id, now=NOW, timezone=TZ)
    again = usecases_inbox.mark_notification_read(
        store, 11, row.id, now=NOW + timedelta(hours=1), timezone=TZ
    )
    assert first["read"] and again["read_at"] == first["read_at"]


def marking_all_read_counts_only_the_callers_unread(store: Any, commit: Callable[[], None]) -> None:
    _add(store, 11, "x", reminder_id=7)
    _add(store, 11, "y")
    _add(store, 12, "z")
    commit()
    store.mark_reminder_read(11, 7, NOW)
    commit()
    assert usecases_inbox.mark_all_read(store, 11, now=NOW) == {"marked": 1}
    commit()
    assert store.unread_count(11) == 0 and store.unread_count(12) == 1


CHECKS = [
    a_notification_is_kept_once_per_key,
    the_list_is_newest_first_per_user_and_unread_filters,
    only_the_owner_marks_a_notification_read,
    marking_all_read_counts_only_the_callers_unread,
]
