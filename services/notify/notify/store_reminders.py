"""The Store's reminders: the rows users work with, and the two claims that move them on
(pending → due, due → escalated) so that several notify instances never do either twice.

Claiming is one conditional UPDATE per batch (``WHERE status = <expected>``) whose RETURNING
lists exactly the rows this instance won. On PostgreSQL the candidate rows are picked
``FOR UPDATE SKIP LOCKED``, so concurrent instances take different rows instead of queueing on
each other's; on SQLite the single writer and the condition in the UPDATE do the same job (the
row count is what was won). The claim, the in-app notifications and the events commit together:
an instance killed mid-claim has its transaction rolled back and the rows are claimed again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Row, Select, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from notify.constants import ReminderStatus
from notify.models import Notification, Reminder, SmsMessage

PENDING, DUE = ReminderStatus.PENDING.value, ReminderStatus.DUE.value
ESCALATED = ReminderStatus.ESCALATED.value

FIRED_COLUMNS = (
    Reminder.id,
    Reminder.owner_id,
    Reminder.kind,
    Reminder.title,
    Reminder.content,
    Reminder.customer_id,
    Reminder.due_at,
    Reminder.timezone,
)
ESCALATED_COLUMNS = (
    Reminder.id,
    Reminder.owner_id,
    Reminder.title,
    Reminder.content,
    Reminder.due_at,
    Reminder.timezone,
    Reminder.owner_phone,
)


class ReminderStore:
    @property
    def session(self) -> Session:
        raise NotImplementedError  # Store gives the unit's session

    def _skip_locked(self, query: Select) -> Select:
        """Candidates other instances have locked are skipped (PostgreSQL; SQLite has one writer)."""
        if self.session.get_bind().dialect.name == "postgresql":
            return query.with_for_update(skip_locked=True)
        return query

    # ------------------------------------------------------------------ what users do

    def add_reminder(self, **columns: Any) -> Reminder:
        """A new reminder row (the columns of ``notify.models.Reminder``), flushed: it has its id."""
        row = Reminder(**columns)
        self.session.add(row)
        self.session.flush()
        return row

    def reminder(self, reminder_id: int) -> Reminder | None:
        return self.session.get(Reminder, reminder_id)

    def reminders(
        self,
        *,
        team: str | None,
        owner_id: int | None,
        status: str | None,
        offset: int,
        limit: int,
    ) -> list[Reminder]:
        """Reminders by team and owner (either filter only when given), soonest due first."""
        statement = select(Reminder)
        if team is not None:
            statement = statement.where(Reminder.team == team)
        if owner_id is not None:
            statement = statement.where(Reminder.owner_id == owner_id)
        if status:
            statement = statement.where(Reminder.status == status)
        statement = statement.order_by(Reminder.due_at, Reminder.id).offset(offset).limit(limit)
        return list(self.session.scalars(statement).all())

    def change_reminder(self, row: Reminder, expected_status: str, values: dict[str, Any]) -> bool:
        """Set ``values`` only if the reminder is still ``expected_status`` (the scheduler may have
        moved it); ``row`` is reloaded either way. True when it changed."""
        result = self.session.execute(
            update(Reminder)
            .where(Reminder.id == row.id, Reminder.status == expected_status)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        self.session.refresh(row)
        return cast(CursorResult, result).rowcount == 1

    # ------------------------------------------------------------------ pending → due

    def claim_due(self, now: datetime, limit: int) -> list[Row]:
        """Claim up to ``limit`` pending reminders whose time has come: status due, fired now."""
        candidates = self._skip_locked(
            select(Reminder.id)
            .where(Reminder.status == PENDING, Reminder.due_at <= now)
            .order_by(Reminder.due_at)
            .limit(limit)
        )
        # the conditional UPDATE is the claim: RETURNING gives exactly the rows this instance won
        return list(
            self.session.execute(
                update(Reminder)
                .where(Reminder.id.in_(candidates), Reminder.status == PENDING)
                .values(status=DUE, fired_at=now)
                .returning(*FIRED_COLUMNS)
                .execution_options(synchronize_session=False)
            ).all()
        )

    def mark_late(self, reminder_ids: Sequence[int]) -> None:
        self.session.execute(
            update(Reminder)
            .where(Reminder.id.in_(reminder_ids))
            .values(late=True)
            .execution_options(synchronize_session=False)
        )

    def add_notifications(self, rows: Sequence[dict[str, Any]]) -> None:
        """Notifications whose dedupe keys are known to be new (one INSERT)."""
        self.session.execute(insert(Notification), list(rows))

    # ------------------------------------------------------------------ due → escalated

    def overdue(self, now: datetime, limit: int) -> list[Row]:
        """Due reminders past their escalation time (id, owner_id, owner_phone); not claimed."""
        return list(
            self.session.execute(
                select(Reminder.id, Reminder.owner_id, Reminder.owner_phone)
                .where(Reminder.status == DUE, Reminder.escalate_at <= now)
                .order_by(Reminder.escalate_at)
                .limit(limit)
            ).all()
        )

    def claim_overdue(self, reminder_ids: Sequence[int], now: datetime) -> list[Row]:
        """Claim those of ``reminder_ids`` still due and overdue: status escalated, now."""
        candidates = self._skip_locked(select(Reminder.id).where(Reminder.id.in_(reminder_ids)))
        return list(
            self.session.execute(
                update(Reminder)
                .where(Reminder.id.in_(candidates), Reminder.status == DUE, Reminder.escalate_at <= now)
                .values(status=ESCALATED, escalated_at=now)
                .returning(*ESCALATED_COLUMNS)
                .execution_options(synchronize_session=False)
            ).all()
        )

    def set_owner_phones(self, phones: dict[int, str | None]) -> None:
        """Remember the phones accounts gave for these reminders' owners (one statement)."""
        if not phones:
            return
        table = cast(Table, Reminder.__table__)
        self.session.execute(
            update(table).where(table.c.id == bindparam("rid")).values(owner_phone=bindparam("phone")),
            [{"rid": reminder_id, "phone": phone} for reminder_id, phone in phones.items()],
        )

    def add_sms_intents(self, intents: Sequence[dict[str, Any]]) -> dict[int, int]:
        """SMS log rows for reminders (one INSERT): {reminder_id: sms_id}."""
        written = self.session.execute(
            insert(SmsMessage).returning(SmsMessage.id, SmsMessage.reminder_id), list(intents)
        ).all()
        return {reminder_id: sms_id for sms_id, reminder_id in written}

    def sms(self, sms_id: int) -> SmsMessage | None:
        return self.session.get(SmsMessage, sms_id)
