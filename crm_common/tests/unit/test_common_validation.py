"""Text that no database keeps the same way is refused where any input is loaded, with the field."""

import pytest
from marshmallow import Schema, fields

from crm_common.errors import InvalidInput
from crm_common.validation import MAX_DEPTH, check_text, load


class ContactSchema(Schema):
    name = fields.String(required=True)


class CustomerSchema(Schema):
    name = fields.String(required=True)
    tags = fields.List(fields.String(), load_default=list)
    contacts = fields.List(fields.Nested(ContactSchema), load_default=list)
    extra = fields.Raw(load_default=None)


@pytest.mark.parametrize(
    ("payload", "details"),
    [
        ({"name": "华为\x00技术"}, {"name": ["must not contain NUL characters"]}),
        ({"name": "\ud800"}, {"name": ["must not contain lone surrogates (invalid UTF-16)"]}),
        ({"name": "ok", "tags": ["a", "b\x00"]}, {"tags": {"1": ["must not contain NUL characters"]}}),
        (
            {"name": "ok", "contacts": [{"name": "x\udfff"}]},
            {"contacts": {"0": {"name": ["must not contain lone surrogates (invalid UTF-16)"]}}},
        ),
        ({"name": "ok", "extra": {"k\x00": 1}}, {"extra": ["must not contain NUL characters"]}),
    ],
)
def test_nul_and_lone_surrogates_are_a_field_error(payload, details):
    with pytest.raises(InvalidInput) as caught:
        load(CustomerSchema(), payload)
    assert caught.value.details == details


def test_a_deeply_nested_payload_is_refused_without_recursing():
    deep: object = "leaf"
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(InvalidInput) as caught:
        load(CustomerSchema(), {"name": "ok", "extra": deep})
    assert caught.value.details == {"extra": [f"nested deeper than {MAX_DEPTH} levels"]}


def test_ordinary_chinese_text_and_emoji_pass():
    loaded = load(CustomerSchema(), {"name": "深圳市腾讯计算机系统有限公司 🚀", "tags": ["重点"]})
    assert loaded["name"].endswith("🚀")
    check_text({"a": [{"b": "c"}], "d": 1, "e": None})
