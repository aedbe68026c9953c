"""The Store's in-app notifications: what a user sees when they open the app."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from notify.domain_notices import RETURN_WARNING_KIND
from notify.models import Notification


class InboxStore:
    @property
    def session(self) -> Session:
        raise NotImplementedError  # Store gives the unit's session

    def add_notification(
        self,
        *,
        user_id: int,
        kind: str,
        title: str,
        body: str,
        dedupe_key: str,
        now: datetime,
        reminder_id: int | None = None,
        subject: tuple[str, Any] | None = None,
    ) -> Notification | None:
        """Add a notification unless one with ``dedupe_key`` exists; returns it, or None if it did."""
        if self.session.scalar(select(Notification.id).where(Notification.dedupe_key == dedupe_key)):
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
        self.session.add(notification)
        return notification

    def withdraw_return_warnings(self, customer_id: int, user_id: int, now: datetime) -> int:
        """Mark read the unread ``customer_return_warning`` notices of ``user_id`` about the
        customer (it is no longer theirs); how many."""
        result = self.session.execute(
            update(Notification)
            .where(
                Notification.user_id == user_id,
                Notification.kind == RETURN_WARNING_KIND,
                Notification.subject_type == "customer",
                Notification.subject_id == str(customer_id),
                Notification.read_at.is_(None),
            )
            .values(read_at=now)
        )
        return int(cast(CursorResult, result).rowcount or 0)

    def notification(self, notification_id: int) -> Notification | None:
        return self.session.get(Notification, notification_id)

    def unread_count(self, user_id: int) -> int:
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            )
            or 0
        )

    def notifications(self, user_id: int, unread_only: bool, limit: int) -> list[Notification]:
        """The user's notifications, newest first."""
        statement = select(Notification).where(Notification.user_id == user_id)
        if unread_only:
            statement = statement.where(Notification.read_at.is_(None))
        return list(self.session.scalars(statement.order_by(Notification.id.desc()).limit(limit)))

    def mark_read(self, notification: Notification, now: datetime) -> None:
        if notification.read_at is None:
            notification.read_at = now

    def mark_all_read(self, user_id: int, now: datetime) -> int:
        result = self.session.execute(
            update(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(cast(CursorResult, result).rowcount)

    def mark_reminder_read(self, user_id: int, reminder_id: int, now: datetime) -> None:
        """An acknowledged reminder's notifications need no more attention."""
        self.session.execute(
            update(Notification)
            .where(
                Notification.user_id == user_id,
                Notification.reminder_id == reminder_id,
                Notification.read_at.is_(None),
            )
            .values(read_at=now)
            .execution_options(synchronize_session=False)
        )
