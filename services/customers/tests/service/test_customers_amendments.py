"""Append-only records: no edit, no delete; corrections are amendments the manager approves."""

import pytest

from crm_common.errors import Forbidden, InvalidInput
from customers.exceptions import (
    AlreadyDecided,
    CustomerArchived,
    DuplicateCustomer,
    ImmutableRecord,
    NothingToAmend,
)


@pytest.fixture
def lina_customer(as_user, users, new_customer):
    with as_user(users.lina) as service:
        customer = service.create_customer(new_customer("鑫源贸易有限公司", phone="13800138000"))
        followup = service.record_followup(customer["id"], {"kind": "visit", "summary": "拜访王总，谈报价"})
    return customer, followup


def test_a_salesperson_can_neither_edit_nor_delete_a_customer_or_a_followup(as_user, users, lina_customer):
    customer, followup = lina_customer
    with as_user(users.lina) as service:
        for action in ("change", "delete"):
            with pytest.raises(ImmutableRecord):
                service.edit_customer(customer["id"], action)
            with pytest.raises(ImmutableRecord):
                service.edit_followup(customer["id"], followup["id"], action)
        unchanged = service.get_customer(customer["id"])
    assert unchanged["revision"] == 1 and unchanged["name"] == "鑫源贸易有限公司"
    assert [f["summary"] for f in unchanged["followups"]] == ["拜访王总，谈报价"]


def test_an_approved_amendment_becomes_a_new_revision_and_the_old_one_stays(
    as_user, users, lina_customer, events
):
    customer, _ = lina_customer
    contacts = [{"name": "王总", "title": "董事长", "phone": "13912345678", "decision_level": 5}]
    with as_user(users.lina) as service:
        requested = service.request_amendment(
            customer["id"],
            {
                "changes": {"address": "上海市浦东新区", "contacts": contacts},
                "reason": "公司搬迁，王总升任董事长",
            },
        )
    assert requested["status"] == "pending" and requested["changed_fields"] == ["address", "contacts"]
    events.wait_for("amendment_requested", amendment_id=requested["id"], team="east")

    with as_user(users.wang) as service:
        approved = service.approve_amendment(customer["id"], requested["id"], {"note": "核实过"})
        amended = service.get_customer(customer["id"])
        history = service.get_history(customer["id"])
    assert approved["status"] == "approved" and approved["revision"] == 2
    assert amended["revision"] == 2 and amended["address"] == "上海市浦东新区"
    assert amended["contacts"][0]["phone"] == "+8613912345678"

    first, second = history["revisions"]
    assert first["revision"] == 1 and first["snapshot"]["address"] == "深圳市龙岗区坂田"
    assert first["changed_by_name"] == "李娜" and first["reason"] == "entered"
    assert second["snapshot"]["address"] == "上海市浦东新区"
    assert second["changed_fields"] == ["address", "contacts"]
    assert second["reason"] == "公司搬迁，王总升任董事长"
    assert second["changed_by_name"] == "李娜" and second["approved_by_name"] == "王经理"
    assert history["amendments"][0]["decision_note"] == "核实过"

    event = events.wait_for("customer_amended", customer_id=customer["id"])
    assert event["data"]["revision"] == 2 and event["data"]["changed_fields"] == ["address", "contacts"]
    assert event["data"]["owner_name"] == "李娜" and event["data"]["team"] == "east"


@pytest.mark.parametrize("decider", ["lina", "zhang", "zhao"])
def test_only_the_teams_manager_or_an_admin_approves(as_user, users, lina_customer, decider):
    customer, _ = lina_customer
    with as_user(users.lina) as service:
        requested = service.request_amendment(
            customer["id"], {"changes": {"industry": "外贸"}, "reason": "填错"}
        )
    with as_user(getattr(users, decider)) as service, pytest.raises(Forbidden):
        service.approve_amendment(customer["id"], requested["id"])
    with as_user(users.admin) as service:
        assert service.approve_amendment(customer["id"], requested["id"])["status"] == "approved"


def test_a_rejected_amendment_changes_nothing_and_cannot_be_decided_again(as_user, users, lina_customer):
    customer, _ = lina_customer
    with as_user(users.lina) as service:
        requested = service.request_amendment(
            customer["id"], {"changes": {"industry": "外贸"}, "reason": "填错"}
        )
    with as_user(users.wang) as service:
        rejected = service.reject_amendment(customer["id"], requested["id"], {"note": "行业没错"})
        with pytest.raises(AlreadyDecided):
            service.approve_amendment(customer["id"], requested["id"])
        after = service.get_customer(customer["id"])
        history = service.get_history(customer["id"])
    assert rejected["status"] == "rejected" and rejected["decided_by_name"] == "王经理"
    assert after["industry"] == "通信" and after["revision"] == 1
    assert [a["status"] for a in history["amendments"]] == ["rejected"]


def test_pending_amendments_wait_in_the_managers_queue(as_user, users, lina_customer):
    customer, _ = lina_customer
    with as_user(users.lina) as service:
        service.request_amendment(customer["id"], {"changes": {"industry": "外贸"}, "reason": "填错"})
    with as_user(users.wang) as service:
        east_queue = service.list_pending_amendments()
    with as_user(users.zhao) as service:
        west_queue = service.list_pending_amendments()
    assert [(a["customer_name"], a["requested_by_name"]) for a in east_queue] == [
        ("鑫源贸易有限公司", "李娜")
    ]
    assert west_queue == []


def test_an_amendment_that_changes_nothing_or_touches_the_owner_is_refused(as_user, users, lina_customer):
    customer, _ = lina_customer
    with as_user(users.lina) as service:
        with pytest.raises(NothingToAmend):
            service.request_amendment(customer["id"], {"changes": {"industry": "通信"}, "reason": "x"})
        with pytest.raises(InvalidInput) as refused:
            service.request_amendment(customer["id"], {"changes": {"owner_id": 12}, "reason": "x"})
    assert "owner_id" in refused.value.details["changes"]


def test_a_rename_into_another_customer_is_refused_and_a_rename_frees_the_old_name(
    as_user, users, lina_customer, new_customer
):
    customer, _ = lina_customer
    with as_user(users.zhang) as service:
        service.create_customer(new_customer("天成机械厂"))
    with as_user(users.lina) as service:
        with pytest.raises(DuplicateCustomer) as refused:
            service.request_amendment(customer["id"], {"changes": {"name": "天成机械厂"}, "reason": "改名"})
        requested = service.request_amendment(
            customer["id"], {"changes": {"name": "鑫源国际贸易有限公司"}, "reason": "改名"}
        )
    assert refused.value.details["owner"] == "张伟"
    with as_user(users.wang) as service:
        service.approve_amendment(customer["id"], requested["id"])
    with as_user(users.zhang) as service:
        reentered = service.create_customer(new_customer("鑫源贸易有限公司"))
        with pytest.raises(DuplicateCustomer):
            service.create_customer(new_customer("鑫源国际贸易有限公司"))
    assert reentered["owner_name"] == "张伟"


def test_an_admin_archives_but_nobody_deletes(as_user, users, lina_customer, new_customer, events):
    customer, _ = lina_customer
    with as_user(users.wang) as service, pytest.raises(Forbidden):
        service.archive_customer(customer["id"], {"reason": "公司注销"})
    with as_user(users.admin) as service:
        archived = service.archive_customer(customer["id"], {"reason": "公司注销"})
        with pytest.raises(CustomerArchived):
            service.archive_customer(customer["id"], {"reason": "again"})
        history = service.get_history(customer["id"])
    assert archived["status"] == "archived"
    assert history["ownership_changes"][-1]["reason"] == "archived"
    assert history["ownership_changes"][-1]["note"] == "公司注销"
    events.wait_for("customer_archived", customer_id=customer["id"])
    with as_user(users.lina) as service:
        assert service.list_customers()["total"] == 0
        again = service.create_customer(new_customer("鑫源贸易有限公司", phone="13800138000"))
    assert again["id"] != customer["id"]
