"""The pipeline's constants and its calendar of periods: stdlib only, so that ``schemas``,
``exceptions`` and other packages may import them (a leaf module)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

# Deal statuses.
OPEN, WON, LOST = "open", "won", "lost"
STATUSES = (OPEN, WON, LOST)
CLOSED = (WON, LOST)
# The reason a deal ends lost when its customer is abandoned.
ABANDONED = "abandoned"
# What a stage change records (stage_changes.kind).
CREATED, MOVED, WON_CHANGE, TEAM_CHANGED = "created", "moved", "won", "team_changed"

CURRENCIES = ("CNY",)
MAX_ID = 2**31 - 1  # ids are 32-bit integers: a larger one names nothing (and PostgreSQL refuses it)
MAX_AMOUNT = Decimal("999999999999.99")  # Numeric(14, 2)
# Which stages count in the forecast when a manager's edit does not say: 25–90 % (the source's rule).
DEFAULT_FORECAST_RANGE = (25, 90)
# Who has a funnel and a forecast of their own in a team.
SALES_ROLE = "sales"

_MONTH = re.compile(r"(\d{4})-(\d{2})", re.ASCII)
_QUARTER = re.compile(r"(\d{4})-[Qq]([1-4])", re.ASCII)


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day (both inclusive) of a month ``"2026-12"`` or a quarter ``"2026-Q4"``.

    Raises ``ValueError`` for anything else (``"2026-13"``, ``"2026-Q5"``, ``"26-12"``, ``""``).
    """
    if not isinstance(period, str):
        raise ValueError(f"period must be text like 2026-12 or 2026-Q4, got {period!r}")
    if match := _MONTH.fullmatch(period):
        year, first_month, months = int(match[1]), int(match[2]), 1
        if not 1 <= first_month <= 12:
            raise ValueError(f"no month {first_month} in period {period!r}")
    elif match := _QUARTER.fullmatch(period):
        year, first_month, months = int(match[1]), 3 * int(match[2]) - 2, 3
    else:
        raise ValueError(f"period must look like 2026-12 or 2026-Q4, got {period!r}")
    if year < 1:
        raise ValueError(f"no year {year} in period {period!r}")
    start = date(year, first_month, 1)
    after_month = first_month + months
    next_start = date(year + 1, 1, 1) if after_month > 12 else date(year, after_month, 1)
    return start, next_start - timedelta(days=1)


def current_period(today: date, kind: str = "month") -> str:
    """The month (``"2026-12"``) or quarter (``"2026-Q4"``) containing ``today``.

    Raises ``ValueError`` for a ``kind`` other than ``"month"`` or ``"quarter"``.
    """
    if kind == "month":
        return f"{today.year:04d}-{today.month:02d}"
    if kind == "quarter":
        return f"{today.year:04d}-Q{(today.month - 1) // 3 + 1}"
    raise ValueError(f"kind must be 'month' or 'quarter', got {kind!r}")
