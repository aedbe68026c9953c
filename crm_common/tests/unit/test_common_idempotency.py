"""Request ids: a client's Idempotency-Key is checked and scoped to its user; ids derived for
nested calls are the same on every redelivery and differ between calls."""

import pytest

from crm_common.idempotency import (
    InvalidIdempotencyKey,
    derive_request_id,
    fingerprint,
    new_request_id,
    request_id_for_key,
)


def test_the_same_key_of_the_same_user_is_the_same_request():
    key = "3f1c9a8e-7d2b-4e0a-9c51-2b7e6f0d8a44"
    assert request_id_for_key(7, key) == request_id_for_key(7, key)


def test_two_users_with_the_same_key_make_different_requests():
    assert request_id_for_key(7, "order-1") != request_id_for_key(8, "order-1")


@pytest.mark.parametrize("key", ["", " ", "键", "a b", "x" * 256, "tab\there", "nul\x00"])
def test_a_malformed_key_is_a_400_with_its_own_code(key):
    with pytest.raises(InvalidIdempotencyKey) as refused:
        request_id_for_key(7, key)
    assert refused.value.code == "invalid_idempotency_key"
    assert "Idempotency-Key" in refused.value.details


def test_a_key_of_255_visible_characters_is_accepted():
    assert len(request_id_for_key(7, "~" * 255)) == 36


def test_nested_ids_are_stable_per_call_and_differ_between_calls():
    parent = new_request_id()
    first = derive_request_id(parent, "accounts.create_user", 1)
    assert first == derive_request_id(parent, "accounts.create_user", 1)
    assert first != derive_request_id(parent, "accounts.create_user", 2)
    assert first != derive_request_id(parent, "accounts.update_settings", 1)
    assert first != derive_request_id(new_request_id(), "accounts.create_user", 1)


def test_the_fingerprint_tells_other_arguments_apart_but_not_key_order():
    same = fingerprint("create_entry", (), {"payload": {"a": 1, "b": "甲"}})
    assert same == fingerprint("create_entry", (), {"payload": {"b": "甲", "a": 1}})
    assert same != fingerprint("create_entry", (), {"payload": {"a": 2, "b": "甲"}})
    assert same != fingerprint("edit_entry", (), {"payload": {"a": 1, "b": "甲"}})
