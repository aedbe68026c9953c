"""One bad value never takes the service down: every way in (JSON entry, amendments, the CSV
import, the events it consumes) holds customers to the same entry rules."""

import base64
import logging
import time
import uuid

import eventlet
import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter, restrict_entrypoints

from crm_common.errors import InvalidInput
from customers.service import CustomersService
from customers.service_scanner import CustomersScannerService

HUGE_NAME = "华为" * 50_000  # 100,000 characters: the row that killed the service


def test_an_entry_or_an_amendment_with_a_huge_name_is_refused_with_a_short_error(as_user, users):
    with as_user(users.lina) as service:
        with pytest.raises(InvalidInput) as entry:
            service.create_customer({"name": HUGE_NAME})
        customer = service.create_customer({"name": "鑫源贸易有限公司"})
        with pytest.raises(InvalidInput) as amendment:
            service.request_amendment(customer["id"], {"changes": {"name": HUGE_NAME}, "reason": "改名"})
    assert "name" in entry.value.details and len(str(entry.value.details)) < 300
    assert "name" in amendment.value.details["changes"] and len(str(amendment.value.details)) < 300


def test_an_imported_row_with_a_huge_name_is_reported_invalid_and_the_rest_imported(
    as_user, users, customers, scanner
):
    sheet = f"公司名称,电话\r\n{HUGE_NAME},13800138000\r\n鑫源贸易有限公司,13900139000\r\n"
    with as_user(users.lina) as service:
        with entrypoint_waiter(scanner, "scan_new_customer", timeout=30):
            job = service.import_customers(base64.b64encode(sheet.encode()).decode("ascii"))
            deadline = time.monotonic() + 30
            while job["state"] not in ("finished", "failed"):
                assert time.monotonic() < deadline, job
                eventlet.sleep(0.1)
                job = service.get_import_job(job["id"], {"per_page": 100})
        rows = job["rows"]
        assert [row["status"] for row in rows] == ["invalid", "created"]
        assert "name" in rows[0]["field_errors"] and all(len(error) < 400 for error in rows[0]["errors"])
        assert [c["name"] for c in service.list_customers()["items"]] == ["鑫源贸易有限公司"]


@pytest.fixture
def unscanned_pair(container_factory, service_config, migrated, accounts, as_caller_of):
    """Two near-duplicates entered while no scan was listening (their events went nowhere)."""
    migrated("customers")
    entry_only = container_factory(CustomersService, service_config)
    restrict_entrypoints(entry_only, "create_customer")  # nor does it scan: see service_scanner
    entry_only.start()
    with as_caller_of("lina") as service:
        earlier = service.create_customer({"name": "宏达"})
    with as_caller_of("zhang") as service:
        later = service.create_customer({"name": "宏达鑫精密机械有限公司"})
    entry_only.stop()
    return earlier, later


@pytest.fixture
def as_caller_of(service_config, users):
    from nameko.standalone.rpc import ServiceRpcProxy

    from tests.support.callers import as_caller

    def connect(username):
        user = getattr(users, username)
        context = as_caller(user["id"], user["role"], user["team"], user["username"])
        return ServiceRpcProxy("customers", service_config, context_data=context)

    return connect


def forged(event_type, **data):
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "occurred_at": "2026-01-05T09:00:00+00:00",
        "version": 1,
        "data": data,
    }


@pytest.mark.parametrize(
    ("event_type", "handler", "extra"),
    [
        ("customer_created", "scan_new_customer", {}),
        ("customer_amended", "scan_amended_customer", {"changed_fields": ["name"]}),
    ],
)
def test_an_event_whose_name_breaks_the_entry_rules_is_dropped_with_a_log_line_never_scanned(
    unscanned_pair, container_factory, service_config, as_caller_of, caplog, event_type, handler, extra
):
    _earlier, later = unscanned_pair
    container_factory(CustomersService, service_config).start()
    scanner = container_factory(CustomersScannerService, service_config)
    scanner.start()
    dispatch = event_dispatcher(service_config)
    bad = forged(event_type, customer_id=later["id"], name=HUGE_NAME, **extra)
    with (
        caplog.at_level(logging.ERROR, logger="customers.service_scanner"),
        entrypoint_waiter(scanner, handler, timeout=10),
    ):
        dispatch("customers", event_type, bad)
    with as_caller_of("wang") as service:
        assert service.list_duplicates() == []  # not scanned: the pair is still unknown
    [line] = [record.getMessage() for record in caplog.records if bad["event_id"] in record.getMessage()]
    assert "dropped" in line and "name" in line and len(line) < 600

    good = forged(event_type, customer_id=later["id"], name=later["name"], **extra)
    with entrypoint_waiter(scanner, handler, timeout=10):
        dispatch("customers", event_type, good)
    with as_caller_of("wang") as service:
        [pair] = service.list_duplicates()  # the same customer, named within the rules, is scanned
    assert pair["customer"]["id"] == later["id"]
