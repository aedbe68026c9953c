"""Broker connections dropped during writes: every write request leaves exactly one row and one
event, however often RabbitMQ delivers it (issue 9, item 4).

nameko replies before it acknowledges the request. Here the services reach the broker over a
slow link (a `TcpProxy` with ``delay``: their frames arrive 0.2 s late, as on a congested network) that the
test cuts the moment a reply reaches the client: the acknowledgement sent just after that
reply is lost with the connection, RabbitMQ delivers the request again, and without the
request log the write ran a second time with a new event id. The same cut, landing while
nameko writes the acknowledgement, used to stop the service outright (``crm_common.acks``).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse, urlunparse

import eventlet
import pytest
from nameko.exceptions import RpcTimeout
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import create_engine, text

from accounts.service import AccountsService
from crm_common.errors import ServiceUnavailable
from crm_common.idempotency import REQUEST_ID_KEY
from customers.service import CustomersService
from knowledge.service import KnowledgeService
from notify.service import NotifyService
from tests.support.callers import as_caller
from tests.support.databases import service_databases
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.fault

ROUNDS = 3
PER_KIND = 4  # requests of each kind in flight when the link is cut
LINK_DELAY = 0.2


def through(amqp_uri: str, port: int) -> str:
    parts = urlparse(amqp_uri)
    return urlunparse(parts._replace(netloc=f"{parts.username}:{parts.password}@127.0.0.1:{port}"))


@pytest.fixture
def link(rabbit_config):
    parts = urlparse(rabbit_config["AMQP_URI"])
    proxy = TcpProxy(parts.hostname, parts.port or 5672)
    yield proxy
    proxy.close()


@pytest.fixture
def stack(container_factory, rabbit_config, db_url, tmp_path, link, monkeypatch):
    """accounts on a direct connection; customers, knowledge and notify behind the link."""
    monkeypatch.setenv("CRM_ADMIN_PASSWORD", "fault-admin-pw")
    names = ("accounts", "customers", "knowledge", "notify")
    started = []
    with service_databases(db_url, names, tmp_path) as urls:
        direct = rabbit_config["AMQP_URI"]
        for service, cls in (
            ("accounts", AccountsService),
            ("customers", CustomersService),
            ("knowledge", KnowledgeService),
            ("notify", NotifyService),
        ):
            amqp = direct if service == "accounts" else through(direct, link.port)
            config = {"AMQP_URI": amqp, "DB_URL": urls[service], "OUTBOX_POLL_SECONDS": 0.2}
            container = container_factory(cls, {**config, "RPC_TIMEOUT_SECONDS": 3})
            container.start()
            started.append(container)
        yield urls
        # stopped here, while the link still stands: container_factory's own teardown comes
        # after the link's and would wait on consumers reconnecting to a closed port
        for container in reversed(started):
            container.stop()


def call(config, service, caller, method, *args):
    """One request with its own request id, retried with the same id (as a client would) when
    the link is down at the moment it is sent or the service gives up on a nested call."""
    context = {**caller, REQUEST_ID_KEY: str(uuid.uuid4())}
    for _attempt in range(5):
        try:
            with ServiceRpcProxy(service, config, context_data=context, timeout=10) as proxy:
                return getattr(proxy, method)(*args)
        except (ServiceUnavailable, RpcTimeout):
            eventlet.sleep(0.5)
    raise AssertionError(f"{service}.{method} never succeeded")


def count(url, sql, **params):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).all()
    finally:
        engine.dispose()


def test_writes_cut_between_reply_and_ack_leave_one_row_and_one_event_each(stack, rabbit_config, link):
    config = {"AMQP_URI": rabbit_config["AMQP_URI"]}
    admin = as_caller(1, "admin")
    seller = call(
        config,
        "accounts",
        admin,
        "create_user",
        {
            "username": "lina",
            "password": "lina-pw-123",
            "display_name": "李娜",
            "role": "sales",
            "team": "east",
        },
    )
    lina = as_caller(seller["id"], "sales", "east", "lina")
    customer = call(
        config, "customers", lina, "create_customer", {"name": "苏州精工机械有限公司", "phone": "13900001111"}
    )
    due = (datetime.now(UTC) + timedelta(days=3)).isoformat()

    def requests_of_round(n):
        for i in range(PER_KIND):
            tag = f"{n}-{i}"
            yield ("customers", "record_followup", customer["id"], {"kind": "call", "summary": f"电话 {tag}"})
            yield (
                "knowledge",
                "create_entry",
                {"kind": "solution", "title": f"报价技巧 {tag}", "solution": "先问预算再报价"},
            )
            yield ("notify", "create_reminder", {"title": f"回访 {tag}", "due_at": due})

    link.delay = LINK_DELAY
    sent = 0
    for n in range(ROUNDS):
        pool = eventlet.GreenPool()
        replies = [
            pool.spawn(call, config, service, lina, method, *args)
            for service, method, *args in requests_of_round(n)
        ]
        sent += len(replies)
        deadline = time.monotonic() + 30
        while not any(reply.dead for reply in replies) and time.monotonic() < deadline:
            eventlet.sleep(0.005)
        link.cut()  # a reply is out; the acknowledgements behind it are still on the wire
        eventlet.sleep(0.1)
        link.restore()
        pool.waitall()
        for reply in replies:
            reply.wait()
    link.delay = 0.0
    eventlet.sleep(3)  # redeliveries still in flight land before counting

    followups = count(
        stack["customers"], "SELECT summary, count(*) FROM followups GROUP BY summary HAVING count(*) > 1"
    )
    entries = count(
        stack["knowledge"], "SELECT title, count(*) FROM entries GROUP BY title HAVING count(*) > 1"
    )
    reminders = count(
        stack["notify"], "SELECT title, count(*) FROM reminders GROUP BY title HAVING count(*) > 1"
    )
    assert (followups, entries, reminders) == ([], [], [])
    per_kind = ROUNDS * PER_KIND
    assert count(stack["customers"], "SELECT count(*) FROM followups")[0][0] == per_kind
    assert count(stack["knowledge"], "SELECT count(*) FROM entries")[0][0] == per_kind
    assert count(stack["notify"], "SELECT count(*) FROM reminders")[0][0] == per_kind
    published = count(
        stack["knowledge"], "SELECT count(*) FROM outbox_events WHERE event_type = 'entry_published'"
    )[0][0]
    assert published == per_kind
    assert sent == 3 * per_kind
