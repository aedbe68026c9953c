"""notify's rules for customers' birthdays and planned revisits: when to remind, and what the
reminder says. Plain Python only."""

from __future__ import annotations

from calendar import isleap
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from notify.domain import InvalidBirthday, as_utc
from notify.domain_sms import SMS_TIME_FORMAT

DEFAULT_BIRTHDAY_DAYS_AHEAD = 2
DEFAULT_REVISIT_LEAD = timedelta(hours=24)


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
