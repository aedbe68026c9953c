"""Matching, second round (issue 12): the region rule, homophones, near matches while typing,
a manager's override of a block, and the rekey command; real broker, real database."""

import io

import pytest
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import create_engine, delete, insert, select
from sqlalchemy.orm import sessionmaker

from crm_common.errors import Forbidden
from customers import rekey
from customers.exceptions import DuplicateCustomer
from customers.models import CustomerKey, FuzzyKey

SHENZHEN = "深圳市恒发五金有限公司"
GUANGZHOU = "广州市恒发五金有限公司"


def scan_of(scanner, name):
    return entrypoint_waiter(
        scanner,
        "scan_new_customer",
        timeout=10,
        callback=lambda worker_ctx, result, exc_info: worker_ctx.args[0]["data"]["name"] == name,
    )


@pytest.fixture
def shenzhen(as_user, users, customers, scanner):
    with as_user(users.lina) as service, scan_of(scanner, SHENZHEN):
        return service.create_customer({"name": SHENZHEN, "phone": "0755-86001234"})


def test_the_same_trade_name_in_another_city_is_accepted_and_flagged(
    as_user, users, customers, scanner, shenzhen, events
):
    with as_user(users.chen) as service, scan_of(scanner, GUANGZHOU):
        guangzhou = service.create_customer({"name": GUANGZHOU})
    suspected = events.wait_for("customer_duplicate_suspected", customer_id=guangzhou["id"])
    assert suspected["data"]["duplicate_of_id"] == shenzhen["id"]
    assert suspected["data"]["reason"].startswith("同字号，不同地区")
    with as_user(users.zhao) as service:
        [pair] = service.list_duplicates()
    assert pair["reason"].startswith("同字号，不同地区") and pair["customer"]["id"] == guangzhou["id"]


@pytest.mark.parametrize(
    "name", ["恒发五金有限公司", "广东省深圳市恒发五金有限公司", "恒发五金（深圳）有限公司"]
)
def test_a_region_on_one_side_only_or_the_same_region_still_blocks(as_user, users, shenzhen, name):
    with as_user(users.chen) as service, pytest.raises(DuplicateCustomer) as refused:
        service.create_customer({"name": name})
    assert refused.value.details["customer_id"] == shenzhen["id"]
    assert refused.value.details["matched_on"] == ["name"]


def test_a_name_without_region_blocks_every_region_entered_after_it(as_user, users, customers):
    with as_user(users.lina) as service:
        service.create_customer({"name": "恒发五金有限公司"})
    with as_user(users.chen) as service, pytest.raises(DuplicateCustomer):
        service.create_customer({"name": GUANGZHOU})


def test_check_returns_near_matches_with_score_and_reason_never_contact_details(as_user, users, shenzhen):
    with as_user(users.chen) as service:
        other_city = service.check_duplicates({"name": GUANGZHOU})
        same = service.check_duplicates({"name": "恒发五金"})
    assert other_city["duplicate"] is False
    [match] = other_city["matches"]
    assert match["customer_id"] == shenzhen["id"] and match["score"] == 95.0
    assert match["reason"].startswith("同字号，不同地区") and match["matched_on"] == ["similar_name"]
    assert match["name"] is None  # 陈静 may not read 李娜's customer: a near match shows no name
    assert set(match) == {
        "customer_id",
        "name",
        "owner",
        "owner_id",
        "status",
        "matched_on",
        "score",
        "reason",
        "entered_at",
    }
    assert same["duplicate"] is True and same["matches"][0]["name"] == SHENZHEN  # the same company typed
    with as_user(users.lina) as service:  # the owner reads the name of her own near match
        [own] = service.check_duplicates({"name": GUANGZHOU})["matches"]
    assert own["name"] == SHENZHEN


def test_a_homophone_is_flagged_by_the_scan_and_shown_while_typing(
    as_user, users, customers, scanner, events
):
    with as_user(users.lina) as service, scan_of(scanner, "阿里巴巴网络技术有限公司"):
        earlier = service.create_customer({"name": "阿里巴巴网络技术有限公司"})
    with as_user(users.chen) as service:
        [near] = service.check_duplicates({"name": "阿里吧吧网络技术有限公司"})["matches"]
        with scan_of(scanner, "阿里吧吧网络技术有限公司"):
            later = service.create_customer({"name": "阿里吧吧网络技术有限公司"})
    assert near["customer_id"] == earlier["id"] and near["reason"].startswith("同音")
    suspected = events.wait_for("customer_duplicate_suspected", customer_id=later["id"])
    assert (
        suspected["data"]["reason"].startswith("同音")
        and suspected["data"]["duplicate_of_id"] == earlier["id"]
    )


@pytest.mark.parametrize(
    ("stored", "typed", "reason"),
    [
        ("華為技術有限公司", "华为技术有限公司", "繁简"),
        ("华为技术有限公司", "Huawei Technologies Co., Ltd.", "中英文名"),
    ],
)
def test_traditional_and_english_names_are_near_matches(as_user, users, customers, stored, typed, reason):
    with as_user(users.lina) as service:
        service.create_customer({"name": stored})
    with as_user(users.chen) as service:
        result = service.check_duplicates({"name": typed})
    assert result["duplicate"] is False
    assert result["matches"][0]["reason"].startswith(reason)


def test_only_a_manager_or_admin_lets_a_blocked_entry_through(as_user, users, shenzhen):
    with as_user(users.zhang) as service, pytest.raises(Forbidden):
        service.create_customer({"name": SHENZHEN, "override": {"reason": "我说是两家"}})


def test_a_managers_override_is_recorded_and_published(as_user, users, customers, shenzhen, events):
    reason = "同名不同主体：营业执照统一社会信用代码不同"
    with as_user(users.wang) as service:
        entered = service.create_customer(
            {"name": SHENZHEN, "phone": "0755 8600 1234", "override": {"reason": reason}}
        )
        history = service.get_history(entered["id"])
    [change] = history["ownership_changes"]
    assert change["reason"] == "duplicate_overridden" and change["note"] == reason
    event = events.wait_for("customer_duplicate_overridden", customer_id=entered["id"])
    assert event["data"]["reason"] == reason and event["data"]["overridden_by"] == users.wang["id"]
    [match] = event["data"]["matches"]
    assert match["customer_id"] == shenzhen["id"] and sorted(match["matched_on"]) == ["name", "phone"]
    # the keys stay with the first customer: a third entry is refused naming it
    with as_user(users.chen) as service, pytest.raises(DuplicateCustomer) as refused:
        service.create_customer({"name": SHENZHEN})
    assert refused.value.details["customer_id"] == shenzhen["id"]


def test_an_override_without_a_reason_is_refused(as_user, users, shenzhen):
    from crm_common.errors import InvalidInput

    with as_user(users.wang) as service, pytest.raises(InvalidInput) as refused:
        service.create_customer({"name": SHENZHEN, "override": {"reason": "  "}})
    assert "override" in refused.value.details


def test_rekey_recomputes_version_one_keys_reports_changed_pairs_and_is_safe_twice(
    as_user, users, customers, shenzhen, service_config
):
    with as_user(users.wang) as service:  # a pair the version-1 rule would have blocked
        guangzhou = service.create_customer({"name": GUANGZHOU})
    engine = create_engine(service_config["DB_URL"])
    sessions = sessionmaker(bind=engine)
    with sessions() as session, session.begin():  # the keys as version 1 stored them
        session.execute(delete(CustomerKey))
        session.execute(delete(FuzzyKey))
        session.execute(
            insert(CustomerKey),
            [{"kind": "name", "key": "恒发五金", "customer_id": shenzhen["id"]},
             {"kind": "phone", "key": "+8675586001234", "customer_id": shenzhen["id"]}],
        )  # fmt: skip
    out = io.StringIO()
    first = rekey.rekey(sessions, batch_size=1, out=out)
    assert first.changed == 2 and first.held_elsewhere == []
    assert first.pairs == [(shenzhen["id"], guangzhou["id"], rekey.BLOCK, rekey.FLAG)]
    assert "done up to id" in out.getvalue()
    with sessions() as session:
        keys = set(
            session.execute(select(CustomerKey.kind, CustomerKey.key, CustomerKey.customer_id)).tuples()
        )
    assert keys == {
        ("name", "恒发五金@广东/深圳", shenzhen["id"]),
        ("phone", "+8675586001234", shenzhen["id"]),
        ("name", "恒发五金@广东/广州", guangzhou["id"]),
    }
    second = rekey.rekey(sessions, out=io.StringIO())
    assert (second.customers, second.changed, second.pairs) == (2, 0, [])
    resumed = rekey.rekey(sessions, after_id=shenzhen["id"], out=io.StringIO())
    assert resumed.customers == 1
    engine.dispose()
    with as_user(users.chen) as service, pytest.raises(DuplicateCustomer):  # the new keys block
        service.create_customer({"name": "广东省深圳市恒发五金有限公司"})


def test_rekey_command_line_prints_the_report(customers, service_config, shenzhen):
    out = io.StringIO()
    assert rekey.main(["--db-url", service_config["DB_URL"]], out=out) == 0
    assert "key version 2" in out.getvalue() and "pair(s) whose status changed" in out.getvalue()
    assert rekey.main(["--batch-size", "0"], out=io.StringIO()) == 2
