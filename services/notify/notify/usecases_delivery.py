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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from crm_common.db import TransactionFactory
from notify import domain, domain_sms
from notify.sms import SmsRejected, SmsResult, SmsTemporaryFailure
from notify.store import Store

if TYPE_CHECKING:
    from notify.dependencies import NotifySettings, OutcomeQueue, SenderPool, SmsChannel

log = logging.getLogger(__name__)


class FailureStore(Protocol):
    def emit_many(self, event_type: str, facts: Iterable[dict[str, Any]]) -> list[dict]: ...
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
    ) -> Any: ...


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


def record_failure(store: FailureStore, row: Any, reminder_title: str | None, now: datetime) -> None:
    """An SMS that will not go out: ``sms_failed``, and the recipient hears of it in the app."""
    store.emit_many("sms_failed", [sms_event(row)])
    if row.recipient_id is None:
        return
    title, body = domain_sms.sms_failed_notice(reminder_title, row.last_error)
    store.add_notification(
        user_id=row.recipient_id,
        kind="sms_failed",
        title=title,
        body=body,
        dedupe_key=f"sms_failed:{row.id}",
        now=now,
        reminder_id=row.reminder_id,
        subject=("sms", row.id),
    )


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


def claim_ready(
    transactions: TransactionFactory, now: datetime, settings: NotifySettings, limit: int
) -> list[Attempt]:
    """Claim up to ``limit`` messages to send now: new intents, retries whose time has come, and
    sends whose sender vanished (lease expired)."""
    with transactions() as unit:
        token = str(uuid.uuid4())
        claimed = Store(unit).claim_sends(now, settings.sms_lease, token, limit)
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
    decision: domain_sms.SmsDecision
    result: SmsResult | None
    error: str | None
    code: int | None
    provider: str
    at: datetime

    def values(self) -> dict[str, Any]:
        """The log columns this outcome sets."""
        if self.decision.step == domain_sms.SmsStep.SENT and self.result is not None:
            return {
                "status": "sent",
                "provider_id": self.result.provider_id,
                "provider_status": self.result.status,
                "sent_at": self.at,
                "last_error": None,
                "error_code": None,
            }
        if self.decision.step == domain_sms.SmsStep.RETRY:
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
        outcome = domain_sms.SmsOutcome.SENT
    except SmsRejected as exc:
        outcome, error, code = domain_sms.SmsOutcome.REJECTED, exc.message, exc.code or exc.http_status
    except SmsTemporaryFailure as exc:
        outcome, error, code = domain_sms.SmsOutcome.TEMPORARY, exc.message, exc.code or exc.http_status
    decision = domain_sms.decide_after_attempt(outcome, attempt.attempt, settings.sms_retry_delays)
    if reconciled:
        log.info("SMS %s was already taken by the provider: recorded, not sent again", attempt.key)
    outcomes.put(Outcome(attempt, decision, result, error, code, sms.provider_name, clock.now()))


def record_outcomes(transactions: TransactionFactory, outcomes: Sequence[Outcome]) -> None:
    """Write a batch of outcomes in one transaction, each only if its sender still holds the
    claim (a claim lost to an expired lease is left to the sender that took over, which
    reconciles before sending); then ``sms_sent`` / ``sms_failed`` for them."""
    sent = [outcome for outcome in outcomes if outcome.values()["status"] == "sent"]
    with transactions() as unit:
        store = Store(unit)
        recorded = (
            store.record_sends([_sent_entry(outcome) for outcome in sent], sent[0].provider) if sent else []
        )
        for outcome in outcomes:
            if outcome.values()["status"] != "sent":
                row = _record_one(store, outcome)
                if row is not None and row.status == "failed":
                    record_failure(store, row, store.reminder_title(row.reminder_id), outcome.at)
                elif row is not None:
                    log.info(
                        "SMS %s: attempt %s failed (%s); retry at %s",
                        outcome.attempt.key,
                        outcome.attempt.attempt,
                        outcome.error,
                        row.next_attempt_at,
                    )
        store.emit_many("sms_sent", [sms_event(row) for row in recorded])
    lost = {outcome.attempt.sms_id for outcome in sent} - {row.id for row in recorded}
    if lost:
        log.warning("SMS %s: lost the claim before recording the send", sorted(lost))


def _sent_entry(outcome: Outcome) -> dict[str, Any]:
    assert outcome.result is not None
    return {
        "sms_id": outcome.attempt.sms_id,
        "token": outcome.attempt.token,
        "provider_id": outcome.result.provider_id,
        "provider_status": outcome.result.status,
        "at": outcome.at,
    }


def _record_one(store: Store, outcome: Outcome) -> Any:
    attempt = outcome.attempt
    values = {"updated_at": outcome.at, "provider": outcome.provider, **outcome.values()}
    row = store.record_attempt(attempt.sms_id, attempt.token, values)
    if row is None:
        log.warning("SMS %s: lost the claim before recording attempt %s", attempt.key, attempt.attempt)
    return row


def record_delivery_status(store: Any, status: dict[str, Any], now: datetime) -> bool:
    """Apply a provider status callback to the SMS log; False for a message notify never sent."""
    row = store.sms_by_provider_id(status["MessageSid"])
    if row is None:
        return False
    previous = row.provider_status
    row.provider_status = domain_sms.advance_delivery_status(previous, status["MessageStatus"])
    row.updated_at = now
    code = status.get("ErrorCode")
    if code and str(code).isdigit():
        row.error_code = int(code)
    if row.provider_status != previous and row.provider_status in domain_sms.DELIVERY_FAILURES:
        row.last_error = f"the carrier reported {row.provider_status}"
        record_failure(store, row, store.reminder_title(row.reminder_id), now)
    return True


def sms_view(row: Any, timezone: str) -> dict[str, Any]:
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


def list_sms(store: Any, query: dict[str, Any], *, timezone: str) -> list[dict[str, Any]]:
    """The SMS log, newest first, optionally by status or reminder (views in ``timezone``)."""
    rows = store.sms_log(
        status=query.get("status") or None,
        reminder_id=query.get("reminder_id") or None,
        offset=query["offset"],
        limit=query["limit"],
    )
    return [sms_view(row, timezone) for row in rows]
