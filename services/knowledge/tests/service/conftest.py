"""Fixtures of the knowledge service tests: the service in a real container on a real vhost and
database (SQLite, and PostgreSQL where CRM_TEST_DB_URL is set), small stand-ins for accounts
(names) and customers (who may see which customer), and a log of the events it publishes."""

import time
from datetime import UTC, datetime
from types import SimpleNamespace

import eventlet
import pytest
from nameko.events import event_handler
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy

from crm_common.clock import Clock, FrozenClock
from crm_common.errors import Forbidden, NotFound
from crm_common.identity import CallerIdentity
from knowledge.service import KnowledgeService
from tests.support.callers import as_caller

USERS = {
    1: {"id": 1, "username": "admin", "display_name": "管理员", "role": "admin", "team": None},
    10: {"id": 10, "username": "wang", "display_name": "王经理", "role": "manager", "team": "east"},
    11: {"id": 11, "username": "lina", "display_name": "李娜", "role": "sales", "team": "east"},
    12: {"id": 12, "username": "zhang", "display_name": "张伟", "role": "sales", "team": "east"},
    20: {"id": 20, "username": "zhao", "display_name": "赵经理", "role": "manager", "team": "west"},
    21: {"id": 21, "username": "chen", "display_name": "陈静", "role": "sales", "team": "west"},
}
# customer id → (name, owner id, team)
CUSTOMERS = {501: ("苏州精工机械有限公司", 11, "east"), 502: ("杭州新材料有限公司", 12, "east")}
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FakeAccounts:
    name = "accounts"

    @rpc
    def get_users(self, user_ids):
        return {str(uid): USERS[uid] for uid in user_ids if uid in USERS}


class FakeCustomers:
    """customers.get_customer as the real one decides it: the owner and the team's manager."""

    name = "customers"
    caller = CallerIdentity()

    @rpc(expected_exceptions=(NotFound, Forbidden))
    def get_customer(self, customer_id):
        if customer_id not in CUSTOMERS:
            raise NotFound(f"no customer {customer_id}")
        name, owner_id, team = CUSTOMERS[customer_id]
        if not self.caller.require().can_read(owner_id, team):
            raise Forbidden("not your customer")
        return {"id": customer_id, "name": name, "owner_id": owner_id, "team": team}


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
def knowledge(container_factory, service_config, migrated, clock, events):
    migrated("knowledge")
    container_factory(FakeAccounts, service_config).start()
    container_factory(FakeCustomers, service_config).start()

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
