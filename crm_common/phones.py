"""Phone numbers as E.164, the one form every service stores and compares — the one phone
normaliser of the project (accounts' users, customers' customers and contacts).

E.164 via phonenumbers, default region CN. Extensions are dropped (转, 分机, ext., x, #, and a
trailing "-808" after a complete landline), so a switchboard and its extensions are one phone.
An invalid number raises `InvalidPhone`, and so does text longer than `MAX_PHONE_LENGTH` (before
any parsing: the work stays bounded). Error messages quote at most `QUOTED_LENGTH` characters of
the input.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

DEFAULT_REGION = "CN"
MAX_PHONE_LENGTH = 40  # a number with its extension and spacing, written generously
QUOTED_LENGTH = 40

_CHINESE_EXTENSION = re.compile(r"\s*(?:转接|转|分机号?|分機|内线)\s*")
_TRAILING_EXTENSION = re.compile(r"(.*\d)\s*-\s*\d{1,6}")


def quoted(text: str | None) -> str:
    """``text`` for an error message: its repr, cut after `QUOTED_LENGTH` characters."""
    text = text or ""
    return (
        repr(text)
        if len(text) <= QUOTED_LENGTH
        else repr(text[:QUOTED_LENGTH]) + f"…（共 {len(text)} 个字符）"
    )


class InvalidPhone(ValueError):
    """The text is not a valid phone number in the given default region."""

    def __init__(self, raw: str, region: str = DEFAULT_REGION, reason: str = "不是有效的电话号码") -> None:
        self.raw = raw
        self.region = region
        self.reason = reason
        super().__init__(f"电话号码无效：{quoted(raw)}（{reason}，默认地区 {region}）")


# E.164 numbers this process produced lately: each is its own normal form (an import checks
# every phone twice, by its parser and then by the entry's rules; the second costs nothing)
_RECENT_E164: dict[str, None] = {}
_RECENT_E164_SIZE = 8192


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """Return the phone as E.164 (``+8613800138000``), extension dropped.

    ``region`` is the default for numbers written without a country code.
    Raises `InvalidPhone` for an empty, too long or invalid number, `ValueError` for an unknown region.
    """
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone region {region!r}")
    if raw in _RECENT_E164:
        return raw
    e164 = _normalize(raw, region)
    if len(_RECENT_E164) >= _RECENT_E164_SIZE:
        _RECENT_E164.pop(next(iter(_RECENT_E164), e164), None)  # the oldest
    _RECENT_E164[e164] = None
    return e164


def _normalize(raw: str, region: str) -> str:
    if len(raw or "") > MAX_PHONE_LENGTH:
        raise InvalidPhone(raw, region, f"号码过长：{len(raw)} 个字符，最多 {MAX_PHONE_LENGTH} 个")
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not text:
        raise InvalidPhone(raw, region, "号码为空")
    text = _CHINESE_EXTENSION.sub(" ext. ", text)
    number = _parse_valid_number(text, region)
    if number is None and (dashed := _TRAILING_EXTENSION.fullmatch(text)):
        # 021-12345678-808: the last group is an extension when the rest is a whole number
        number = _parse_valid_number(dashed.group(1), region)
    if number is None:
        raise InvalidPhone(raw, region, "不是有效的电话号码")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _parse_valid_number(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None
