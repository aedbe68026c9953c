"""Customer names never leak to someone who may not read the customer: not through referrals,
not through the duplicate check, not through another service asking on the caller's behalf."""

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from crm_common.errors import InvalidInput, Unauthenticated
from customers.exceptions import CustomerNotFound, DuplicateCustomer, NotYourCustomer


@pytest.fixture
def linas(as_user, users, new_customer):
    with as_user(users.lina) as service:
        return service.create_customer(new_customer("深圳市华为技术有限公司", phone="13800138000"))


def test_a_referrer_the_caller_may_not_read_is_refused_exactly_like_an_unknown_id(
    as_user, users, new_customer, linas
):
    for reader in (users.chen, users.zhang):  # another team; a colleague who does not own it
        with as_user(reader) as service:
            with pytest.raises(InvalidInput) as unreadable:
                service.create_customer(new_customer("鑫源贸易有限公司", referred_by=linas["id"]))
            with pytest.raises(InvalidInput) as unknown:
                service.create_customer(new_customer("鑫源贸易有限公司", referred_by=424242))
            own = service.create_customer(new_customer(f"{reader['username']}机械有限公司"))
            with pytest.raises(InvalidInput) as amended:
                service.request_amendment(
                    own["id"], {"changes": {"referred_by": linas["id"]}, "reason": "介绍"}
                )
        assert unreadable.value.details == unknown.value.details == {"referred_by": ["no such customer"]}
        assert amended.value.details == {"referred_by": ["no such customer"]}
        assert str(unreadable.value) == str(unknown.value)
    with as_user(users.wang) as service:  # the team's manager reads it, so may name it
        referred = service.create_customer(new_customer("东方电子有限公司", referred_by=linas["id"]))
    assert referred["referred_by"] == linas["id"]


def test_the_tree_shows_others_customers_as_bare_nodes_in_both_directions(
    as_user, users, new_customer, linas
):
    with as_user(users.lina) as service:
        referred = service.create_customer(new_customer("西部矿业有限公司", referred_by=linas["id"]))
    with as_user(users.admin) as service:  # the referred customer moves to the other team
        service.transfer_customer(referred["id"], {"owner_id": users.chen["id"], "reason": "调往西区"})

    with as_user(users.lina) as service:
        below = service.get_referrals(linas["id"])
    assert below["name"] == "深圳市华为技术有限公司" and below["readable"] is True
    [child] = below["children"]
    assert child == {
        "customer_id": referred["id"],
        "readable": False,
        "name": None,
        "owner": None,
        "truncated": False,
        "children": [],
    }

    with as_user(users.chen) as service:
        above = service.get_referrals(referred["id"])
    assert above["name"] == "西部矿业有限公司" and above["owner"] == "陈静"
    assert above["referrers"] == [
        {"customer_id": linas["id"], "readable": False, "name": None, "owner": None}
    ]

    for manager, sees_referrer in ((users.zhao, False), (users.admin, True)):
        with as_user(manager) as service:
            tree = service.get_referrals(referred["id"])
        assert (tree["referrers"][0]["name"] == "深圳市华为技术有限公司") is sees_referrer


def test_the_check_names_owner_reason_and_score_but_the_name_only_to_who_may_know_it(as_user, users, linas):
    with as_user(users.chen) as service:
        fragment = service.check_duplicates({"name": "华为"})
        same_company = service.check_duplicates({"name": "华为技术（深圳）有限公司"})
        by_phone = service.check_duplicates({"phone": "138 0013 8000"})
    [near] = fragment["matches"]
    assert near["customer_id"] == linas["id"] and near["owner"] == "李娜"
    assert near["score"] == 90.0 and near["reason"] == "名称包含（华为）" and near["name"] is None
    assert same_company["matches"][0]["name"] == "深圳市华为技术有限公司"  # the company they typed
    assert by_phone["duplicate"] is True and by_phone["matches"][0]["owner"] == "李娜"
    assert by_phone["matches"][0]["name"] is None  # a phone is no licence to learn the name

    for reader in (users.lina, users.wang, users.admin):
        with as_user(reader) as service:
            assert (
                service.check_duplicates({"name": "华为"})["matches"][0]["name"] == "深圳市华为技术有限公司"
            )


def test_a_refused_entry_names_the_owner_but_not_the_name_behind_a_phone(as_user, users, new_customer, linas):
    with as_user(users.chen) as service, pytest.raises(DuplicateCustomer) as refused:
        service.create_customer(new_customer("完全不同的名字商行", phone="13800138000"))
    details = refused.value.details
    assert details["customer_id"] == linas["id"] and details["owner"] == "李娜"
    assert details["name"] is None and details["matches"][0]["name"] is None


def test_other_services_ask_whether_the_caller_may_read_a_customer(service_config, as_user, users, linas):
    with as_user(users.lina) as service:
        readable = service.require_readable(linas["id"])
    assert readable == {
        "id": linas["id"],
        "name": "深圳市华为技术有限公司",
        "owner_id": users.lina["id"],
        "team": "east",
        "status": "active",
    }
    with as_user(users.zhang) as service:
        with pytest.raises(NotYourCustomer):
            service.require_readable(linas["id"])
        with pytest.raises(CustomerNotFound):
            service.require_readable(424242)
    with ServiceRpcProxy("customers", service_config) as system, pytest.raises(Unauthenticated):
        system.require_readable(linas["id"])
