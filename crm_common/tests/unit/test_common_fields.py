"""The shared date and money fields: one range and one representation for every service."""

import datetime as dt
from decimal import Decimal

import pytest
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, ValidationError

from crm_common.fields import Date, DateTime, DecimalText, Money, MoneyInput


class _When(Schema):
    at = DateTime()
    due = DateTime(require_offset=True)
    day = Date()


class _Amounts(Schema):
    amount = Money()
    pct = DecimalText(allow_none=True)
    given = MoneyInput()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("due", "9999-12-31T23:00:00-05:00"),  # overflowed converting to UTC: a 500 before
        ("due", "0646-03-01T09:30:00+08:00"),  # echoed with a +08:05:43 offset: not RFC 3339
        ("due", "2026-03-01T09:30:00+08:05:43"),
        ("due", "2026-03-01T09:30:00+15:00"),
        ("due", "2026-03-01T09:30:00"),  # no offset where one is required
        ("at", "1899-12-31T23:59:59"),
        ("at", "2200-01-01T00:00:00+00:00"),
        ("at", "not a time"),
        ("at", 20260301),
        ("day", "9999-12-31"),
        ("day", "0001-01-01"),
    ],
)
def test_a_moment_outside_the_supported_range_is_a_field_error(field, value):
    with pytest.raises(ValidationError) as caught:
        _When().load({field: value})
    assert field in caught.value.messages


def test_moments_in_range_load_with_their_offset():
    loaded = _When().load(
        {"at": "2026-03-01T09:30:00", "due": "2199-12-31T23:59:00+14:00", "day": "1900-01-01"}
    )
    assert loaded["at"] == dt.datetime(2026, 3, 1, 9, 30)
    assert loaded["due"].utcoffset() == dt.timedelta(hours=14)
    assert loaded["due"].astimezone(dt.UTC).year == 2199
    assert loaded["day"] == dt.date(1900, 1, 1)


def test_money_goes_out_as_a_two_place_decimal_string():
    dumped = _Amounts().dump({"amount": Decimal("10000"), "pct": Decimal("12.5")})
    assert dumped == {"amount": "10000.00", "pct": "12.5"}


def test_money_comes_in_as_text_or_a_number_and_is_never_a_boolean():
    assert _Amounts().load({"given": "10000.5"})["given"] == Decimal("10000.5")
    assert _Amounts().load({"given": 12})["given"] == Decimal(12)
    with pytest.raises(ValidationError):
        _Amounts().load({"given": True})


def test_the_api_description_declares_money_and_moments_as_strings():
    spec = APISpec("t", "1", "3.0.3", plugins=[MarshmallowPlugin()])
    spec.components.schema("Amounts", schema=_Amounts)
    spec.components.schema("When", schema=_When)
    schemas = spec.to_dict()["components"]["schemas"]
    amount = schemas["Amounts"]["properties"]["amount"]
    assert amount["type"] == "string" and amount["format"] == "decimal"
    assert amount["pattern"] == r"^-?[0-9]+\.[0-9]{2}$"
    assert schemas["Amounts"]["properties"]["pct"]["type"] == "string"
    assert schemas["Amounts"]["properties"]["given"]["type"] == "string"
    due = schemas["When"]["properties"]["due"]
    assert due["format"] == "date-time" and "1900" in due["description"]
