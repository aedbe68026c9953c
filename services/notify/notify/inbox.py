"""In-app notifications: what a user sees when they open the app."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from notify import domain
from notify.exceptions import NotificationNotFound
from notify.models import Notification
from notify.schemas import MAX_ID


def notify_user(
    session: Session,
    *,
    user_id: int,
    kind: str,
    title: str,
    body: str,
    dedupe_key: str,
    now: datetime,
    reminder_id: int | None = None,
    subject: tuple[str, Any] | None = None,
    check_existing: bool = True,
) -> Notification | None:
    """Add a notification unless one with ``dedupe_key`` exists; returns it, or None if it did."""
    if check_existing and session.scalar(
        select(Notification.id).where(Notification.dedupe_key == dedupe_key)
    ):
        return None
    notification = Notification(
        user_id=user_id,
        kind=kind,
        title=title[:200],
        body=body,
        reminder_id=reminder_id,
        subject_type=subject[0] if subject else None,
        subject_id=str(subject[1]) if subject and subject[1] is not None else None,
        dedupe_key=dedupe_key,
        created_at=now,
    )
    session.add(notification)
    return notification


def notification_view(row: Notification, timezone: str) -> dict[str, Any]:
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


def unread_count(session: Session, user_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def list_notifications(session: Session, user_id: int, unread_only: bool, limit: int) -> list[Notification]:
    """The user's notifications, newest first."""
    statement = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    return list(session.scalars(statement.order_by(Notification.id.desc()).limit(limit)))


def mark_read(session: Session, user_id: int, notification_id: int, now: datetime) -> Notification:
    """Mark one of the user's notifications read (again is harmless); NotificationNotFound otherwise."""
    row = session.get(Notification, notification_id) if 0 < notification_id <= MAX_ID else None
    if row is None or row.user_id != user_id:
        raise NotificationNotFound(f"no notification {notification_id}")
    if row.read_at is None:
        row.read_at = now
    return row


def mark_all_read(session: Session, user_id: int, now: datetime) -> int:
    return session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount


def mark_reminder_read(session: Session, user_id: int, reminder_id: int, now: datetime) -> None:
    """An acknowledged reminder's notifications need no more attention."""
    session.execute(
        update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.reminder_id == reminder_id,
            Notification.read_at.is_(None),
        )
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
