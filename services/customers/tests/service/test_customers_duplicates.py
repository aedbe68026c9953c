"""Near-duplicates: the customer_created event triggers a fuzzy scan; the manager decides."""

import pytest
from nameko.testing.services import entrypoint_waiter

from crm_common.errors import Forbidden
from customers.exceptions import AlreadyDecided


def scan_of(scanner, name):
    """Wait until the fuzzy scan (the handler of customer_created) has run for ``name``."""
    return entrypoint_waiter(
        scanner,
        "scan_new_customer",
        timeout=10,
        callback=lambda worker_ctx, result, exc_info: worker_ctx.args[0]["data"]["name"] == name,
    )


@pytest.fixture
def suspected_pair(as_user, users, customers, scanner, new_customer):
    """李娜 (east) entered 华为技术; then 陈静 (west) entered its Beijing branch."""
    with as_user(users.lina) as service, scan_of(scanner, "华为技术有限公司"):
        earlier = service.create_customer(new_customer("华为技术有限公司"))
    with as_user(users.chen) as service, scan_of(scanner, "华为技术有限公司北京分公司"):
        later = service.create_customer(new_customer("华为技术有限公司北京分公司"))
    return earlier, later


def test_the_scan_of_a_new_customer_flags_a_near_duplicate_for_both_managers(
    as_user, users, suspected_pair, events
):
    earlier, later = suspected_pair
    suspected = events.wait_for("customer_duplicate_suspected", customer_id=later["id"])
    assert suspected["data"]["duplicate_of_id"] == earlier["id"]
    assert suspected["data"]["owner_id"] == users.chen["id"]
    assert suspected["data"]["duplicate_owner_id"] == users.lina["id"]
    assert suspected["data"]["score"] == 100.0 and "分支机构" in suspected["data"]["reason"]

    for manager in (users.wang, users.zhao, users.admin):
        with as_user(manager) as service:
            [pair] = service.list_duplicates()
        assert pair["customer"]["id"] == later["id"] and pair["duplicate_of"]["id"] == earlier["id"]
        assert pair["duplicate_of"]["owner_name"] == "李娜" and pair["score"] == 100.0
    with as_user(users.lina) as service, pytest.raises(Forbidden):
        service.list_duplicates()


def test_an_unrelated_customer_is_not_flagged(as_user, users, customers, scanner, suspected_pair):
    with as_user(users.zhang) as service, scan_of(scanner, "天成机械厂"):
        service.create_customer({"name": "天成机械厂"})
    with as_user(users.admin) as service:
        assert len(service.list_duplicates()) == 1


def test_a_redelivered_event_does_not_flag_the_pair_twice(as_user, users, scanner, suspected_pair, events):
    _earlier, later = suspected_pair
    created = events.wait_for("customer_created", customer_id=later["id"])
    from nameko.standalone.events import event_dispatcher

    dispatch = event_dispatcher(scanner.config)
    with entrypoint_waiter(scanner, "scan_new_customer", timeout=10):
        dispatch("customers", "customer_created", created)  # same event_id: handled once
    with as_user(users.admin) as service:
        assert len(service.list_duplicates()) == 1


def test_confirming_hands_the_later_customer_to_the_earlier_owner(as_user, users, suspected_pair, events):
    earlier, later = suspected_pair
    with as_user(users.wang) as service:
        [pair] = service.list_duplicates()
        confirmed = service.confirm_duplicate(pair["id"], {"note": "同一家公司"})
        with pytest.raises(AlreadyDecided):
            service.dismiss_duplicate(pair["id"])
        handed = service.get_customer(later["id"])
        assert service.list_duplicates() == []
        assert [p["id"] for p in service.list_duplicates({"status": "confirmed"})] == [pair["id"]]
    assert confirmed["status"] == "confirmed"
    assert handed["owner_id"] == users.lina["id"] and handed["team"] == "east"
    transferred = events.wait_for("customer_transferred", customer_id=later["id"])
    assert transferred["data"]["reason"] == "duplicate_confirmed"
    assert transferred["data"]["from_owner_id"] == users.chen["id"]


def test_dismissing_keeps_both_owners(as_user, users, suspected_pair):
    earlier, later = suspected_pair
    with as_user(users.zhao) as service:
        [pair] = service.list_duplicates()
        dismissed = service.dismiss_duplicate(pair["id"], {"note": "分公司独立采购"})
        assert service.get_customer(later["id"])["owner_id"] == users.chen["id"]
    assert dismissed["status"] == "dismissed" and dismissed["note"] == "分公司独立采购"


def test_an_abbreviation_entered_earlier_is_flagged_though_it_shares_one_bigram(
    as_user, users, customers, scanner
):
    with as_user(users.lina) as service, scan_of(scanner, "宏达"):
        short = service.create_customer({"name": "宏达"})
    with as_user(users.zhang) as service, scan_of(scanner, "宏达鑫精密机械有限公司"):
        full = service.create_customer({"name": "宏达鑫精密机械有限公司"})
    with as_user(users.wang) as service:
        [pair] = service.list_duplicates()
    assert (pair["customer"]["id"], pair["duplicate_of"]["id"]) == (full["id"], short["id"])
    assert pair["score"] == 90.0 and pair["reason"] == "名称包含（宏达）"
