"""The Store's SMS log: intents, the claims senders take on them (status ``sending``, a lease,
a claim token), what each attempt came to, and the provider's delivery reports.

A claim is one conditional UPDATE whose RETURNING lists exactly the rows this instance won (on
PostgreSQL over candidates picked ``FOR UPDATE SKIP LOCKED``); an outcome is written only while
its sender still holds the claim (id and claim token), so a sender that lost its lease cannot
overwrite the one that took over.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, Table, and_, case, func, literal, or_, select, tuple_, update
from sqlalchemy.orm import Session

from crm_common.timestamps import UtcDateTime
from notify.models import Reminder, SmsMessage

EVENT_COLUMNS = (
    SmsMessage.id,
    SmsMessage.reminder_id,
    SmsMessage.recipient_id,
    SmsMessage.to,
    SmsMessage.provider,
    SmsMessage.provider_id,
    SmsMessage.status,
    SmsMessage.provider_status,
    SmsMessage.attempts,
    SmsMessage.last_error,
    SmsMessage.next_attempt_at,
)
_log_table = cast(Table, SmsMessage.__table__)
_returned = tuple(_log_table.c[column.key] for column in EVENT_COLUMNS)


class DeliveryStore:
    @property
    def session(self) -> Session:
        raise NotImplementedError  # Store gives the unit's session

    def add_sms(self, **columns: Any) -> SmsMessage:
        """A new row of the SMS log (the columns of ``notify.models.SmsMessage``)."""
        row = SmsMessage(**columns)
        self.session.add(row)
        return row

    def sms_log(
        self, *, status: str | None, reminder_id: int | None, offset: int, limit: int
    ) -> list[SmsMessage]:
        """The SMS log, newest first, optionally by status or reminder."""
        statement = select(SmsMessage)
        if status:
            statement = statement.where(SmsMessage.status == status)
        if reminder_id:
            statement = statement.where(SmsMessage.reminder_id == reminder_id)
        statement = statement.order_by(SmsMessage.id.desc()).offset(offset).limit(limit)
        return list(self.session.scalars(statement))

    def sms_by_provider_id(self, provider_id: str) -> SmsMessage | None:
        return self.session.scalar(select(SmsMessage).where(SmsMessage.provider_id == provider_id))

    def reminder_title(self, reminder_id: int | None) -> str | None:
        if reminder_id is None:
            return None
        return self.session.scalar(select(Reminder.title).where(Reminder.id == reminder_id))

    def claim_sends(self, now: datetime, lease: timedelta, token: str, limit: int) -> list[Row]:
        """Claim up to ``limit`` messages to send now — new intents, retries whose time has come,
        and sends whose sender vanished (lease expired) — for the sender holding ``token``.
        Returns (id, idempotency_key, to, body, attempts, first_attempt_at) of those won."""
        ready = or_(
            and_(SmsMessage.status.in_(("pending", "retrying")), SmsMessage.next_attempt_at <= now),
            and_(SmsMessage.status == "sending", SmsMessage.lease_until < now),
        )
        candidates = select(SmsMessage.id).where(ready).order_by(SmsMessage.id).limit(limit)
        if self.session.get_bind().dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        return list(
            self.session.execute(
                update(SmsMessage)
                .where(SmsMessage.id.in_(candidates), ready)
                .values(
                    status="sending",
                    attempts=SmsMessage.attempts + 1,
                    lease_until=now + lease,
                    claim_token=token,
                    first_attempt_at=func.coalesce(SmsMessage.first_attempt_at, now),
                    next_attempt_at=None,
                    updated_at=now,
                )
                .returning(
                    SmsMessage.id,
                    SmsMessage.idempotency_key,
                    SmsMessage.to,
                    SmsMessage.body,
                    SmsMessage.attempts,
                    SmsMessage.first_attempt_at,
                )
                .execution_options(synchronize_session=False)
            ).all()
        )

    def record_sends(self, sent: Sequence[dict[str, Any]], provider: str) -> list[Row]:
        """One UPDATE for every message the provider took (``sent``: sms_id, token, provider_id,
        provider_status, at), each only while its claim holds; returns the rows recorded
        (EVENT_COLUMNS)."""
        table = _log_table
        by_id = {entry["sms_id"]: entry for entry in sent}

        def per_row(key: str, kind: Any = None) -> Any:
            return case(
                {
                    sms_id: literal(entry[key], kind) if kind else entry[key]
                    for sms_id, entry in by_id.items()
                },
                value=table.c.id,
            )

        return list(
            self.session.execute(
                update(table)
                .where(
                    tuple_(table.c.id, table.c.claim_token).in_([(e["sms_id"], e["token"]) for e in sent]),
                    table.c.status == "sending",
                )
                .values(
                    status="sent",
                    provider=provider,
                    provider_id=per_row("provider_id"),
                    provider_status=per_row("provider_status"),
                    sent_at=per_row("at", UtcDateTime),
                    updated_at=per_row("at", UtcDateTime),
                    lease_until=None,
                    last_error=None,
                    error_code=None,
                )
                .returning(*_returned)
            ).all()
        )

    def record_attempt(self, sms_id: int, token: str, values: dict[str, Any]) -> Row | None:
        """Set ``values`` on a message while its claim (``token``) holds and release the lease;
        None when the claim was lost."""
        table = _log_table
        return self.session.execute(
            update(table)
            .where(table.c.id == sms_id, table.c.claim_token == token, table.c.status == "sending")
            .values(lease_until=None, **values)
            .returning(*_returned)
        ).first()
