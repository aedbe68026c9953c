"""Absurd input costs at most linear work: every rule refuses or caps it before doing more.

The import once let a name of 100,000 characters through; the scan then built every prefix of
it (memory in the square of its length) and the service was killed on every redelivery. These
tests call the rules with such input and assert on what they produce (how many keys, how long),
never on time.
"""

import pytest

from crm_common.errors import InvalidInput
from customers.domain import (
    MAX_ABBREVIATION_LENGTH,
    MAX_CANDIDATE_KEYS,
    MAX_NAME_KEYS,
    MAX_NAME_LENGTH,
    InvalidBirthday,
    abbreviation_keys,
    assess_duplicate,
    candidate_keys,
    parse_birthday,
    prepare_fields,
    similarity,
)
from customers.normalize import (
    MAX_KEY_LENGTH,
    MAX_PHONE_LENGTH,
    InvalidCompanyName,
    InvalidPhone,
    normalize_company_name,
    normalize_phone,
)

HUGE = 100_000
# distinct characters, so no rule can shortcut through repetition
HUGE_NAME = "".join(chr(0x4E00 + (i * 7919) % 20_000) for i in range(HUGE))


def test_a_name_longer_than_the_entry_limit_is_refused_and_the_message_stays_short():
    with pytest.raises(InvalidCompanyName) as refused:
        normalize_company_name(HUGE_NAME)
    assert "过长" in str(refused.value) and len(str(refused.value)) < 200


def test_a_name_at_the_entry_limit_still_gets_its_key():
    assert len(normalize_company_name("华" * MAX_NAME_LENGTH)) == MAX_NAME_LENGTH


def test_a_name_that_swells_under_nfkc_beyond_the_key_column_is_refused():
    # U+FDFA folds into 18 characters: 200 of them would be a 3,600-character key
    with pytest.raises(InvalidCompanyName, match="过长"):
        normalize_company_name("\ufdfa" * MAX_NAME_LENGTH)


def test_abbreviation_keys_of_a_huge_key_are_few_and_short():
    keys = abbreviation_keys(HUGE_NAME)  # a key given directly, as a row stored before the limit
    assert 0 < len(keys) <= MAX_ABBREVIATION_LENGTH
    assert max(map(len, keys)) <= MAX_ABBREVIATION_LENGTH


def test_abbreviation_keys_of_an_ordinary_name_are_every_leading_part():
    assert abbreviation_keys("华为技术") == ["华为", "华为技", "华为技术"]


def test_candidate_keys_of_a_huge_key_are_bounded():
    keys = candidate_keys(HUGE_NAME, ["+8613800138000"])
    assert len(keys) <= MAX_CANDIDATE_KEYS + 1
    assert len([key for key in keys if key.startswith("n:") and not key.startswith("n:~")]) == MAX_NAME_KEYS
    assert max(map(len, keys)) <= MAX_KEY_LENGTH  # the whole key ends in a digest


def test_similarity_of_huge_keys_compares_at_most_the_key_limit():
    # two huge keys that differ only after the key limit compare as their first MAX_KEY_LENGTH
    other = HUGE_NAME[:MAX_KEY_LENGTH] + "甲" * (HUGE - MAX_KEY_LENGTH)
    assert similarity(HUGE_NAME, other) == 100.0
    suspicion = assess_duplicate(HUGE_NAME, other)
    assert suspicion is not None and len(suspicion.reason) < 400


def test_a_huge_phone_is_refused_as_too_long():
    with pytest.raises(InvalidPhone) as refused:
        normalize_phone("1" * HUGE)
    assert "过长" in refused.value.reason and len(str(refused.value)) < 200


def test_a_phone_at_the_limit_is_still_read():
    padded = "138 0013 8000".center(MAX_PHONE_LENGTH)
    assert normalize_phone(padded) == "+8613800138000"


def test_a_huge_birthday_is_refused():
    with pytest.raises(InvalidBirthday) as refused:
        parse_birthday("1" * HUGE)
    assert len(str(refused.value)) < 200


def test_prepare_fields_refuses_a_huge_name_with_a_short_field_error():
    from zoneinfo import ZoneInfo

    with pytest.raises(InvalidInput) as refused:
        prepare_fields({"name": HUGE_NAME, "phones": ["1" * HUGE]}, "CN", ZoneInfo("Asia/Shanghai"))
    details = refused.value.details
    assert set(details) == {"name", "phones"}
    assert all(len(message) < 200 for messages in details.values() for message in messages)
