"""Fixtures for notify in a real container: a real vhost, a real database (SQLite, and PostgreSQL
when CRM_TEST_DB_URL is set), a frozen clock the test moves, a stand-in for accounts answering
over real RPC, and the fake Twilio server spoken to by the real SDK."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from nameko.events import event_handler
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import replace_dependencies
from nameko.timer import Timer
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from crm_common.caller import Caller
from crm_common.clock import FrozenClock
from notify.dependencies import Senders
from notify.models import Notification, Reminder, SmsMessage
from notify.service import NotifyService
from tests.support.customers_service import real_customers  # noqa: F401 — a fixture
from tests.support.fake_accounts import FakeAccounts
from tests.support.fake_twilio import FakeTwilio

SENDER = "+15005550006"

USERS = {
    1: {
        "id": 1,
        "username": "admin",
        "display_name": "管理员",
        "role": "admin",
        "team": None,
        "phone": None,
        "active": True,
    },
    11: {
        "id": 11,
        "username": "lina",
        "display_name": "李娜",
        "role": "sales",
        "team": "east",
        "phone": "+8613900139000",
        "escalate_after_minutes": 15,
        "active": True,
    },
    12: {
        "id": 12,
        "username": "zhangwei",
        "display_name": "张伟",
        "role": "sales",
        "team": "east",
        "phone": "+8613700137000",
        "escalate_after_minutes": 5,
    },
    21: {
        "id": 21,
        "username": "wangfang",
        "display_name": "王芳",
        "role": "manager",
        "team": "east",
        "phone": "+8613800138000",
        "escalate_after_minutes": 10,
    },
    31: {
        "id": 31,
        "username": "zhaoqiang",
        "display_name": "赵强",
        "role": "sales",
        "team": "west",
        "phone": "+8613600136000",
        "escalate_after_minutes": 10,
    },
    41: {
        "id": 41,
        "username": "zhoumin",
        "display_name": "周敏",
        "role": "manager",
        "team": "west",
        "phone": "+8613500135000",
        "escalate_after_minutes": 10,
    },
}


class NotifyListener:
    """Collects what notify publishes."""

    name = "notify_listener"
    seen: list[dict] = []

    @event_handler("notify", "reminder_due")
    def on_due(self, event):
        NotifyListener.seen.append(event)

    @event_handler("notify", "reminder_escalated")
    def on_escalated(self, event):
        NotifyListener.seen.append(event)

    @event_handler("notify", "sms_sent")
    def on_sms_sent(self, event):
        NotifyListener.seen.append(event)

    @event_handler("notify", "sms_failed")
    def on_sms_failed(self, event):
        NotifyListener.seen.append(event)

    @event_handler("notify", "reminder_acknowledged")
    def on_acknowledged(self, event):
        NotifyListener.seen.append(event)


def caller(user_id: int) -> dict:
    user = USERS[user_id]
    return Caller(user_id, user["username"], user["role"], user["team"]).to_context()


def wait_for(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout}s: {check.__doc__ or check}")
        time.sleep(interval)


@pytest.fixture
def users():
    return FakeAccounts.use(USERS.values())


@pytest.fixture
def accounts(container_factory, rabbit_config, users):
    container = container_factory(FakeAccounts, rabbit_config)
    container.start()
    return container


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def notify_config(service_config) -> dict:
    return {
        **service_config,
        "TICK_SECONDS": 0.05,
        "REVIEW_SECONDS": 0.1,
        "SMS_RETRY_BASE_SECONDS": 10,
        "SMS_MAX_ATTEMPTS": 3,
        "SMS_LEASE_SECONDS": 30,
        "ACCOUNTS_TIMEOUT_SECONDS": 2,
        "OUTBOX_POLL_SECONDS": 0.1,
    }


@pytest.fixture
def start_notify(notify_config, migrated, container_factory, accounts, clock):
    """Start a notify container (more than one may share the database) on the frozen clock.

    At the end its timers and SMS senders finish what they are doing before the container is
    killed: one killed in the middle of a transaction would leave its connection holding locks
    on the test schema that is dropped next. (A full ``stop()`` costs nameko 2.5 s.)
    """
    migrated("notify")
    started = []

    def start(**config: Any):
        container = container_factory(NotifyService, {**notify_config, **config})
        replace_dependencies(container, clock=clock)
        container.start()
        started.append(container)
        return container

    yield start
    for container in (container for container in started if container.started):
        for entrypoint in container.entrypoints:
            if isinstance(entrypoint, Timer):
                entrypoint.stop()  # waits for the tick in progress
        for dependency in container.dependencies:
            if isinstance(dependency, Senders):
                dependency.stop()  # waits for sends and their recording


@pytest.fixture
def notify(start_notify):
    return start_notify()


@pytest.fixture
def listener(container_factory, rabbit_config):
    NotifyListener.seen = []
    container = container_factory(NotifyListener, rabbit_config)
    container.start()
    return NotifyListener.seen


@pytest.fixture
def fake_twilio(monkeypatch) -> Iterator[FakeTwilio]:
    with FakeTwilio(stall_seconds=1.5) as fake:
        monkeypatch.setenv("TWILIO_ACCOUNT_SID", fake.account_sid)
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", fake.auth_token)
        yield fake


@pytest.fixture
def twilio_config(fake_twilio) -> dict:
    return {"TWILIO_FROM": SENDER, "TWILIO_BASE_URL": fake_twilio.base_url, "TWILIO_TIMEOUT_SECONDS": 0.5}


class Database:
    """Read the notify database as a test: what was stored, counted per reminder."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)

    def rows(self, model: Any, *where: Any) -> list:
        with Session(self.engine) as session:
            key = model.__mapper__.primary_key[0]
            return list(session.scalars(select(model).where(*where).order_by(key)))

    def reminder(self, reminder_id: int) -> Reminder:
        with Session(self.engine) as session:
            row = session.get(Reminder, reminder_id)
            assert row is not None
            return row

    def sms(self, *where: Any) -> list[SmsMessage]:
        return self.rows(SmsMessage, *where)

    def notifications(self, *where: Any) -> list[Notification]:
        return self.rows(Notification, *where)


@pytest.fixture
def database(db_url, migrated) -> Iterator[Database]:
    migrated("notify")
    db = Database(db_url)
    yield db
    db.engine.dispose()


@pytest.fixture
def rpc(service_config):
    """``with rpc(user_id) as notify:`` a proxy calling notify as that user (None: a system call)."""

    def proxy(user_id: int | None = None) -> ServiceRpcProxy:
        return ServiceRpcProxy("notify", service_config, context_data=caller(user_id) if user_id else {})

    return proxy
