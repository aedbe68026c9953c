"""@idempotent over a real broker and database: a write request runs once per request id — on a
repeat, on two deliveries at once through two instances, and for the writes it asks of another
service — and the log forgets old requests."""

import uuid
from contextlib import ExitStack
from datetime import timedelta

import eventlet
import pytest
from nameko.exceptions import RemoteError
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import Column, Integer, String, create_engine, func, insert, select
from sqlalchemy.orm import DeclarativeBase

from crm_common.clock import utcnow
from crm_common.db import Database
from crm_common.idempotency import (
    REQUEST_ID_KEY,
    REQUEST_LOG_TABLE,
    IdempotencyKeyReused,
    idempotent,
    purge_request_log,
)
from crm_common.models import service_metadata
from crm_common.rpc import TimedRpcProxy


class Base(DeclarativeBase):
    metadata = service_metadata()


class Posting(Base):
    __tablename__ = "postings"
    id = Column(Integer, primary_key=True)
    title = Column(String(50), nullable=False)


class LedgerService:
    name = "ledger"
    db = Database(Base.metadata)

    @rpc
    @idempotent
    def post(self, title, pause=0.0):
        eventlet.sleep(pause)  # lets a second delivery of the same request start meanwhile
        posting = Posting(title=title)
        self.db.session.add(posting)
        self.db.session.flush()
        self.db.emit("posting_made", {"id": posting.id, "title": title})
        return {"id": posting.id, "title": title, "at": utcnow()}

    @rpc
    @idempotent(read_first=False)
    def post_unread(self, title, pause=0.0):
        """`post`, its log not read before the write (the create path's way)."""
        return self.post.__wrapped__(self, title, pause)

    @rpc
    @idempotent
    def post_then_refuse(self, title):
        self.db.session.add(Posting(title=title))
        raise ValueError("refused after writing")


class Orders(DeclarativeBase):
    metadata = service_metadata()


class Order(Orders):
    __tablename__ = "orders"
    id = Column(Integer, primary_key=True)
    title = Column(String(50), nullable=False)


FAIL_ONCE = set()


class FrontService:
    """Asks the ledger for two postings per order, and (once per title in FAIL_ONCE) fails after
    they were made: its own write rolls back, the ledger's stay."""

    name = "front"
    db = Database(Orders.metadata, relay=False)
    ledger = TimedRpcProxy("ledger")

    @rpc
    @idempotent
    def order(self, title):
        self.db.session.add(Order(title=title))
        first = self.ledger.post(title + "/1")
        second = self.ledger.post(title + "/2")
        if title in FAIL_ONCE:
            FAIL_ONCE.discard(title)
            raise ConnectionError("the front died before it could commit")
        return [first["id"], second["id"]]


@pytest.fixture
def databases(db_url, tmp_path):
    """The ledger's database (the test's) and the front's own."""
    ledger = create_engine(db_url)
    Base.metadata.create_all(ledger)
    # on PostgreSQL the front's tables sit beside the ledger's: its request log is shared (the
    # ids never meet) and it runs no relay
    front_url = f"sqlite:///{tmp_path / 'front.db'}" if db_url.startswith("sqlite") else db_url
    front = create_engine(front_url)
    if db_url.startswith("sqlite"):
        Orders.metadata.create_all(front)
    else:
        Orders.metadata.tables["orders"].create(front)
    yield ledger, front_url
    ledger.dispose()
    front.dispose()


def rows(engine, table, *where):
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(table).where(*where))


def request(request_id=None):
    return {REQUEST_ID_KEY: request_id or str(uuid.uuid4())}


def postings(engine):
    return rows(engine, Posting.__table__)


def events(engine):
    return rows(engine, Base.metadata.tables["outbox_events"])


def test_the_same_request_twice_writes_once_and_answers_the_same(
    container_factory, service_config, databases
):
    ledger, _ = databases
    container_factory(LedgerService, service_config).start()
    context = request()
    with ServiceRpcProxy("ledger", service_config, context_data=context) as proxy:
        first = proxy.post("茶叶 100 箱")
    with ServiceRpcProxy("ledger", service_config, context_data=context) as proxy:
        again = proxy.post("茶叶 100 箱")
    assert again == first
    assert (postings(ledger), events(ledger)) == (1, 1)


def test_a_write_whose_log_is_read_only_on_failure_still_runs_once_per_request(
    container_factory, service_config, databases
):
    ledger, _ = databases
    for _ in range(2):
        container_factory(LedgerService, service_config).start()
    context = request("key-unread")
    with ServiceRpcProxy("ledger", service_config, context_data=context) as proxy:
        first = proxy.post_unread("水泥 8 吨")
        assert proxy.post_unread("水泥 8 吨") == first  # a repeat: rolled back, the first answer
        with pytest.raises(IdempotencyKeyReused):
            proxy.post_unread("水泥 9 吨")
    with ExitStack() as stack:  # deliveries of one request at once, through two instances
        proxies = [
            stack.enter_context(
                ServiceRpcProxy("ledger", service_config, context_data=request("key-at-once"))
            )
            for _ in range(4)
        ]
        answers = [reply.result() for reply in [p.post_unread.call_async("砂石", pause=0.3) for p in proxies]]
    assert all(answer == answers[0] for answer in answers)
    assert (postings(ledger), events(ledger)) == (2, 2)


def test_another_request_id_is_another_write(container_factory, service_config, databases):
    ledger, _ = databases
    container_factory(LedgerService, service_config).start()
    for _ in range(2):
        with ServiceRpcProxy("ledger", service_config, context_data=request()) as proxy:
            proxy.post("茶叶 100 箱")
    assert postings(ledger) == 2


def test_the_same_request_id_with_other_arguments_is_refused(container_factory, service_config, databases):
    ledger, _ = databases
    container_factory(LedgerService, service_config).start()
    with ServiceRpcProxy("ledger", service_config, context_data=request("key-1")) as proxy:
        proxy.post("茶叶 100 箱")
        with pytest.raises(IdempotencyKeyReused) as refused:
            proxy.post("瓷砖 5 箱")
    assert refused.value.code == "idempotency_key_reused"
    assert postings(ledger) == 1


def test_a_refused_write_is_not_recorded_and_its_retry_runs_again(
    container_factory, service_config, databases
):
    ledger, _ = databases
    container_factory(LedgerService, service_config).start()
    with ServiceRpcProxy("ledger", service_config, context_data=request("key-2")) as proxy:
        for _ in range(2):
            with pytest.raises(Exception, match="refused after writing"):
                proxy.post_then_refuse("瓷砖")
    assert postings(ledger) == 0
    assert rows(ledger, Base.metadata.tables[REQUEST_LOG_TABLE]) == 0


def test_deliveries_of_one_request_at_once_on_two_instances_write_once(
    container_factory, service_config, databases
):
    ledger, _ = databases
    for _ in range(2):
        container_factory(LedgerService, service_config).start()
    context = request()
    with ExitStack() as stack:
        proxies = [
            stack.enter_context(ServiceRpcProxy("ledger", service_config, context_data=context))
            for _ in range(6)
        ]
        replies = [proxy.post.call_async("钢材 3 吨", pause=0.3) for proxy in proxies]
        answers = [reply.result() for reply in replies]
    assert all(answer == answers[0] for answer in answers)
    assert (postings(ledger), events(ledger)) == (1, 1)


def test_writes_asked_of_another_service_happen_once_when_the_request_runs_again(
    container_factory, service_config, databases
):
    ledger, front_url = databases
    container_factory(LedgerService, service_config).start()
    container_factory(FrontService, {**service_config, "DB_URL": front_url}).start()
    FAIL_ONCE.add("订单 7")
    context = request()
    with ServiceRpcProxy("front", service_config, context_data=context) as proxy:
        with pytest.raises(RemoteError, match="the front died"):
            proxy.order("订单 7")  # the ledger posted twice, the front's own write rolled back
        assert postings(ledger) == 2
        posted = proxy.order("订单 7")  # the same request again: the ledger answers from its log
    assert postings(ledger) == 2
    with create_engine(front_url).connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Order.__table__)) == 1
    assert len(set(posted)) == 2


def test_old_requests_are_forgotten_by_the_sweeper(container_factory, service_config, databases):
    ledger, _ = databases
    log = Base.metadata.tables[REQUEST_LOG_TABLE]
    with ledger.begin() as conn:
        conn.execute(
            insert(log).values(
                request_id="from-two-days-ago",
                operation="post",
                fingerprint="0" * 64,
                result="{}",
                created_at=utcnow() - timedelta(days=2),
            )
        )
    container_factory(LedgerService, {**service_config, "REQUEST_LOG_SWEEP_SECONDS": 0.1}).start()
    with ServiceRpcProxy("ledger", service_config, context_data=request("today")) as proxy:
        proxy.post("茶叶")
    for _ in range(50):
        if rows(ledger, log, log.c.request_id == "from-two-days-ago") == 0:
            break
        eventlet.sleep(0.1)
    with ledger.connect() as conn:
        assert [r.request_id for r in conn.execute(select(log.c.request_id))] == ["today"]


def test_purge_removes_only_what_is_older_than_the_cut(databases):
    ledger, _ = databases
    log = Base.metadata.tables[REQUEST_LOG_TABLE]
    now = utcnow()
    with ledger.begin() as conn:
        for name, age in (("old", timedelta(hours=25)), ("recent", timedelta(hours=23))):
            conn.execute(
                insert(log).values(
                    request_id=name, operation="post", fingerprint="0" * 64, result="{}", created_at=now - age
                )
            )
    assert purge_request_log(ledger, Base.metadata, now - timedelta(hours=24)) == 1
    with ledger.connect() as conn:
        assert [r.request_id for r in conn.execute(select(log.c.request_id))] == ["recent"]
