"""Marshmallow fields every service shares, so a date or an amount means the same everywhere.

- ``DateTime`` / ``Date``: ISO 8601 within years 1900–2199; an offset must be whole minutes
  within ±14:00. Anything else is a validation error (400 with field details), never an overflow
  deeper down: converting 9999-12-31T23:00-05:00 to UTC, or showing year 646 in a zone whose
  offset then had seconds, is what these bounds rule out.
- ``Money`` / ``DecimalText``: a decimal string ("10000.00"), declared as a string in OpenAPI.
  Money goes out with exactly two places (fen); see docs/CONTRACTS.md.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from marshmallow import ValidationError, fields

MIN_YEAR = 1900
MAX_YEAR = 2199
MAX_OFFSET = dt.timedelta(hours=14)

RANGE_TEXT = f"years {MIN_YEAR}–{MAX_YEAR}; an offset in whole minutes within ±14:00"


def check_moment(moment: dt.datetime | dt.date) -> None:
    """Raise ValidationError unless ``moment`` is within the supported range (see module doc)."""
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ValidationError(f"the year must be between {MIN_YEAR} and {MAX_YEAR}")
    if isinstance(moment, dt.datetime):
        offset = moment.utcoffset()
        if offset is not None:
            if offset % dt.timedelta(minutes=1):
                raise ValidationError("the UTC offset must be whole minutes, e.g. +08:00")
            if abs(offset) > MAX_OFFSET:
                raise ValidationError("the UTC offset must be within -14:00 and +14:00")


def parse_datetime(value: Any, *, require_offset: bool = False) -> dt.datetime:
    """An ISO 8601 date-time in the supported range; naive unless ``require_offset``."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError("not an ISO 8601 date-time, e.g. 2026-03-01T09:30:00+08:00") from None
    else:
        raise ValidationError("not an ISO 8601 date-time string")
    if require_offset and moment.utcoffset() is None:
        raise ValidationError("needs a UTC offset, e.g. +08:00 or Z")
    check_moment(moment)
    return moment


class DateTime(fields.DateTime):
    """An ISO 8601 date-time in the supported range.

    ``require_offset=True`` refuses a time without an offset (ambiguous across zones); otherwise
    the service decides what a naive time means (usually local time).
    """

    def __init__(self, *, require_offset: bool = False, **kwargs: Any) -> None:
        metadata = dict(kwargs.pop("metadata", None) or {})
        note = ("with a UTC offset; " if require_offset else "") + RANGE_TEXT
        metadata["description"] = (
            f"{metadata['description']} ({note})" if metadata.get("description") else note
        )
        super().__init__(metadata=metadata, **kwargs)
        self.require_offset = require_offset

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        return parse_datetime(value, require_offset=self.require_offset)


class Date(fields.Date):
    """An ISO 8601 date (YYYY-MM-DD) within years 1900–2199."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = dict(kwargs.pop("metadata", None) or {})
        note = f"years {MIN_YEAR}–{MAX_YEAR}"
        metadata["description"] = (
            f"{metadata['description']} ({note})" if metadata.get("description") else note
        )
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.date:
        day = super()._deserialize(value, attr, data, **kwargs)
        check_moment(day)
        return day


MONEY_PATTERN = r"^-?[0-9]+\.[0-9]{2}$"
MONEY_INPUT_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"


class DecimalText(fields.Decimal):
    """A decimal number carried as a JSON string ("12.50"): exact, unlike a JSON number."""

    def __init__(self, *, pattern: str | None = None, **kwargs: Any) -> None:
        metadata = dict(kwargs.pop("metadata", None) or {})
        metadata.update(type="string", format="decimal")
        if pattern:
            metadata.setdefault("pattern", pattern)
        kwargs.setdefault("as_string", True)
        super().__init__(metadata=metadata, **kwargs)


class Money(DecimalText):
    """An amount in yuan going out: a decimal string with exactly two places, "10000.00"."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = dict(kwargs.pop("metadata", None) or {})
        metadata.setdefault("example", "10000.00")
        super().__init__(places=2, pattern=MONEY_PATTERN, metadata=metadata, **kwargs)


class MoneyInput(DecimalText):
    """An amount in yuan coming in: a decimal string with at most two places ("10000",
    "10000.5", "10000.50"); a JSON number is accepted too. Checked, never rounded."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = dict(kwargs.pop("metadata", None) or {})
        metadata.setdefault("example", "10000.00")
        super().__init__(pattern=MONEY_INPUT_PATTERN, metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool):
            raise ValidationError('an amount is a decimal string such as "10000.00"')
        return super()._deserialize(value, attr, data, **kwargs)
