"""The outbox: events commit and roll back with the business change, the relay publishes and
marks them, a redelivered event is acted on once, and a broker outage loses nothing."""

import json

import eventlet
import pytest
from kombu.exceptions import OperationalError
from nameko.events import event_handler
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import Column, Integer, String, create_engine, func, select, update
from sqlalchemy.orm import DeclarativeBase

from crm_common.db import Database, UnitOfWork
from crm_common.events import handle_once
from crm_common.models import service_metadata
from crm_common.outbox import OUTBOX_TABLE, PUBLISH_YIELD_EVERY, ConfirmingChannel, OutboxRelay
from tests.support.tcp_proxy import TcpProxy


class Base(DeclarativeBase):
    metadata = service_metadata()


class Order(Base):
    __tablename__ = "orders"
    id = Column(Integer, primary_key=True)
    title = Column(String(50), nullable=False)


class Effect(Base):
    __tablename__ = "effects"
    id = Column(Integer, primary_key=True)
    event_id = Column(String(64), nullable=False)


class ShopService:
    name = "shop"
    db = Database(Base.metadata)

    @rpc
    def place(self, title):
        self.db.session.add(Order(title=title))
        self.db.emit("order_placed", {"title": title})
        return title

    @rpc
    def place_then_fail(self, title):
        self.db.session.add(Order(title=title))
        self.db.emit("order_placed", {"title": title})
        raise ValueError("the business rule said no after the event was written")


class LedgerService:
    name = "ledger"
    # shares the shop's test database: its relay would publish the shop's rows as its own
    db = Database(Base.metadata, relay=False)

    @event_handler("shop", "order_placed")
    @handle_once
    def on_order_placed(self, event):
        self.db.session.add(Effect(event_id=event["event_id"]))


@pytest.fixture
def database(db_url):
    engine = create_engine(db_url)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def count(engine, model_or_table, *where):
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model_or_table).where(*where))


def outbox(engine):
    return Base.metadata.tables[OUTBOX_TABLE]


def test_event_row_commits_with_the_business_row(container_factory, service_config, database):
    container_factory(ShopService, service_config).start()
    with ServiceRpcProxy("shop", service_config) as shop:
        shop.place("茶叶 100 箱")
    assert count(database, Order) == 1
    assert count(database, outbox(database)) == 1


def test_event_row_rolls_back_with_the_business_row(container_factory, service_config, database):
    container_factory(ShopService, service_config).start()
    with ServiceRpcProxy("shop", service_config) as shop, pytest.raises(Exception, match="said no"):
        shop.place_then_fail("茶叶 100 箱")
    assert count(database, Order) == 0
    assert count(database, outbox(database)) == 0


def test_relay_publishes_to_a_consumer_and_marks_the_row_sent(container_factory, service_config, database):
    ledger = container_factory(LedgerService, service_config)
    ledger.start()
    container_factory(ShopService, service_config).start()
    with (
        entrypoint_waiter(ledger, "on_order_placed", timeout=10),
        ServiceRpcProxy("shop", service_config) as shop,
    ):
        shop.place("瓷砖")
    table = outbox(database)
    for _ in range(50):
        if count(database, table, table.c.sent_at.isnot(None)) == 1:
            break
        eventlet.sleep(0.1)
    assert count(database, table, table.c.sent_at.isnot(None)) == 1
    assert count(database, Effect) == 1


def test_a_redelivered_event_is_acted_on_once(container_factory, service_config, database):
    ledger = container_factory(LedgerService, service_config)
    ledger.start()
    relay = OutboxRelay(database, outbox(database), "shop", service_config["AMQP_URI"])
    sessions = ledger_sessions(database)
    unit = UnitOfWork(sessions, "shop")
    event = unit.emit("order_placed", {"title": "钢材"})
    unit.commit()
    with entrypoint_waiter(ledger, "on_order_placed", timeout=10):
        assert relay.publish_pending() == 1
    # the relay died after publishing and before marking: the same row goes out again
    with database.begin() as conn:
        conn.execute(update(outbox(database)).values(sent_at=None, lease_until=None))
    with entrypoint_waiter(ledger, "on_order_placed", timeout=10):
        assert relay.publish_pending() == 1
    assert count(database, Effect) == 1
    assert count(database, Effect, Effect.event_id == event["event_id"]) == 1


def test_broker_outage_loses_no_event_and_duplicates_none(container_factory, service_config, database):
    ledger = container_factory(LedgerService, service_config)
    ledger.start()
    uri = service_config["AMQP_URI"]
    host_port = uri.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":") if ":" in host_port else (host_port, "5672")
    proxy = TcpProxy(host, int(port))
    proxied_uri = uri.replace(host_port, f"127.0.0.1:{proxy.port}")
    relay = OutboxRelay(database, outbox(database), "shop", proxied_uri, poll_interval=0.1)
    sessions = ledger_sessions(database)
    try:
        proxy.cut()
        for number in range(20):
            unit = UnitOfWork(sessions, "shop")
            unit.session.add(Order(title=f"order {number}"))
            unit.emit("order_placed", {"number": number})
            unit.commit()
            unit.close()
        with pytest.raises(OperationalError):
            relay.publish_pending()
        assert count(database, Order) == 20, "business rows commit while the broker is away"
        table = outbox(database)
        assert count(database, table, table.c.sent_at.is_(None)) == 20

        proxy.restore()
        runner = eventlet.spawn(relay.run)
        for _ in range(100):
            if count(database, Effect) == 20 and count(database, table, table.c.sent_at.is_(None)) == 0:
                break
            eventlet.sleep(0.1)
        relay.stop()
        runner.wait()
        eventlet.sleep(0.5)  # anything extra in flight would land now
        assert count(database, table, table.c.sent_at.is_(None)) == 0
        with database.connect() as conn:
            ids = [row.event_id for row in conn.execute(select(Effect.event_id))]
            published = {json.loads(p)["event_id"] for p in conn.scalars(select(table.c.payload))}
        assert sorted(ids) == sorted(published)
        assert len(ids) == 20
    finally:
        proxy.close()


def proxied(uri):
    """A TcpProxy in front of the broker of ``uri``, and ``uri`` through it."""
    host_port = uri.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":") if ":" in host_port else (host_port, "5672")
    proxy = TcpProxy(host, int(port))
    return proxy, uri.replace(host_port, f"127.0.0.1:{proxy.port}")


def emit_orders(engine, numbers):
    unit = UnitOfWork(ledger_sessions(engine), "shop")
    unit.session.add_all(Order(title=f"order {n}") for n in numbers)
    events = unit.emit_many("order_placed", [{"number": n} for n in numbers])
    unit.commit()
    unit.close()
    return [event["event_id"] for event in events]


def effects_when(engine, expected, rounds=100):
    """The event ids the ledger acted on, once ``expected`` of them are there (or time is up)."""
    for _ in range(rounds):
        if count(engine, Effect) >= expected:
            break
        eventlet.sleep(0.1)
    eventlet.sleep(0.3)  # anything extra in flight would land now
    with engine.connect() as conn:
        return [row.event_id for row in conn.execute(select(Effect.event_id))]


class ConfirmCalls:
    """Records, in order, the relay's publishes and its waits for confirms (calling through)."""

    def __init__(self, monkeypatch, after_publish=None):
        self.calls = []
        publish, wait = ConfirmingChannel.publish, ConfirmingChannel.wait_for_confirms

        def counted_publish(channel, payload, routing_key):
            tag = publish(channel, payload, routing_key)
            self.calls.append("publish")
            if after_publish:
                after_publish(self.calls.count("publish"))
            return tag

        def counted_wait(channel, timeout):
            self.calls.append("wait")
            return wait(channel, timeout)

        monkeypatch.setattr(ConfirmingChannel, "publish", counted_publish)
        monkeypatch.setattr(ConfirmingChannel, "wait_for_confirms", counted_wait)


def test_a_batch_of_events_waits_once_for_the_brokers_confirms(
    container_factory, service_config, database, monkeypatch
):
    ledger = container_factory(LedgerService, service_config)
    ledger.start()
    calls = ConfirmCalls(monkeypatch)
    relay = OutboxRelay(database, outbox(database), "shop", service_config["AMQP_URI"], batch_size=100)
    event_ids = emit_orders(database, range(40))
    try:
        assert relay.publish_pending() == 40
    finally:
        relay.close()

    assert calls.calls == ["publish"] * 40 + ["wait"], "one wait for the whole batch, after it"
    table = outbox(database)
    assert count(database, table, table.c.sent_at.is_(None)) == 0
    assert sorted(effects_when(database, 40)) == sorted(event_ids)


def test_the_process_keeps_answering_while_the_relay_publishes_a_batch(service_config, database, monkeypatch):
    """A send to a writable socket never yields to the other greenthreads: a batch published in
    one go held every RPC of the process (up to 0.1 s during a large import). The relay yields
    every PUBLISH_YIELD_EVERY events."""
    calls = ConfirmCalls(monkeypatch)
    relay = OutboxRelay(database, outbox(database), "shop", service_config["AMQP_URI"], batch_size=200)
    emit_orders(database, range(100))
    published_when_others_ran = set()

    def neighbour():  # an RPC worker, say: notes how far the batch was each time it got to run
        while True:
            published_when_others_ran.add(calls.calls.count("publish"))
            eventlet.sleep(0)

    other = eventlet.spawn(neighbour)
    eventlet.sleep(0)
    try:
        assert relay.publish_pending() == 100
    finally:
        other.kill()
        relay.close()
    assert set(range(PUBLISH_YIELD_EVERY, 100, PUBLISH_YIELD_EVERY)) <= published_when_others_ran


def test_a_broker_lost_mid_batch_loses_nothing_and_consumers_act_once(
    container_factory, service_config, database, monkeypatch
):
    ledger = container_factory(LedgerService, service_config)
    ledger.start()
    proxy, uri = proxied(service_config["AMQP_URI"])
    # the connection drops after the 12th of 30 messages has gone out, before any confirm
    calls = ConfirmCalls(monkeypatch, after_publish=lambda n: n == 12 and proxy.cut())
    relay = OutboxRelay(database, outbox(database), "shop", uri, batch_size=100)
    event_ids = emit_orders(database, range(30))
    table = outbox(database)
    try:
        with pytest.raises(Exception):  # noqa: B017 — whatever the socket says: the batch failed
            relay.publish_pending()
        assert count(database, table, table.c.sent_at.is_(None)) == 30, "nothing confirmed, nothing marked"
        assert count(database, table, table.c.claim_token.isnot(None)) == 0, "released for the next pass"

        proxy.restore()
        assert relay.publish_pending() == 30
    finally:
        relay.close()
        proxy.close()

    assert calls.calls.count("publish") >= 12 + 30, "the first pass got 12 out before the cut"
    assert calls.calls[-31:] == ["publish"] * 30 + ["wait"], "the second pass: the whole batch, one wait"
    assert count(database, table, table.c.sent_at.is_(None)) == 0
    acted_on = effects_when(database, 30)
    assert sorted(acted_on) == sorted(event_ids), "each event acted on once, none lost"


def ledger_sessions(engine):
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(bind=engine, expire_on_commit=False, info={"metadata": Base.metadata})
