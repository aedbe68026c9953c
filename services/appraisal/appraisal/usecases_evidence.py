"""Evidence learnt from other services' events: one row per person and event, with the event's id
and a reference (deal, customer, reminder, alarm answer, entry) so every number drills down; and
pipeline's targets. The appraisal asks no other service: what it knows came on the bus."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from appraisal.constants import MAX_ID, Kind
from appraisal.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Spec:
    """How one event becomes one evidence row: which data field names the person, the reference …"""

    kind: Kind
    person: str
    ref: str
    related: str | None = None
    amount: str | None = None
    label: str | None = None
    flag: str | None = None  # a field whose presence (not null) sets ``flag``
    flag_true: str | None = None  # a field whose value true sets ``flag``
    not_same_as: str | None = None  # no evidence when the person is also this field (own alarm)
    at: str | None = None  # a field with the moment it happened (default: the envelope's occurred_at)
    optional: bool = False  # a second row of the event: left out silently without its person
    team: bool = True  # the event's ``team`` is the person's (not for a row crediting another)


SPECS: dict[tuple[str, str], tuple[Spec, ...]] = {
    ("pipeline", "opportunity_won"): (
        Spec(Kind.DEAL_WON, "owner_id", "opportunity_id", amount="amount", label="reason"),
    ),
    ("pipeline", "opportunity_lost"): (Spec(Kind.DEAL_LOST, "owner_id", "opportunity_id", label="reason"),),
    ("customers", "customer_created"): (
        Spec(Kind.CUSTOMER_CREATED, "owner_id", "customer_id", label="name"),
    ),
    ("customers", "followup_recorded"): (
        Spec(
            Kind.FOLLOWUP,
            "recorded_by",
            "followup_id",
            related="customer_id",
            label="kind",
            flag_true="on_time",
            at="occurred_at",
        ),
    ),
    ("notify", "reminder_due"): (Spec(Kind.REMINDER_DUE, "owner_id", "reminder_id", label="title"),),
    ("notify", "reminder_escalated"): (Spec(Kind.REMINDER_ESCALATED, "owner_id", "reminder_id"),),
    ("notify", "reminder_acknowledged"): (
        Spec(
            Kind.REMINDER_ACKNOWLEDGED,
            "owner_id",
            "reminder_id",
            label="title",
            flag_true="before_escalation",
            at="acknowledged_at",
        ),
    ),
    ("knowledge", "alarm_raised"): (Spec(Kind.ALARM_RAISED, "raised_by", "alarm_id", label="title"),),
    ("knowledge", "alarm_answered"): (
        Spec(Kind.ANSWER, "answered_by", "answer_id", related="alarm_id", not_same_as="raised_by"),
    ),
    ("knowledge", "alarm_resolved"): (
        Spec(Kind.ALARM_RESOLVED, "raised_by", "answer_id", related="alarm_id"),
        # the accepted answer's author (events before knowledge named them carry none)
        Spec(
            Kind.ANSWER_ACCEPTED,
            "answered_by",
            "answer_id",
            related="alarm_id",
            not_same_as="raised_by",
            optional=True,
        ),
    ),
    ("knowledge", "entry_published"): (
        Spec(Kind.ENTRY_PUBLISHED, "author_id", "entry_id", label="title", flag="alarm_id"),
    ),
    ("knowledge", "entry_voted"): (
        Spec(
            Kind.ENTRY_VOTED,
            "voter_id",
            "entry_id",
            related="author_id",
            label="title",
            not_same_as="author_id",
            at="voted_at",
            team=False,
        ),
    ),
    ("knowledge", "entry_read"): (
        Spec(
            Kind.ENTRY_READ,
            "reader_id",
            "entry_id",
            related="author_id",
            label="title",
            flag_true="pinned",
            not_same_as="author_id",
            team=False,
        ),
    ),
}


def _id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID else None


def _amount(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and abs(amount) < Decimal("1e12") else None


def _moment(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def record(store: Store, source: str, event: Mapping[str, Any], *, zone: ZoneInfo) -> bool:
    """Store the evidence ``event`` carries (one row per spec of its type); False when it carries
    none for anyone (an answer to one's own alarm) or cannot be read (logged: retrying would not
    help)."""
    added = False
    for spec in SPECS[(source, event["event_type"])]:
        added = _record_one(store, source, event, spec, zone) or added
    return added


def _record_one(store: Store, source: str, event: Mapping[str, Any], spec: Spec, zone: ZoneInfo) -> bool:
    data = event.get("data") or {}
    person, ref = _id(data.get(spec.person)), _id(data.get(spec.ref))
    if person is None or ref is None:
        if not (spec.optional and data.get(spec.person) is None):
            log.error(
                "%s.%s without %s/%s: %s",
                source,
                event["event_type"],
                spec.person,
                spec.ref,
                event["event_id"],
            )
        return False
    if spec.not_same_as is not None and data.get(spec.not_same_as) == person:
        return False
    amount = None
    if spec.amount is not None:
        amount = _amount(data.get(spec.amount))
        if amount is None:
            log.error(
                "%s.%s with amount %r: %s",
                source,
                event["event_type"],
                data.get(spec.amount),
                event["event_id"],
            )
            return False
    # the envelope schema checked occurred_at; a moment in the data must carry its offset
    occurred_at = _moment(data.get(spec.at) if spec.at else event["occurred_at"])
    if occurred_at is None:
        log.error(
            "%s.%s with %s %r: %s", source, event["event_type"], spec.at, data.get(spec.at), event["event_id"]
        )
        return False
    team = data.get("team") if spec.team else None
    label = data.get(spec.label) if spec.label else None
    flag = (spec.flag is not None and data.get(spec.flag) is not None) or (
        spec.flag_true is not None and data.get(spec.flag_true) is True
    )
    return store.add_evidence(
        person_id=person,
        team=team if isinstance(team, str) and team else None,
        kind=str(spec.kind),
        day=occurred_at.astimezone(zone).date(),
        occurred_at=occurred_at,
        ref_id=ref,
        related_id=_id(data.get(spec.related)) if spec.related else None,
        amount=amount,
        flag=flag,
        label=label[:200] if isinstance(label, str) else None,
        source_event_id=event["event_id"],
    )


def record_target(store: Store, event: Mapping[str, Any]) -> bool:
    """pipeline's ``target_set``: a salesperson's (``owner_id``) or a team's (``owner_id`` null)
    target for a month or quarter; the newest wins."""
    data = event.get("data") or {}
    owner, team, period = data.get("owner_id"), data.get("team"), data.get("period")
    amount = _amount(data.get("amount"))
    if owner is not None:
        subject = f"user:{_id(owner)}" if _id(owner) is not None else None
    else:
        subject = f"team:{team}" if isinstance(team, str) and team else None
    if subject is None or not isinstance(period, str) or len(period) > 8 or amount is None:
        log.error("pipeline.target_set that cannot be read: %s", event["event_id"])
        return False
    store.put_target(
        subject, period, amount, datetime.fromisoformat(str(event["occurred_at"])), event["event_id"]
    )
    return True
