"""Business rules of the notify service: errors, time, reminders.

Plain Python only: no nameko, no SQLAlchemy, no clock. Every rule that depends on time takes
``now`` / ``today`` as an argument, so tests never sleep and several instances agree. The other
areas' rules: ``domain_sms`` (SMS text, retries, delivery reports), ``domain_birthdays``
(birthdays and revisits), ``domain_notices`` (manager notices).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from crm_common.localtime import DEFAULT_TIMEZONE
from notify.constants import (
    DEFAULT_ESCALATE_AFTER_MINUTES,
    MAX_ESCALATE_AFTER_MINUTES,
    MIN_ESCALATE_AFTER_MINUTES,
    ReminderStatus,
)

DEFAULT_TZ = DEFAULT_TIMEZONE
LATE_GRACE = timedelta(seconds=60)
MINUTE = timedelta(minutes=1)


# --------------------------------------------------------------------------- errors


class NotifyRuleError(ValueError):
    """A business rule of notify was broken; ``code`` is stable and safe to show to API clients."""

    code = "notify_rule_broken"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ReminderClosed(NotifyRuleError):
    code = "reminder_closed"


class NotOwner(NotifyRuleError):
    code = "not_owner"


class InvalidEscalateAfter(NotifyRuleError):
    code = "invalid_escalate_after"


class InvalidBirthday(NotifyRuleError):
    code = "invalid_birthday"


class InvalidEventPayload(NotifyRuleError):
    code = "invalid_event_payload"


# --------------------------------------------------------------------------- time


def as_utc(moment: datetime) -> datetime:
    """Return ``moment`` as an aware UTC datetime.

    Naive values are read as UTC: that is how the service stores them and how SQLite hands
    them back. User input is refused without an offset (the schemas' ``DueAt``).
    """
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def to_local(dt_utc: datetime, tz: str = DEFAULT_TZ) -> datetime:
    """Return the instant ``dt_utc`` as an aware datetime in zone ``tz`` (naive means UTC).

    Raises ``zoneinfo.ZoneInfoNotFoundError`` (a ``KeyError``) for an unknown zone name.
    """
    return as_utc(dt_utc).astimezone(ZoneInfo(tz))


def local_time_to_utc(day: date, at: time, tz: str = DEFAULT_TZ) -> datetime:
    """Return the UTC instant of wall-clock ``at`` on ``day`` in zone ``tz`` (e.g. 09:00 in Shanghai)."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def resolve_escalate_after(requested: object, owner_setting: int | None = None) -> int:
    """Return the minutes after which an unacknowledged due reminder goes out by SMS.

    ``requested`` is the per-reminder value: an int from 1 to 1440, or None to use the owner's
    setting (``owner_setting``), or the default of 10 when the owner has none.
    Raises :class:`InvalidEscalateAfter` for anything else (floats, bools, text, out of range).
    """
    if requested is None:
        return owner_setting if owner_setting is not None else DEFAULT_ESCALATE_AFTER_MINUTES
    # bool is an int in Python, but `true` minutes is a client bug
    if isinstance(requested, bool) or not isinstance(requested, int):
        raise InvalidEscalateAfter(
            "escalate_after_minutes must be a whole number of minutes", value=repr(requested)
        )
    if not MIN_ESCALATE_AFTER_MINUTES <= requested <= MAX_ESCALATE_AFTER_MINUTES:
        raise InvalidEscalateAfter(
            f"escalate_after_minutes must be between {MIN_ESCALATE_AFTER_MINUTES} "
            f"and {MAX_ESCALATE_AFTER_MINUTES}",
            value=requested,
        )
    return requested


# --------------------------------------------------------------------------- reminders


@dataclass(frozen=True)
class Reminder:
    """A reminder of one salesperson. Times are UTC; ``late`` marks a reminder fired after downtime."""

    id: int | str | None
    owner_id: int | str
    title: str
    content: str
    due_at: datetime
    escalate_after_minutes: int = DEFAULT_ESCALATE_AFTER_MINUTES
    status: str = ReminderStatus.PENDING
    customer_id: int | str | None = None
    fired_at: datetime | None = None
    late: bool = False
    acknowledged_at: datetime | None = None
    escalated_at: datetime | None = None
    cancelled_at: datetime | None = None

    @classmethod
    def from_attributes(cls, source: object) -> Reminder:
        """Build a Reminder from any object carrying the same attribute names (e.g. an ORM row)."""
        values = {
            field.name: getattr(source, field.name)
            for field in dataclasses.fields(cls)
            if hasattr(source, field.name)
        }
        return cls(**values)


def escalation_at(due_at: datetime, escalate_after_minutes: int, minute: timedelta = MINUTE) -> datetime:
    """Return the UTC instant at which a still unacknowledged reminder goes out by SMS.

    ``minute`` is how long one escalation minute lasts: a real minute, except in tests and
    benchmarks that shorten it.
    """
    return as_utc(due_at) + escalate_after_minutes * minute


def is_late(due_at: datetime, fired_at: datetime, grace: timedelta = LATE_GRACE) -> bool:
    """True when a reminder fired more than ``grace`` after its due time (notify was down or behind)."""
    return as_utc(fired_at) - as_utc(due_at) > grace


def _require_owner(reminder: Reminder, user_id: int | str) -> None:
    # ids arrive as ints from the database and as strings from JWT context data
    if str(reminder.owner_id) != str(user_id):
        raise NotOwner(
            "only the owner of a reminder may change it",
            reminder_id=reminder.id,
        )


def acknowledge(reminder: Reminder, user_id: int | str, now: datetime) -> Reminder:
    """Acknowledge a reminder for its owner; no SMS goes out afterwards.

    Allowed while pending (seen early), due, or escalated (SMS already sent; ``escalated_at`` is
    kept). Acknowledging twice returns the reminder unchanged. Raises :class:`NotOwner` for
    anyone but the owner and :class:`ReminderClosed` for a cancelled reminder.
    """
    _require_owner(reminder, user_id)
    if reminder.status == ReminderStatus.ACKNOWLEDGED:
        return reminder
    if reminder.status == ReminderStatus.CANCELLED:
        raise ReminderClosed("reminder was cancelled", reminder_id=reminder.id)
    return dataclasses.replace(reminder, status=ReminderStatus.ACKNOWLEDGED, acknowledged_at=as_utc(now))


def cancel(reminder: Reminder, user_id: int | str, now: datetime) -> Reminder:
    """Cancel a pending or due reminder for its owner; cancelling twice changes nothing.

    Raises :class:`NotOwner` for anyone but the owner, :class:`ReminderClosed` once it was
    acknowledged or escalated (its history stays as it happened).
    """
    _require_owner(reminder, user_id)
    if reminder.status == ReminderStatus.CANCELLED:
        return reminder
    if reminder.status not in (ReminderStatus.PENDING, ReminderStatus.DUE):
        raise ReminderClosed(
            "only pending or due reminders can be cancelled",
            reminder_id=reminder.id,
            status=str(reminder.status),
        )
    return dataclasses.replace(reminder, status=ReminderStatus.CANCELLED, cancelled_at=as_utc(now))
