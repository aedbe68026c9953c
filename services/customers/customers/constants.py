"""The customers service's constants: statuses, kinds, limits, import job states, and the one
format rule its schemas check (birthdays). Standard library only: schemas, exceptions, the
domain and other services import it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from crm_common.phones import MAX_PHONE_LENGTH, QUOTED_LENGTH, quoted  # noqa: F401 — one set of limits

CustomerId = int | str

MAX_ID = 2**31 - 1  # ids are 32-bit integers on every backend

# a customer's status
ACTIVE = "active"
IN_POOL = "pool"
ARCHIVED = "archived"
STATUSES = (ACTIVE, IN_POOL, ARCHIVED)

FOLLOWUP_KINDS = ("call", "visit", "sample", "quote", "other")
NAME_KEY = "name"
PHONE_KEY = "phone"

DECISION_LEVEL_MIN = 1
DECISION_LEVEL_MAX = 5
DEFAULT_REFERRAL_DEPTH = 5

MAX_NAME_LENGTH = 200  # what a person may enter (every entry path's schema uses it)
MAX_KEY_LENGTH = 220  # the width of the key columns
MAX_BIRTHDAY_LENGTH = 20

# the fields whose change gives a customer new keys (and a new scan)
KEY_FIELDS = frozenset({"name", "phones", "contacts"})

# the pool rules (公海规则): why a customer is in the pool, and each team's limits by default
ABANDONED_CAUSE = "abandoned"  # the owner gave it up (放弃客户), with an answered alarm
RELEASED_CAUSE = "released"  # the owner returned it (退回公海), by the same alarm rule
NO_FOLLOWUP = "no_followup"  # returned by the schedule: no follow-up for too long
NO_WON_DEAL = "no_won_deal"  # returned by the schedule: no won deal for too long
OFFBOARDING_CAUSE = "offboarding"  # its owner was deactivated with the team pool chosen
RETURN_CAUSES = (NO_FOLLOWUP, NO_WON_DEAL)
POOL_CAUSES = (ABANDONED_CAUSE, RELEASED_CAUSE, OFFBOARDING_CAUSE, *RETURN_CAUSES)
DEFAULT_FOLLOWUP_DAYS = 30
DEFAULT_WON_DEAL_DAYS = 90  # 0: off
DEFAULT_WARNING_DAYS = 3
DEFAULT_MAX_CUSTOMERS = 300
DEFAULT_MAX_DAILY_TAKES = 20
DEFAULT_COOLDOWN_DAYS = 7
MAX_POOL_DAYS = 3650
MAX_CUSTOMERS_LIMIT = 100_000
RETURNED_EVENT = "customer_returned_to_pool"
WARNING_EVENT = "customer_return_warning"

# import jobs
QUEUED, RUNNING, FINISHED, FAILED = "queued", "running", "finished", "failed"
FINISHED_EVENT = "customer_import_finished"
MAX_IMPORT_BYTES = 5 * 1024 * 1024


# --- birthdays -----------------------------------------------------------------------------------


class InvalidBirthday(ValueError):
    """Not a month-day (optionally with a year) that exists in the calendar."""


_BIRTHDAY = re.compile(r"(?:(\d{4})\s*[-/.年]\s*)?(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_LEAP_YEAR = 2000  # without a year, 02-29 must be accepted


@dataclass(frozen=True)
class Birthday:
    """A company's founding day or its owner's birthday: month and day, year optional."""

    month: int
    day: int
    year: int | None = None

    def __post_init__(self) -> None:
        try:
            date(self.year if self.year is not None else _LEAP_YEAR, self.month, self.day)
        except ValueError as error:
            raise InvalidBirthday(f"日期不存在：{self}") from error

    def __str__(self) -> str:
        month_day = f"{self.month:02d}-{self.day:02d}"
        return month_day if self.year is None else f"{self.year:04d}-{month_day}"


def parse_birthday(text: str) -> Birthday:
    """Parse ``MM-DD`` or ``YYYY-MM-DD`` (also with / or . and 1990年5月3日, 5月3日).

    Raises `InvalidBirthday` for anything else or a day that does not exist (02-29 is
    accepted without a year, only in leap years with one).
    """
    if len(text or "") > MAX_BIRTHDAY_LENGTH:
        raise InvalidBirthday(f"生日过长：{quoted(text)}（格式 MM-DD 或 YYYY-MM-DD）")
    match = _BIRTHDAY.fullmatch(unicodedata.normalize("NFKC", text or "").strip())
    if match is None:
        raise InvalidBirthday(f"生日格式应为 MM-DD 或 YYYY-MM-DD：{quoted(text)}")
    year, month, day = match.groups()
    return Birthday(int(month), int(day), int(year) if year else None)
