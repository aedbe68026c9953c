"""Entering customers: first to enter owns it, a second entry is told whose it is, never more."""

import json

import pytest

from crm_common.errors import InvalidInput
from customers.exceptions import DuplicateCustomer


def test_a_new_customer_belongs_to_whoever_entered_it_and_is_announced(as_user, users, new_customer, events):
    with as_user(users.lina) as service:
        customer = service.create_customer(
            new_customer(
                phone="0755-2878 0808",
                next_visit_at="2024-06-01T09:30:00",
                next_visit_contact="王总",
                contacts=[{"name": "王总", "title": "总经理", "phone": "139 0013 9000", "decision_level": 5}],
            )
        )
    assert customer["owner_id"] == users.lina["id"] and customer["owner_name"] == "李娜"
    assert customer["team"] == "east" and customer["status"] == "active" and customer["revision"] == 1
    assert customer["phones"] == ["+8675528780808"] and customer["phone"] == "+8675528780808"
    assert customer["contacts"][0]["phone"] == "+8613900139000"
    assert customer["next_visit_at"] == "2024-06-01T01:30:00+00:00"  # typed in Beijing time

    created = events.wait_for("customer_created", customer_id=customer["id"])
    assert created["version"] == 1 and created["event_id"]
    assert {
        key: created["data"][key] for key in ("owner_id", "owner_name", "team", "entered_by", "referred_by")
    } == {
        "owner_id": users.lina["id"],
        "owner_name": "李娜",
        "team": "east",
        "entered_by": users.lina["id"],
        "referred_by": None,
    }
    assert created["data"]["birthday"] == "1987-09-15"
    assert created["data"]["next_visit_at"] == "2024-06-01T01:30:00+00:00"
    assert created["data"]["next_visit_contact"] == "王总"
    assert created["data"]["next_visit_contact_phone"] == "+8613900139000"


def test_second_salesperson_is_told_who_owns_the_customer_and_nothing_more(as_user, users, new_customer):
    with as_user(users.lina) as service:
        first = service.create_customer(new_customer("深圳市华为技术有限公司", phone="13800138000"))
    with as_user(users.zhang) as service, pytest.raises(DuplicateCustomer) as refused:
        service.create_customer(new_customer("华为技术（深圳）有限公司"))
    details = refused.value.details
    assert details["customer_id"] == first["id"]
    assert details["owner"] == "李娜" and details["owner_id"] == users.lina["id"]
    assert details["matched_on"] == ["name"]
    assert "李娜" in refused.value.message
    shown = json.dumps(details, ensure_ascii=False)
    for contact_detail in ("13800138000", "王总", "坂田", "1987"):
        assert contact_detail not in shown


def test_a_phone_already_known_as_a_contacts_phone_blocks_the_entry(as_user, users, new_customer):
    contact = {"name": "刘经理", "title": "采购", "phone": "13912345678", "decision_level": 3}
    with as_user(users.lina) as service:
        first = service.create_customer(new_customer("鑫源贸易有限公司", contacts=[contact]))
    with as_user(users.chen) as service, pytest.raises(DuplicateCustomer) as refused:
        service.create_customer(new_customer("完全不同的名字商行", phone="+86 139-1234-5678"))
    assert refused.value.details["customer_id"] == first["id"]
    assert refused.value.details["matched_on"] == ["phone"]


def test_check_answers_exact_and_near_matches_while_typing(as_user, users, new_customer):
    with as_user(users.lina) as service:
        huawei = service.create_customer(new_customer("深圳市华为技术有限公司", phone="13800138000"))
    with as_user(users.zhang) as service:
        exact = service.check_duplicates({"name": "华为技术有限公司"})
        near = service.check_duplicates({"name": "华为"})
        by_phone = service.check_duplicates({"phone": "138-0013-8000"})
        unknown = service.check_duplicates({"name": "天成机械厂", "phone": "13700137000"})
    assert exact["duplicate"] is True
    assert exact["matches"][0] == {
        "customer_id": huawei["id"],
        "name": "深圳市华为技术有限公司",
        "owner": "李娜",
        "owner_id": users.lina["id"],
        "status": "active",
        "entered_at": huawei["entered_at"],
        "matched_on": ["name"],
        "score": 100.0,
        "reason": "名称相同",
    }
    assert near["duplicate"] is False
    assert near["matches"][0]["customer_id"] == huawei["id"]
    assert near["matches"][0]["matched_on"] == ["similar_name"] and near["matches"][0]["score"] == 90.0
    assert by_phone["duplicate"] is True and by_phone["matches"][0]["matched_on"] == ["phone"]
    assert unknown == {"duplicate": False, "matches": []}


def test_a_branch_office_is_its_own_customer(as_user, users, new_customer):
    with as_user(users.lina) as service:
        service.create_customer(new_customer("华为技术有限公司"))
    with as_user(users.zhang) as service:
        branch = service.create_customer(new_customer("华为技术有限公司北京分公司"))
    assert branch["owner_name"] == "张伟"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"name": "（）"}, "name"),
        ({"birthday": "02-30"}, "birthday"),
        ({"referred_by": 999}, "referred_by"),
        ({"contacts": [{"name": "王总", "decision_level": 7}]}, "contacts"),
        ({"contacts": [{"name": "王总", "phone": "555"}]}, "contacts"),
    ],
)
def test_invalid_fields_are_refused_with_field_details(as_user, users, new_customer, fields, field):
    with as_user(users.lina) as service, pytest.raises(InvalidInput) as refused:
        service.create_customer(new_customer(**fields))
    assert field in refused.value.details
    with as_user(users.lina) as service:
        assert service.list_customers()["total"] == 0


def test_other_services_read_a_summary_without_a_caller(as_user, users, new_customer, service_config):
    from nameko.standalone.rpc import ServiceRpcProxy

    from customers.exceptions import CustomerNotFound

    with as_user(users.lina) as service:
        customer = service.create_customer(new_customer(next_visit_at="2024-06-01T09:00:00+08:00"))
    with ServiceRpcProxy("customers", service_config) as system_call:
        summary = system_call.get_customer_summary(customer["id"])
        with pytest.raises(CustomerNotFound):
            system_call.get_customer_summary(999)
    assert summary == {
        "id": customer["id"],
        "name": "深圳市华为技术有限公司",
        "owner_id": users.lina["id"],
        "team": "east",
        "status": "active",
        "birthday": "1987-09-15",
        "next_visit_at": "2024-06-01T01:00:00+00:00",
        "next_visit_contact": None,
    }
