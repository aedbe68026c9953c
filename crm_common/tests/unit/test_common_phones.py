"""The one phone normaliser (crm_common.phones): E.164, extensions dropped, bounded, clear errors.
accounts (users' phones) and customers (customers' and contacts' phones, their duplicate keys) use it."""

import pytest

from crm_common import phones
from crm_common.phones import MAX_PHONE_LENGTH, InvalidPhone, normalize_phone

PHONES = [
    ("+86 138-0013-8000", "+8613800138000"),
    ("13800138000", "+8613800138000"),
    ("１３８００１３８０００", "+8613800138000"),
    ("138 0013 8000", "+8613800138000"),
    ("0086 138 0013 8000", "+8613800138000"),
    ("86-13800138000", "+8613800138000"),
    ("010-12345678", "+861012345678"),
    ("010-12345678 转 123", "+861012345678"),
    ("010-12345678转123", "+861012345678"),
    ("010-12345678 分机 8001", "+861012345678"),
    ("(021)12345678 ext. 9", "+862112345678"),
    ("（０２１）１２３４５６７８", "+862112345678"),
    ("021-12345678-808", "+862112345678"),
    ("021 1234 5678 # 12", "+862112345678"),
    ("400-820-8820", "+864008208820"),
    ("+852 2345 6789", "+85223456789"),
    ("+1 650-253-0000", "+16502530000"),
]


@pytest.mark.parametrize(("raw", "e164"), PHONES)
def test_phone_is_normalised_to_e164_without_extension(raw, e164):
    assert normalize_phone(raw) == e164


def test_phone_default_region_is_configurable():
    assert normalize_phone("650-253-0000", region="US") == "+16502530000"
    assert normalize_phone("+86 138 0013 8000", region="US") == "+8613800138000"


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "12345", "abc", "+86 138 0013", "0755-8888888", "转123", "138001380001234", "0755-888-8888"],
)
def test_invalid_phone_is_refused_with_the_number_in_the_message(raw):
    with pytest.raises(InvalidPhone) as caught:
        normalize_phone(raw)
    assert repr(raw) in str(caught.value)
    assert caught.value.raw == raw


def test_invalid_phone_is_a_value_error():
    with pytest.raises(ValueError):
        normalize_phone("12345")


def test_unknown_phone_region_is_a_programming_error_not_an_invalid_phone():
    with pytest.raises(ValueError) as caught:
        normalize_phone("13800138000", region="XX")
    assert not isinstance(caught.value, InvalidPhone)


def test_a_phone_longer_than_the_limit_is_refused_before_parsing():
    with pytest.raises(InvalidPhone) as caught:
        normalize_phone("1" * (MAX_PHONE_LENGTH + 1))
    assert "号码过长" in str(caught.value)


def test_the_message_quotes_only_the_start_of_a_long_text():
    with pytest.raises(InvalidPhone) as caught:
        normalize_phone("x" * 300, region="CN")
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize(("raw", "expected"), PHONES)
def test_an_e164_number_is_its_own_normal_form_in_every_default_region(raw, expected):
    # normalize_phone remembers the E.164 numbers it produced and answers them at once: that
    # shortcut must give what a fresh normalisation gives, whatever the default region
    phones._RECENT_E164.clear()
    for region in ("CN", "US", "HK"):
        assert phones._normalize(expected, region) == expected
    assert normalize_phone(raw) == expected
    assert expected in phones._RECENT_E164
    assert normalize_phone(expected, region="US") == expected


def test_the_remembered_numbers_stay_bounded():
    phones._RECENT_E164.clear()
    for n in range(phones._RECENT_E164_SIZE + 50):
        normalize_phone(f"139{n:08d}")
    assert len(phones._RECENT_E164) == phones._RECENT_E164_SIZE
    assert "+8613900000000" not in phones._RECENT_E164 and "+8613900008241" in phones._RECENT_E164
