"""Business rules of the notify service: reminders, SMS text, birthdays, revisits, notices.

Plain Python only: no nameko, no SQLAlchemy, no clock. Every rule that depends on time takes
``now`` / ``today`` as an argument, so tests never sleep and several instances agree.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from calendar import isleap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Asia/Shanghai"
DEFAULT_ESCALATE_AFTER_MINUTES = 10
MIN_ESCALATE_AFTER_MINUTES = 1
MAX_ESCALATE_AFTER_MINUTES = 1440
LATE_GRACE = timedelta(seconds=60)
MINUTE = timedelta(minutes=1)
DEFAULT_BIRTHDAY_DAYS_AHEAD = 2
DEFAULT_REVISIT_LEAD = timedelta(hours=24)

SMS_PREFIX = "【销售提醒】"
SMS_ELLIPSIS = "…"
SMS_TIME_FORMAT = "%m-%d %H:%M"


# --------------------------------------------------------------------------- errors


class NotifyRuleError(ValueError):
    """A business rule of notify was broken; ``code`` is stable and safe to show to API clients."""

    code = "notify_rule_broken"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ReminderNotPending(NotifyRuleError):
    code = "reminder_not_pending"


class ReminderNotDue(NotifyRuleError):
    code = "reminder_not_due"


class ReminderClosed(NotifyRuleError):
    code = "reminder_closed"


class EscalationNotYet(NotifyRuleError):
    code = "escalation_not_yet"


class NotOwner(NotifyRuleError):
    code = "not_owner"


class InvalidDueAt(NotifyRuleError):
    code = "invalid_due_at"


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
    them back. For user input use :func:`parse_due_at`, which refuses naive values.
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


def parse_due_at(value: str | datetime) -> datetime:
    """Parse a reminder time given as ISO 8601 with an offset; return it in UTC.

    Raises :class:`InvalidDueAt` for text that is not ISO 8601, or a time without an offset
    (a naive time is ambiguous across the team's zones).
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidDueAt(
                "due_at must be an ISO 8601 date-time with an offset, e.g. 2025-03-01T09:30:00+08:00",
                value=value,
            ) from None
    else:
        raise InvalidDueAt("due_at must be a string", value=repr(value))
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise InvalidDueAt("due_at needs a UTC offset, e.g. +08:00 or Z", value=str(value))
    return moment.astimezone(UTC)


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


class ReminderStatus(StrEnum):
    PENDING = "pending"
    DUE = "due"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    CANCELLED = "cancelled"


class ReminderLike(Protocol):
    """What the timing rules read; an ORM row with these attributes works as well."""

    @property
    def status(self) -> str: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def escalate_after_minutes(self) -> int: ...


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


def is_due(reminder: ReminderLike, now: datetime) -> bool:
    """True when a pending reminder's time has come (``due_at <= now``)."""
    return reminder.status == ReminderStatus.PENDING and as_utc(reminder.due_at) <= as_utc(now)


def escalation_at(due_at: datetime, escalate_after_minutes: int, minute: timedelta = MINUTE) -> datetime:
    """Return the UTC instant at which a still unacknowledged reminder goes out by SMS.

    ``minute`` is how long one escalation minute lasts: a real minute, except in tests and
    benchmarks that shorten it.
    """
    return as_utc(due_at) + escalate_after_minutes * minute


def should_escalate(reminder: ReminderLike, now: datetime, minute: timedelta = MINUTE) -> bool:
    """True when a due reminder is still unacknowledged ``escalate_after_minutes`` after due_at.

    Counted from ``due_at``, not from when it fired: a reminder that fired late because notify
    was down is already overdue, so the SMS must not wait another full period.
    """
    return reminder.status == ReminderStatus.DUE and as_utc(now) >= escalation_at(
        reminder.due_at, reminder.escalate_after_minutes, minute
    )


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


def fire(reminder: Reminder, now: datetime) -> Reminder:
    """Move a pending reminder whose time has come to ``due``; mark it late after downtime.

    Raises :class:`ReminderNotPending` when it is no longer pending (another instance fired it,
    or it was acknowledged or cancelled), :class:`ReminderNotDue` when its time has not come.
    """
    if reminder.status != ReminderStatus.PENDING:
        raise ReminderNotPending(
            "reminder is not pending", reminder_id=reminder.id, status=str(reminder.status)
        )
    if not is_due(reminder, now):
        raise ReminderNotDue("reminder is not due yet", reminder_id=reminder.id)
    fired_at = as_utc(now)
    return dataclasses.replace(
        reminder,
        status=ReminderStatus.DUE,
        fired_at=fired_at,
        late=is_late(reminder.due_at, fired_at),
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


def escalate(reminder: Reminder, now: datetime, minute: timedelta = MINUTE) -> Reminder:
    """Move a due, unacknowledged reminder to ``escalated`` (the SMS is being sent).

    Raises :class:`ReminderNotDue` unless it is due, :class:`EscalationNotYet` before
    :func:`escalation_at`.
    """
    if reminder.status != ReminderStatus.DUE:
        raise ReminderNotDue(
            "only due reminders escalate", reminder_id=reminder.id, status=str(reminder.status)
        )
    if not should_escalate(reminder, now, minute):
        raise EscalationNotYet(
            "escalation time not reached",
            reminder_id=reminder.id,
            escalation_at=escalation_at(reminder.due_at, reminder.escalate_after_minutes, minute).isoformat(),
        )
    return dataclasses.replace(reminder, status=ReminderStatus.ESCALATED, escalated_at=as_utc(now))


# --------------------------------------------------------------------------- SMS text

# GSM 03.38 default alphabet; the escape character itself is not something a user types
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# extension table characters cost two septets (escape + char)
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_CONCAT = 160, 153
UCS2_SINGLE, UCS2_CONCAT = 70, 67


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` fits the GSM-7 alphabet (with its extension table)."""
    return all(char in _GSM7_BASIC or char in _GSM7_EXTENSION for char in text)


def sms_segments(text: str) -> int:
    """Return how many SMS segments Twilio bills for ``text`` (0 for empty text).

    GSM-7: 160 septets alone, 153 per segment when concatenated; extension characters cost 2.
    Otherwise UCS-2: 70 UTF-16 units alone, 67 per segment; an emoji outside the BMP costs 2.
    A two-unit character is never split across segments.
    """
    if not text:
        return 0
    if is_gsm7(text):
        units = [2 if char in _GSM7_EXTENSION else 1 for char in text]
        single, concat = GSM7_SINGLE, GSM7_CONCAT
    else:
        units = [2 if ord(char) > 0xFFFF else 1 for char in text]
        single, concat = UCS2_SINGLE, UCS2_CONCAT
    if sum(units) <= single:
        return 1
    segments, used = 1, 0
    for unit in units:
        if used + unit > concat:
            segments, used = segments + 1, 0
        used += unit
    return segments


_ZWJ = "\u200d"
_KEYCAP = "\u20e3"


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _extends_previous(char: str) -> bool:
    """True for characters that belong to the character before them (marks, modifiers, joiners)."""
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or char in (_ZWJ, _KEYCAP)
        or 0xFE00 <= code <= 0xFE0F  # variation selectors (emoji presentation)
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF  # skin tones
        or 0xE0020 <= code <= 0xE007F  # tag sequences (subdivision flags)
    )


def is_cut_boundary(text: str, index: int) -> bool:
    """True when cutting ``text`` at ``index`` keeps every visible character whole.

    Python strings hold code points, so surrogate pairs are never split; this also keeps
    emoji sequences (ZWJ families, skin tones, flags, keycaps), combining marks and CRLF whole.
    """
    if index <= 0 or index >= len(text):
        return True
    before, after = text[index - 1], text[index]
    if before == "\r" and after == "\n":
        return False
    if before == _ZWJ or _extends_previous(after):
        return False
    if _is_regional_indicator(before) and _is_regional_indicator(after):
        run = 0
        while index - run - 1 >= 0 and _is_regional_indicator(text[index - run - 1]):
            run += 1
        # flags are pairs of regional indicators: an odd run means we are inside a flag
        return run % 2 == 0
    return True


def _longest_fitting_prefix(before: str, text: str, after: str, max_segments: int) -> str | None:
    """Longest cut of ``text`` at a safe boundary such that before+cut+after fits, or None."""

    def fits(length: int) -> bool:
        return sms_segments(before + text[:length] + after) <= max_segments

    if not fits(0):
        return None
    low, high = 0, len(text)
    while low < high:  # segment count only grows as text grows, so bisect
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    while low > 0 and not is_cut_boundary(text, low):
        low -= 1
    return text[:low].rstrip()


def compose_sms(
    title: str,
    due_at_local: datetime | None,
    content: str,
    max_segments: int = 3,
) -> str:
    """Return the Chinese SMS for a reminder: “【销售提醒】{title} {MM-DD HH:MM}：{content}”.

    ``due_at_local`` is shown as given (convert with :func:`to_local` first); None leaves the time
    out (manager notices). When the text would exceed ``max_segments`` segments, the content is
    cut at a character boundary (never inside an emoji) and ends with “…”; the prefix, title and
    time stay whole. Only when the title alone is too long is the title cut, and the content
    dropped. Raises ``ValueError`` when ``max_segments`` is below 1.
    """
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    title = " ".join(title.split())
    content = content.strip()
    when = f" {due_at_local.strftime(SMS_TIME_FORMAT)}" if due_at_local is not None else ""
    head = f"{SMS_PREFIX}{title}{when}"
    full = f"{head}：{content}" if content else head
    if sms_segments(full) <= max_segments:
        return full
    if content:
        kept = _longest_fitting_prefix(f"{head}：", content, SMS_ELLIPSIS, max_segments)
        if kept is not None:
            return f"{head}：{kept}{SMS_ELLIPSIS}"
    kept_title = _longest_fitting_prefix(SMS_PREFIX, title, SMS_ELLIPSIS + when, max_segments)
    if kept_title is None:  # only possible with absurdly small limits; the prefix must stay
        raise ValueError("max_segments too small for the SMS prefix and time")
    return f"{SMS_PREFIX}{kept_title}{SMS_ELLIPSIS}{when}"


# --------------------------------------------------------------------------- birthdays


class AnniversaryKind(StrEnum):
    BIRTHDAY = "birthday"  # the customer's (owner's / contact's) birthday
    FOUNDING = "founding"  # the company's founding day


class BirthdayWatch(Protocol):
    """What the birthday scan reads about a customer (an ORM row with these attributes works)."""

    @property
    def customer_id(self) -> int | str: ...
    @property
    def owner_id(self) -> int | str: ...
    @property
    def customer_name(self) -> str: ...
    @property
    def month(self) -> int: ...
    @property
    def day(self) -> int: ...
    @property
    def last_reminded_year(self) -> int | None: ...


@dataclass(frozen=True)
class WatchedBirthday:
    """A customer's birthday or founding day as notify keeps it."""

    customer_id: int | str
    owner_id: int | str
    customer_name: str
    month: int
    day: int
    last_reminded_year: int | None = None
    kind: str = AnniversaryKind.BIRTHDAY
    person_name: str | None = None


@dataclass(frozen=True)
class BirthdayReminder:
    """A birthday reminder to create today; store ``remind_year`` as the watch's last_reminded_year."""

    customer_id: int | str
    owner_id: int | str
    occurrence: date
    days_until: int
    remind_year: int
    title: str
    content: str


def _check_month_day(month: int, day: int) -> None:
    try:
        date(2000, month, day)  # a leap year, so 29 Feb is valid
    except (TypeError, ValueError):
        raise InvalidBirthday("not a calendar day", month=month, day=day) from None


def parse_birthday(value: object) -> tuple[int, int] | None:
    """Return (month, day) of a birthday given as "MM-DD" or "YYYY-MM-DD" (customers' contract).

    None or empty text means no birthday. Raises :class:`InvalidBirthday` for anything else,
    including days no calendar has (29 Feb is a calendar day).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise InvalidBirthday("birthday must be text like MM-DD or YYYY-MM-DD", value=repr(value))
    parts = value.strip().split("-")
    if len(parts) == 3 and len(parts[0]) == 4:
        parts = parts[1:]
    if len(parts) != 2 or not all(part.isdigit() and 1 <= len(part) <= 2 for part in parts):
        raise InvalidBirthday("birthday must be text like MM-DD or YYYY-MM-DD", value=value)
    month, day = int(parts[0]), int(parts[1])
    _check_month_day(month, day)
    return month, day


def occurrence_in(year: int, month: int, day: int) -> date:
    """Return the anniversary of month/day in ``year``; 29 Feb falls on 28 Feb in non-leap years.

    Raises :class:`InvalidBirthday` for a month/day that is no calendar day.
    """
    _check_month_day(month, day)
    if month == 2 and day == 29 and not isleap(year):
        # 28 Feb rather than 1 Mar: the reminder stays in the birthday's own month
        return date(year, 2, 28)
    return date(year, month, day)


def next_occurrence(month: int, day: int, today: date) -> date:
    """Return the next anniversary of month/day on or after ``today`` (29 Feb → 28 Feb in non-leap years).

    Raises :class:`InvalidBirthday` for a month/day that is no calendar day.
    """
    this_year = occurrence_in(today.year, month, day)
    return this_year if this_year >= today else occurrence_in(today.year + 1, month, day)


def birthday_reminder_date(
    month: int, day: int, today: date, days_ahead: int = DEFAULT_BIRTHDAY_DAYS_AHEAD
) -> date:
    """Return the day to remind for the next anniversary: ``days_ahead`` days before it.

    May lie before ``today`` when the anniversary is closer than ``days_ahead``; the scan
    (:func:`birthdays_to_remind`) then reminds at once. Raises :class:`InvalidBirthday`.
    """
    if days_ahead < 0:
        raise ValueError("days_ahead must not be negative")
    return next_occurrence(month, day, today) - timedelta(days=days_ahead)


def birthday_reminder_text(
    customer_name: str,
    occurrence: date,
    days_until: int,
    kind: str = AnniversaryKind.BIRTHDAY,
    person_name: str | None = None,
) -> tuple[str, str]:
    """Return the Chinese (title, content) of a birthday or founding-day reminder."""
    what = "成立纪念日" if kind == AnniversaryKind.FOUNDING else "生日"
    when = "今天" if days_until == 0 else ("明天" if days_until == 1 else f"{days_until}天后")
    whose = f"{customer_name} {person_name}" if person_name else customer_name
    title = f"{what}提醒：{whose} {occurrence:%m-%d}（{when}）"
    if kind == AnniversaryKind.FOUNDING:
        content = (
            f"客户「{customer_name}」{occurrence.month}月{occurrence.day}日公司成立纪念日，记得致电祝贺。"
        )
    else:
        content = f"客户「{whose}」{occurrence.month}月{occurrence.day}日生日，记得送上祝福。"
    return title, content


def birthdays_to_remind(
    customers: Iterable[BirthdayWatch],
    today: date,
    days_ahead: int = DEFAULT_BIRTHDAY_DAYS_AHEAD,
) -> list[BirthdayReminder]:
    """Decide which customers' owners get a birthday reminder today.

    A customer is due when the next anniversary is at most ``days_ahead`` days away (today
    included) and ``last_reminded_year`` is not that anniversary's year. So a missed daily scan
    still reminds on the next run, and a second run the same day reminds nobody twice.
    Customers with an impossible month/day are skipped.
    """
    if days_ahead < 0:
        raise ValueError("days_ahead must not be negative")
    reminders: list[BirthdayReminder] = []
    for customer in customers:
        try:
            occurrence = next_occurrence(customer.month, customer.day, today)
        except InvalidBirthday:
            continue
        days_until = (occurrence - today).days
        # the anniversary's year, not today's: 30 Dec reminds of a 1 Jan birthday next year
        if days_until > days_ahead or customer.last_reminded_year == occurrence.year:
            continue
        kind = getattr(customer, "kind", AnniversaryKind.BIRTHDAY)
        title, content = birthday_reminder_text(
            customer.customer_name,
            occurrence,
            days_until,
            kind=kind,
            person_name=getattr(customer, "person_name", None),
        )
        reminders.append(
            BirthdayReminder(
                customer_id=customer.customer_id,
                owner_id=customer.owner_id,
                occurrence=occurrence,
                days_until=days_until,
                remind_year=occurrence.year,
                title=title,
                content=content,
            )
        )
    return reminders


# --------------------------------------------------------------------------- revisits


def revisit_reminder_at(
    next_visit_at: datetime,
    lead: timedelta = DEFAULT_REVISIT_LEAD,
    *,
    now: datetime,
) -> datetime | None:
    """Return when to remind the owner of a planned visit (UTC), or None when the visit is past.

    Normally ``lead`` before the visit; when that moment has already passed but the visit has
    not, remind at ``now``. Raises ``ValueError`` for a negative lead.
    """
    if lead < timedelta(0):
        raise ValueError("lead must not be negative")
    visit_at, now_utc = as_utc(next_visit_at), as_utc(now)
    if visit_at <= now_utc:
        return None
    return max(visit_at - lead, now_utc)


def revisit_reminder_text(
    customer_name: str,
    visit_at_local: datetime,
    contact_name: str | None = None,
    contact_title: str | None = None,
) -> tuple[str, str]:
    """Return the Chinese (title, content) of a revisit reminder naming the contact to visit."""
    contact = contact_name or ""
    if contact and contact_title:
        contact = f"{contact}（{contact_title}）"
    who = f"{customer_name} {contact}" if contact else customer_name
    title = f"回访提醒：{who}"
    target = f"「{customer_name}」的{contact}" if contact else f"「{customer_name}」"
    content = f"计划于 {visit_at_local:{SMS_TIME_FORMAT}} 拜访{target}，请提前准备。"
    return title, content


# --------------------------------------------------------------------------- manager notices


@dataclass(frozen=True)
class ManagerNotice:
    """An in-app notification for the team's manager, built from an event."""

    kind: str
    title: str
    body: str
    subject_type: str
    subject_id: int | str | None
    event_id: str | None
    team: str | None = None


_MATCH_REASONS = {
    "name": "公司名称相近",
    "phone": "电话相同",
    "address": "地址相近",
    "contact": "联系人相同",
    "contact_phone": "联系人电话相同",
}


def _event_data(payload: object) -> tuple[Mapping[str, Any], str | None]:
    if not isinstance(payload, Mapping) or not isinstance(payload.get("data"), Mapping):
        raise InvalidEventPayload("event payload needs a 'data' object")
    event_id = payload.get("event_id")
    return payload["data"], str(event_id) if event_id is not None else None


def _first(data: Mapping[str, Any], *keys: str, default: str | None = None) -> Any:
    for key in keys:
        value = data.get(key)
        if value not in (None, ""):
            return value
    return default


def _format_score(score: object) -> str | None:
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        return None
    # scanners report 0–1 or rapidfuzz's 0–100
    percent = score * 100 if score <= 1 else score
    return f"{percent:.0f}%"


def _clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = limit
    while cut > 0 and not is_cut_boundary(text, cut):
        cut -= 1
    return text[:cut].rstrip() + SMS_ELLIPSIS


def alarm_raised_notice(payload: Mapping[str, Any]) -> ManagerNotice:
    """Build the manager's notification for an ``alarm_raised`` event.

    Reads ``data`` keys alarm_id, title, problem, customer_id, customer_name, raised_by_name
    (or owner_name / raised_by), team; all but the envelope's ``data`` may be missing.
    Raises :class:`InvalidEventPayload` when ``data`` is absent.
    """
    data, event_id = _event_data(payload)
    who = _first(data, "raised_by_name", "owner_name", "display_name", "raised_by", default="销售")
    alarm_title = _first(data, "title", default="（无标题）")
    customer = _first(data, "customer_name")
    about = f"（客户「{customer}」）" if customer else ""
    body = f"{who}发起困难报警{about}：{alarm_title}。"
    problem = _first(data, "problem")
    if problem:
        body += f"问题：{_clip(problem, 120)}"
    body += " 请尽快回复或安排同事协助。"
    return ManagerNotice(
        kind="alarm_raised",
        title=f"困难报警：{who}需要帮助",
        body=body,
        subject_type="alarm",
        subject_id=_first(data, "alarm_id", "id"),
        event_id=event_id,
        team=_first(data, "team"),
    )


def duplicate_suspected_notice(payload: Mapping[str, Any]) -> ManagerNotice:
    """Build the manager's notification for a ``customer_duplicate_suspected`` event.

    Reads ``data`` keys customer_id, customer_name|name, owner_name and either a ``matches`` list
    (customer_id, customer_name|name, owner_name|owner, score, matched_on|reason) or the same
    facts flat (duplicate_of_name|matched_customer_name, duplicate_owner_name|matched_owner_name,
    score, reason) as customers' contract sends them.
    Missing optional fields are left out. Raises :class:`InvalidEventPayload` without ``data``.
    """
    data, event_id = _event_data(payload)
    name = _first(data, "customer_name", "name", default="（未命名客户）")
    owner = _first(data, "owner_name", "owner_display_name", "owner")
    matches = data.get("matches")
    match: Mapping[str, Any] = (
        matches[0] if isinstance(matches, list) and matches and isinstance(matches[0], Mapping) else {}
    )
    other_name = _first(match, "customer_name", "name") or _first(
        data, "duplicate_of_name", "matched_customer_name", "existing_customer_name"
    )
    other_owner = _first(match, "owner_name", "owner") or _first(
        data, "duplicate_owner_name", "matched_owner_name", "existing_owner_name"
    )
    score = _format_score(match.get("score", data.get("score")))
    reason = _first(match, "matched_on", "reason") or _first(data, "reason", "matched_on")

    entered = f"{owner}新录入的客户「{name}」" if owner else f"新录入的客户「{name}」"
    body = entered
    if other_name:
        holder = f"{other_owner}名下的" if other_owner else "已有客户"
        body += f"与{holder}「{other_name}」疑似重复"
    else:
        body += "疑似与已有客户重复"
    facts = []
    if score:
        facts.append(f"相似度 {score}")
    if reason:
        facts.append(f"依据：{_MATCH_REASONS.get(str(reason), str(reason))}")
    if facts:
        body += f"（{'，'.join(facts)}）"
    body += "。请核实归属，避免撞单。"
    more = len(matches) - 1 if isinstance(matches, list) and len(matches) > 1 else 0
    if more:
        body += f"另有 {more} 个相似客户。"
    return ManagerNotice(
        kind="customer_duplicate_suspected",
        title=f"疑似重复客户：{name}",
        body=body,
        subject_type="customer",
        subject_id=_first(data, "customer_id", "id"),
        event_id=event_id,
        team=_first(data, "team"),
    )


# --------------------------------------------------------------------------- SMS retry policy


class SmsOutcome(StrEnum):
    SENT = "sent"  # provider accepted the message
    REJECTED = "rejected"  # permanent: bad number, bad credentials; retrying cannot help
    TEMPORARY = "temporary"  # 5xx, rate limit, timeout, no connection: try again later


class SmsStep(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class SmsDecision:
    """What to do after one SMS attempt: record as sent, retry after ``delay`` seconds, or fail."""

    step: SmsStep
    delay: float | None = None
    permanent: bool = False


def backoff_delays(
    attempts: int = 4, base: float = 1.0, factor: float = 2.0, cap: float = 30.0
) -> list[float]:
    """Return the waits in seconds between ``attempts`` tries: attempts − 1 values, base·factorⁿ, capped.

    ``backoff_delays()`` is ``[1.0, 2.0, 4.0]``: try, wait 1 s, try, wait 2 s, try, wait 4 s, try.
    Raises ``ValueError`` for fewer than one attempt or negative numbers.
    """
    if attempts < 1 or base < 0 or factor < 1 or cap < 0:
        raise ValueError("attempts >= 1, base >= 0, factor >= 1 and cap >= 0 required")
    return [min(cap, base * factor**retry) for retry in range(attempts - 1)]


def classify_provider_status(http_status: int | None) -> SmsOutcome:
    """Classify a provider response; None means no response at all (timeout, connection error).

    2xx → sent; 408 and 429 (timeout, rate limit) → temporary; other 4xx → rejected for good
    (bad number); 5xx, no response and anything unexpected → temporary.
    """
    if http_status is None:
        return SmsOutcome.TEMPORARY
    if 200 <= http_status < 300:
        return SmsOutcome.SENT
    if http_status in (408, 429):
        return SmsOutcome.TEMPORARY
    if 400 <= http_status < 500:
        return SmsOutcome.REJECTED
    return SmsOutcome.TEMPORARY


def decide_after_attempt(outcome: SmsOutcome, attempt: int, delays: list[float]) -> SmsDecision:
    """Decide the next step after try number ``attempt`` (1-based) given ``delays`` from :func:`backoff_delays`.

    Sent → SENT. Rejected → FAILED (permanent, no retry). Temporary → RETRY with the next
    delay while one is left, then FAILED (not permanent: the provider might recover).
    Before retrying a temporary failure the caller reconciles with the provider
    (``find_sent``), since a timeout may hide an accepted message.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    if outcome == SmsOutcome.SENT:
        return SmsDecision(SmsStep.SENT)
    if outcome == SmsOutcome.REJECTED:
        return SmsDecision(SmsStep.FAILED, permanent=True)
    if attempt <= len(delays):
        return SmsDecision(SmsStep.RETRY, delay=delays[attempt - 1])
    return SmsDecision(SmsStep.FAILED)


# --------------------------------------------------------------------------- SMS delivery

# Twilio's message statuses in the order a message moves through them; callbacks may arrive
# out of order, and a late "sent" must not undo "delivered".
_DELIVERY_ORDER = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "read": 5,
}
DELIVERY_FAILURES = frozenset({"undelivered", "failed"})


def advance_delivery_status(current: str | None, reported: str) -> str:
    """Return the provider status to keep after a status callback reports ``reported``.

    A status only moves forward (queued → sent → delivered/undelivered/failed); an unknown
    status is kept as reported, since the provider knows more than we do.
    """
    reported = reported.strip().lower()
    if current is None or reported not in _DELIVERY_ORDER or current not in _DELIVERY_ORDER:
        return reported or (current or "")
    return reported if _DELIVERY_ORDER[reported] >= _DELIVERY_ORDER[current] else current


def sms_failed_notice(reminder_title: str | None, error: str | None) -> tuple[str, str]:
    """Return the Chinese (title, body) of the in-app notice that an SMS reminder did not go out."""
    why = f"（{_clip(error, 80)}）" if error else ""
    if reminder_title:
        body = f"提醒「{_clip(reminder_title, 60)}」的短信未能发送{why}，请直接在应用中处理该提醒。"
    else:
        body = f"一条短信通知未能发送{why}，请在应用中查看。"
    return "短信提醒发送失败", body
