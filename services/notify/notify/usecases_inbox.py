"""Use cases of the in-app notifications: list them, mark them read."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from notify import domain
from notify.exceptions import NotificationNotFound
from notify.schemas import MAX_ID


class Notice(Protocol):
    """What the views read of a notification row."""

    id: Any
    user_id: int
    kind: str
    title: str
    body: str
    reminder_id: int | None
    subject_type: str | None
    subject_id: str | None
    created_at: datetime
    read_at: datetime | None


class InboxStore(Protocol):
    def notification(self, notification_id: int) -> Any: ...
    def unread_count(self, user_id: int) -> int: ...
    def notifications(self, user_id: int, unread_only: bool, limit: int) -> list[Any]: ...
    def mark_read(self, notification: Any, now: datetime) -> None: ...
    def mark_all_read(self, user_id: int, now: datetime) -> int: ...


def notification_view(row: Notice, timezone: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "title": row.title,
        "body": row.body,
        "reminder_id": row.reminder_id,
        "subject_type": row.subject_type,
        "subject_id": row.subject_id,
        "created_at": domain.to_local(row.created_at, timezone),
        "read_at": domain.to_local(row.read_at, timezone) if row.read_at else None,
        "read": row.read_at is not None,
    }


def list_notifications(
    store: InboxStore, user_id: int, query: dict[str, Any], *, timezone: str
) -> dict[str, Any]:
    """The user's notifications, newest first (``query``: unread, limit), and how many are unread."""
    rows = store.notifications(user_id, query["unread"], query["limit"])
    return {
        "unread_count": store.unread_count(user_id),
        "notifications": [notification_view(row, timezone) for row in rows],
    }


def mark_notification_read(
    store: InboxStore, user_id: int, notification_id: int, *, now: datetime, timezone: str
) -> dict[str, Any]:
    """Mark one of the user's notifications read (again is harmless); NotificationNotFound for
    one that is not theirs or does not exist."""
    row = store.notification(notification_id) if 0 < notification_id <= MAX_ID else None
    if row is None or row.user_id != user_id:
        raise NotificationNotFound(f"no notification {notification_id}")
    store.mark_read(row, now)
    return notification_view(row, timezone)


def mark_all_read(store: InboxStore, user_id: int, *, now: datetime) -> dict[str, int]:
    return {"marked": store.mark_all_read(user_id, now)}
