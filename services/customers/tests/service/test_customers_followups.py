"""Follow-ups: calls, visits, samples, quotes — recorded once, listed with the customer."""

import pytest

from crm_common.errors import InvalidInput


@pytest.fixture
def customer(as_user, users, new_customer):
    with as_user(users.lina) as service:
        return service.create_customer(new_customer("远航物流有限公司"))


def test_follow_ups_are_listed_with_the_customer_latest_first(as_user, users, customer):
    with as_user(users.lina) as service:
        call = service.record_followup(
            customer["id"],
            {
                "kind": "call",
                "summary": "约了周三拜访",
                "contact": "王总",
                "occurred_at": "2024-05-06T10:00:00",
            },
        )
        quote = service.record_followup(
            customer["id"], {"kind": "quote", "summary": "报价 12 万", "contact": "王总"}
        )
        read = service.get_customer(customer["id"])
        listed = service.list_followups(customer["id"])
    assert call["occurred_at"] == "2024-05-06T02:00:00+00:00" and call["recorded_by"] == users.lina["id"]
    assert [f["id"] for f in read["followups"]] == [quote["id"], call["id"]]
    assert [f["kind"] for f in listed] == ["quote", "call"]
    with as_user(users.wang) as service:
        assert len(service.list_followups(customer["id"])) == 2


@pytest.mark.parametrize(
    ("followup", "field"),
    [
        ({"kind": "lunch", "summary": "吃饭"}, "kind"),
        ({"kind": "visit", "summary": ""}, "summary"),
        ({"kind": "visit", "summary": "明天去", "occurred_at": "2999-01-01T09:00:00+08:00"}, "occurred_at"),
    ],
)
def test_a_follow_up_records_what_happened(as_user, users, customer, followup, field):
    with as_user(users.lina) as service, pytest.raises(InvalidInput) as refused:
        service.record_followup(customer["id"], followup)
    assert field in refused.value.details
