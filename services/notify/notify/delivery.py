"""Sending SMS exactly once over a provider that has no idempotency key.

Every message is a row of the SMS log before the provider hears of it (the intent). A sender
claims it — status ``sending``, attempts + 1, a lease, committed — and only then calls the
provider. If a previous attempt may have reached the provider (a timeout, a 5xx, or a crash
that left an expired lease), the sender first asks the provider for a message it already took
(``find_sent``) and records that one instead of sending again. Temporary failures are retried
with backoff by writing the next attempt's time on the row: no greenthread sleeps on it, and a
restart loses nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, literal, or_, select, tuple_, update
from sqlalchemy.orm import Session

from crm_common.db import UnitOfWork
from crm_common.timestamps import UtcDateTime
from notify import domain
from notify.inbox import notify_user
from notify.models import Reminder, SmsMessage
from notify.sms import SmsRejected, SmsResult, SmsTemporaryFailure

if TYPE_CHECKING:
    from notify.dependencies import NotifySettings, OutcomeQueue, SenderPool, SmsChannel, TransactionFactory

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    """One claimed send, as the sender greenthread needs it after the claim has committed."""

    sms_id: int
    key: str
    to: str
    body: str
    attempt: int
    first_attempt_at: datetime
    token: str


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


def sms_event(row: Any) -> dict[str, Any]:
    """The payload of sms_sent / sms_failed, from a log row (or a RETURNING row of it)."""
    return {
        "sms_id": row.id,
        "reminder_id": row.reminder_id,
        "recipient_id": row.recipient_id,
        "to": row.to,
        "provider": row.provider,
        "provider_id": row.provider_id,
        "status": row.status,
        "provider_status": row.provider_status,
        "attempts": row.attempts,
        "error": row.last_error,
    }


def record_failure(unit: UnitOfWork, row: Any, reminder_title: str | None, now: datetime) -> None:
    """An SMS that will not go out: ``sms_failed``, and the recipient hears of it in the app."""
    unit.emit_many("sms_failed", [sms_event(row)])
    if row.recipient_id is None:
        return
    title, body = domain.sms_failed_notice(reminder_title, row.last_error)
    notify_user(
        unit.session,
        user_id=row.recipient_id,
        kind="sms_failed",
        title=title,
        body=body,
        dedupe_key=f"sms_failed:{row.id}",
        now=now,
        reminder_id=row.reminder_id,
        subject=("sms", row.id),
    )


def _reminder_title(session: Session, row: Any) -> str | None:
    if row.reminder_id is None:
        return None
    return session.scalar(select(Reminder.title).where(Reminder.id == row.reminder_id))


def claim_ready(
    transactions: TransactionFactory, now: datetime, settings: NotifySettings, limit: int
) -> list[Attempt]:
    """Claim up to ``limit`` messages to send now: new intents, retries whose time has come, and
    sends whose sender vanished (lease expired)."""
    ready = or_(
        and_(SmsMessage.status.in_(("pending", "retrying")), SmsMessage.next_attempt_at <= now),
        and_(SmsMessage.status == "sending", SmsMessage.lease_until < now),
    )
    with transactions() as unit:
        token = str(uuid.uuid4())
        candidates = select(SmsMessage.id).where(ready).order_by(SmsMessage.id).limit(limit)
        if transactions.dialect == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        claimed = unit.session.execute(
            update(SmsMessage)
            .where(SmsMessage.id.in_(candidates), ready)
            .values(
                status="sending",
                attempts=SmsMessage.attempts + 1,
                lease_until=now + settings.sms_lease,
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
        return [
            Attempt(
                row.id, row.idempotency_key, row.to or "", row.body, row.attempts, row.first_attempt_at, token
            )
            for row in claimed
        ]


def send_ready(
    senders: SenderPool,
    sms: SmsChannel,
    transactions: TransactionFactory,
    clock: Any,
    settings: NotifySettings,
    drain: bool = True,
) -> int:
    """Claim ready messages a pool's worth at a time and hand each to a sender greenthread.

    ``drain``: go on until none is ready; spawning waits for a free sender, so a claim waits
    at most for the sends ahead of it (well inside its lease). Without it, claim only what
    idle senders can take at once and return.
    """
    sent = 0
    while True:
        limit = senders.size if drain else senders.free()
        attempts = claim_ready(transactions, clock.now(), settings, limit) if limit else []
        for attempt in attempts:
            senders.spawn(deliver, attempt, sms, senders.outcomes, clock, settings)
        sent += len(attempts)
        if not attempts or not drain:
            return sent


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to, waiting to be written to the log."""

    attempt: Attempt
    decision: domain.SmsDecision
    result: SmsResult | None
    error: str | None
    code: int | None
    provider: str
    at: datetime

    def values(self) -> dict[str, Any]:
        """The log columns this outcome sets."""
        if self.decision.step == domain.SmsStep.SENT and self.result is not None:
            return {
                "status": "sent",
                "provider_id": self.result.provider_id,
                "provider_status": self.result.status,
                "sent_at": self.at,
                "last_error": None,
                "error_code": None,
            }
        if self.decision.step == domain.SmsStep.RETRY:
            return {
                "status": "retrying",
                "next_attempt_at": self.at + timedelta(seconds=self.decision.delay or 0),
                "last_error": self.error,
                "error_code": self.code,
            }
        return {"status": "failed", "last_error": self.error, "error_code": self.code}


def deliver(
    attempt: Attempt,
    sms: SmsChannel,
    outcomes: OutcomeQueue,
    clock: Any,
    settings: NotifySettings,
) -> None:
    """One attempt: reconcile if an earlier attempt may have reached the provider, else send;
    then hand the outcome to the recorder."""
    result: SmsResult | None = None
    reconciled = False
    error: str | None = None
    code: int | None = None
    try:
        if attempt.attempt > 1:
            result = sms.find_sent(attempt.key, attempt.to, attempt.first_attempt_at, attempt.body)
            reconciled = result is not None
        if result is None:
            result = sms.send(attempt.to, attempt.body, attempt.key)
        outcome = domain.SmsOutcome.SENT
    except SmsRejected as exc:
        outcome, error, code = domain.SmsOutcome.REJECTED, exc.message, exc.code or exc.http_status
    except SmsTemporaryFailure as exc:
        outcome, error, code = domain.SmsOutcome.TEMPORARY, exc.message, exc.code or exc.http_status
    decision = domain.decide_after_attempt(outcome, attempt.attempt, settings.sms_retry_delays)
    if reconciled:
        log.info("SMS %s was already taken by the provider: recorded, not sent again", attempt.key)
    outcomes.put(Outcome(attempt, decision, result, error, code, sms.provider_name, clock.now()))


def record_outcomes(transactions: TransactionFactory, outcomes: Sequence[Outcome]) -> None:
    """Write a batch of outcomes in one transaction, each only if its sender still holds the
    claim (a claim lost to an expired lease is left to the sender that took over, which
    reconciles before sending); then ``sms_sent`` / ``sms_failed`` for them."""
    sent = [outcome for outcome in outcomes if outcome.values()["status"] == "sent"]
    with transactions() as unit:
        recorded = _record_sent(unit.session, sent) if sent else []
        for outcome in outcomes:
            if outcome.values()["status"] != "sent":
                row = _record_one(unit.session, outcome)
                if row is not None and row.status == "failed":
                    record_failure(unit, row, _reminder_title(unit.session, row), outcome.at)
                elif row is not None:
                    log.info(
                        "SMS %s: attempt %s failed (%s); retry at %s",
                        outcome.attempt.key,
                        outcome.attempt.attempt,
                        outcome.error,
                        row.next_attempt_at,
                    )
        unit.emit_many("sms_sent", [sms_event(row) for row in recorded])
    lost = {outcome.attempt.sms_id for outcome in sent} - {row.id for row in recorded}
    if lost:
        log.warning("SMS %s: lost the claim before recording the send", sorted(lost))


_log_table = SmsMessage.__table__
_returned = tuple(_log_table.c[column.key] for column in EVENT_COLUMNS)


def _record_sent(session: Session, sent: Sequence[Outcome]) -> list[Any]:
    """One UPDATE for every message the provider took, keyed by (id, claim token)."""
    table = _log_table
    results = {outcome.attempt.sms_id: outcome for outcome in sent}

    def per_row(value: Any, kind: Any = None) -> Any:
        return case(
            {
                sms_id: literal(value(outcome), kind) if kind else value(outcome)
                for sms_id, outcome in results.items()
            },
            value=table.c.id,
        )

    return session.execute(
        update(table)
        .where(
            tuple_(table.c.id, table.c.claim_token).in_([(o.attempt.sms_id, o.attempt.token) for o in sent]),
            table.c.status == "sending",
        )
        .values(
            status="sent",
            provider=sent[0].provider,
            provider_id=per_row(lambda outcome: outcome.result.provider_id),
            provider_status=per_row(lambda outcome: outcome.result.status),
            sent_at=per_row(lambda outcome: outcome.at, UtcDateTime),
            updated_at=per_row(lambda outcome: outcome.at, UtcDateTime),
            lease_until=None,
            last_error=None,
            error_code=None,
        )
        .returning(*_returned)
    ).all()


def _record_one(session: Session, outcome: Outcome) -> Any:
    table, attempt = _log_table, outcome.attempt
    row = session.execute(
        update(table)
        .where(
            table.c.id == attempt.sms_id, table.c.claim_token == attempt.token, table.c.status == "sending"
        )
        .values(lease_until=None, updated_at=outcome.at, provider=outcome.provider, **outcome.values())
        .returning(*_returned)
    ).first()
    if row is None:
        log.warning("SMS %s: lost the claim before recording attempt %s", attempt.key, attempt.attempt)
    return row


def record_delivery_status(unit: UnitOfWork, status: dict[str, Any], now: datetime) -> bool:
    """Apply a provider status callback to the SMS log; False for a message notify never sent."""
    session = unit.session
    row = session.scalar(select(SmsMessage).where(SmsMessage.provider_id == status["MessageSid"]))
    if row is None:
        return False
    previous = row.provider_status
    row.provider_status = domain.advance_delivery_status(previous, status["MessageStatus"])
    row.updated_at = now
    code = status.get("ErrorCode")
    if code and str(code).isdigit():
        row.error_code = int(code)
    if row.provider_status != previous and row.provider_status in domain.DELIVERY_FAILURES:
        row.last_error = f"the carrier reported {row.provider_status}"
        record_failure(unit, row, _reminder_title(session, row), now)
    return True


def sms_view(row: SmsMessage, timezone: str) -> dict[str, Any]:
    def local(moment: datetime | None) -> datetime | None:
        return domain.to_local(moment, timezone) if moment is not None else None

    return {
        "id": row.id,
        "reminder_id": row.reminder_id,
        "recipient_id": row.recipient_id,
        "to": row.to,
        "body": row.body,
        "status": row.status,
        "provider": row.provider,
        "provider_id": row.provider_id,
        "provider_status": row.provider_status,
        "attempts": row.attempts,
        "next_attempt_at": local(row.next_attempt_at),
        "last_error": row.last_error,
        "error_code": row.error_code,
        "created_at": local(row.created_at),
        "sent_at": local(row.sent_at),
        "updated_at": local(row.updated_at),
    }


def list_sms(session: Session, query: dict[str, Any]) -> list[SmsMessage]:
    """The SMS log, newest first, optionally by status or reminder."""
    statement = select(SmsMessage)
    if query.get("status"):
        statement = statement.where(SmsMessage.status == query["status"])
    if query.get("reminder_id"):
        statement = statement.where(SmsMessage.reminder_id == query["reminder_id"])
    statement = statement.order_by(SmsMessage.id.desc()).offset(query["offset"]).limit(query["limit"])
    return list(session.scalars(statement))
