"""Phone numbers as E.164, the one form every service stores and compares."""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "CN"


class InvalidPhone(ValueError):
    """The text is not a valid phone number for the region."""


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """``raw`` as E.164 (``+8613800138000``), extension dropped; raises InvalidPhone."""
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("phone number is empty")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone(f"not a valid phone number for {region}: {raw!r}")
    parsed.extension = None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
