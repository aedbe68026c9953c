"""Fixtures of the knowledge service tests: the service in a real container on a real vhost and
database (SQLite, and PostgreSQL where CRM_TEST_DB_URL is set), the shared stand-in for accounts
(names), the real customers service on a database of its own (who may read which customer), and
a log of the events it publishes."""

import time
from datetime import UTC, datetime
from types import SimpleNamespace

import eventlet
import pytest
from nameko.events import event_handler
from nameko.standalone.rpc import ServiceRpcProxy

from crm_common.clock import Clock, FrozenClock
from knowledge.service import KnowledgeService
from tests.support.callers import as_caller
from tests.support.customers_service import real_customers  # noqa: F401 — a fixture
from tests.support.fake_accounts import FakeAccounts

USERS = {
    1: {"id": 1, "username": "admin", "display_name": "管理员", "role": "admin", "team": None},
    10: {"id": 10, "username": "wang", "display_name": "王经理", "role": "manager", "team": "east"},
    11: {"id": 11, "username": "lina", "display_name": "李娜", "role": "sales", "team": "east"},
    12: {"id": 12, "username": "zhang", "display_name": "张伟", "role": "sales", "team": "east"},
    20: {"id": 20, "username": "zhao", "display_name": "赵经理", "role": "manager", "team": "west"},
    21: {"id": 21, "username": "chen", "display_name": "陈静", "role": "sales", "team": "west"},
}
# entered in this order into the real customers service, so their ids are 1 and 2: name, owner
CUSTOMERS = (("苏州精工机械有限公司", 11), ("杭州新材料有限公司", 12))
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class EventLog:
    name = "knowledge_event_log"
    seen: list = []

    @event_handler("knowledge", "entry_published")
    def on_entry_published(self, event):
        EventLog.seen.append(event)

    @event_handler("knowledge", "alarm_raised")
    def on_alarm_raised(self, event):
        EventLog.seen.append(event)

    @event_handler("knowledge", "alarm_answered")
    def on_alarm_answered(self, event):
        EventLog.seen.append(event)

    @event_handler("knowledge", "alarm_resolved")
    def on_alarm_resolved(self, event):
        EventLog.seen.append(event)

    @event_handler("knowledge", "entry_voted")
    def on_entry_voted(self, event):
        EventLog.seen.append(event)

    @event_handler("knowledge", "entry_read")
    def on_entry_read(self, event):
        EventLog.seen.append(event)


class Events:
    def __init__(self):
        EventLog.seen = []

    def wait_for(self, event_type, timeout=10, **data):
        """The first ``event_type`` event whose data has ``data``; fails after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in EventLog.seen:
                if event["event_type"] == event_type and all(
                    event["data"].get(key) == value for key, value in data.items()
                ):
                    return event
            eventlet.sleep(0.05)
        raise AssertionError(f"no {event_type} with {data}; seen: {[e['event_type'] for e in EventLog.seen]}")

    def all_of(self, event_type, **data):
        """Every ``event_type`` event seen so far whose data has ``data``."""
        return [
            event
            for event in EventLog.seen
            if event["event_type"] == event_type
            and all(event["data"].get(key) == value for key, value in data.items())
        ]


@pytest.fixture
def users():
    return SimpleNamespace(**{user["username"]: user for user in USERS.values()})


@pytest.fixture
def clock():
    return FrozenClock(START)


@pytest.fixture
def events(container_factory, service_config):
    log = Events()
    container_factory(EventLog, service_config).start()
    return log


@pytest.fixture
def customers(knowledge, service_config, real_customers):  # noqa: F811 — the imported fixture
    """李娜's customer 1 and 张伟's customer 2 in the real customers service (for the tests that
    refer to customers: ``pytestmark = pytest.mark.usefixtures("customers")``)."""
    for name, owner_id in CUSTOMERS:
        user = USERS[owner_id]
        context = as_caller(user["id"], user["role"], user["team"], user["username"])
        with ServiceRpcProxy("customers", service_config, context_data=context) as proxy:
            proxy.create_customer({"name": name})
    return real_customers


@pytest.fixture
def knowledge(container_factory, service_config, migrated, clock, events):
    migrated("knowledge")
    FakeAccounts.use(USERS)
    container_factory(FakeAccounts, service_config).start()

    frozen = clock

    class KnowledgeOnFrozenClock(KnowledgeService):
        clock = Clock(frozen)

    container = container_factory(KnowledgeOnFrozenClock, service_config)
    container.start()
    return container


@pytest.fixture
def as_user(service_config, knowledge):
    """``with as_user(users.lina) as service:`` — RPC to knowledge as that user."""

    def connect(user):
        return ServiceRpcProxy(
            "knowledge",
            service_config,
            context_data=as_caller(user["id"], user["role"], user["team"], user["username"]),
        )

    return connect


@pytest.fixture
def system_call(service_config, knowledge):
    """RPC to knowledge as another service, with no user."""
    return lambda: ServiceRpcProxy("knowledge", service_config)
