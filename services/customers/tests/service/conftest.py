"""Fixtures of the customers service tests: the service in a real container on a real vhost and
database, the shared stand-in for accounts (tests/support/fake_accounts.py) with this team, and a
log of the events it publishes."""

import time
from types import SimpleNamespace

import eventlet
import pytest
from nameko.events import event_handler
from nameko.standalone.rpc import ServiceRpcProxy

from customers.service import CustomersService
from customers.service_scanner import CustomersScannerService
from tests.support.callers import as_caller
from tests.support.fake_accounts import FakeAccounts

USERS = {
    1: {"id": 1, "username": "admin", "display_name": "管理员", "role": "admin", "team": None},
    10: {"id": 10, "username": "wang", "display_name": "王经理", "role": "manager", "team": "east"},
    11: {"id": 11, "username": "lina", "display_name": "李娜", "role": "sales", "team": "east"},
    12: {"id": 12, "username": "zhang", "display_name": "张伟", "role": "sales", "team": "east"},
    13: {"id": 13, "username": "liu", "display_name": "刘洋", "role": "sales", "team": "east"},
    20: {"id": 20, "username": "zhao", "display_name": "赵经理", "role": "manager", "team": "west"},
    21: {"id": 21, "username": "chen", "display_name": "陈静", "role": "sales", "team": "west"},
}
PASSWORD = "secret-pw-1"


class EventLog:
    """Every event customers publishes, in arrival order."""

    name = "customers_event_log"
    seen: list = []

    def _log(self, event):
        EventLog.seen.append(event)

    @event_handler("customers", "customer_created")
    def on_created(self, event):
        self._log(event)

    @event_handler("customers", "customer_amended")
    def on_amended(self, event):
        self._log(event)

    @event_handler("customers", "customer_transferred")
    def on_transferred(self, event):
        self._log(event)

    @event_handler("customers", "customer_abandoned")
    def on_abandoned(self, event):
        self._log(event)

    @event_handler("customers", "customer_duplicate_suspected")
    def on_duplicate_suspected(self, event):
        self._log(event)

    @event_handler("customers", "customer_archived")
    def on_archived(self, event):
        self._log(event)

    @event_handler("customers", "customer_claimed")
    def on_claimed(self, event):
        self._log(event)

    @event_handler("customers", "customer_duplicate_overridden")
    def on_duplicate_overridden(self, event):
        self._log(event)

    @event_handler("customers", "amendment_requested")
    def on_amendment_requested(self, event):
        self._log(event)

    @event_handler("customers", "customer_import_finished")
    def on_import_finished(self, event):
        self._log(event)


class Events:
    def __init__(self):
        EventLog.seen = []

    def of(self, event_type):
        return [event for event in EventLog.seen if event["event_type"] == event_type]

    def wait_for(self, event_type, timeout=10, **data):
        """The first ``event_type`` event whose data has ``data``; fails after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.of(event_type):
                if all(event["data"].get(key) == value for key, value in data.items()):
                    return event
            eventlet.sleep(0.05)
        raise AssertionError(f"no {event_type} with {data}; seen: {EventLog.seen}")


@pytest.fixture
def users():
    return SimpleNamespace(**{user["username"]: user for user in USERS.values()})


@pytest.fixture
def accounts(container_factory, service_config):
    FakeAccounts.use(USERS, PASSWORD)
    container = container_factory(FakeAccounts, service_config)
    container.start()
    return container


@pytest.fixture
def events(container_factory, service_config):
    log = Events()
    container_factory(EventLog, service_config).start()
    return log


@pytest.fixture
def scanner(container_factory, service_config, migrated, events):
    """The fuzzy scan (customers-scanner: a process of its own in production) on the same database."""
    migrated("customers")
    container = container_factory(CustomersScannerService, service_config)
    container.start()
    return container


@pytest.fixture
def customers(container_factory, service_config, migrated, accounts, events, scanner):
    migrated("customers")
    container = container_factory(CustomersService, service_config)
    container.start()
    return container


@pytest.fixture
def as_user(service_config, customers):
    """``with as_user(users.lina) as service:`` — RPC to customers as that user."""

    def connect(user):
        return ServiceRpcProxy(
            "customers",
            service_config,
            context_data=as_caller(user["id"], user["role"], user["team"], user["username"]),
        )

    return connect


@pytest.fixture
def new_customer():
    """A valid new-customer payload, with overrides."""

    def build(name="深圳市华为技术有限公司", **fields):
        return {
            "name": name,
            "phone": fields.pop("phone", None),
            "address": "深圳市龙岗区坂田",
            "industry": "通信",
            "birthday": "1987-09-15",
            "contacts": fields.pop(
                "contacts", [{"name": "王总", "title": "总经理", "phone": None, "decision_level": 5}]
            ),
            **fields,
        }

    return build
