"""SQLAlchemy 2 as a nameko dependency: a session per worker, committed when the entrypoint
method returns, rolled back when it raises.

The commit happens inside the entrypoint call, before nameko sends the RPC reply or the HTTP
response, so a caller never hears "done" about a change that then fails to commit, and the
next request always sees it. Events emitted in the worker are outbox rows in the same
transaction; the outbox relay runs beside the service and publishes them.
"""

from __future__ import annotations

import functools
import json
import logging
import time
import weakref
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from typing import Any

from eventlet.event import Event
from nameko.extensions import DependencyProvider
from sqlalchemy import Engine, MetaData, create_engine, event, insert, make_url, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.elements import TextClause

from crm_common.acks import tolerate_lost_acks
from crm_common.clock import utcnow
from crm_common.config import (
    DEFAULT_DB_CONNECT_TIMEOUT_SECONDS,
    DEFAULT_DB_STATEMENT_TIMEOUT_SECONDS,
    database_timeouts,
    database_url,
)
from crm_common.errors import ServiceUnavailable
from crm_common.idempotency import REQUEST_ID_KEY, REQUEST_LOG_TABLE, event_request_id, purge_request_log
from crm_common.outbox import OUTBOX_TABLE, PROCESSED_TABLE, OutboxRelay, envelope

log = logging.getLogger(__name__)


def _green_psycopg() -> None:
    # psycopg2 waits on sockets through eventlet only when told to; without this one slow
    # query stalls every worker of the process.
    from eventlet import patcher

    if patcher.is_monkey_patched("socket"):
        from psycopg2 import extensions

        extensions.set_wait_callback(_green_wait)


def _green_wait(conn: Any, timeout: float = -1) -> None:
    """psycogreen's eventlet wait callback, plus one thing: a socket libpq opens while
    connecting is announced to eventlet as newly opened (what eventlet's own sockets do).

    libpq opens its sockets behind eventlet's back. When a socket number is freed while some
    green thread still waits on it (a connection closed under a reader, as when the broker
    drops a link), the kernel hands the same number to the next connection, and eventlet
    refused to wait on it — "Second simultaneous read on fileno N" — failing the request
    that connected, and leaving the stale waiter stuck for good. Announced, the stale waiter
    is woken with an error instead.
    """
    from eventlet.hubs import notify_opened
    from psycogreen.eventlet import eventlet_wait_callback
    from psycopg2 import extensions

    while conn.status == extensions.STATUS_SETUP:  # connecting: each poll may open a socket
        notify_opened(conn.fileno())
        state = conn.poll()
        if state == extensions.POLL_OK:
            return
        _wait_for(conn, state)
    eventlet_wait_callback(conn, timeout)


def _wait_for(conn: Any, state: int) -> None:
    """Wait on ``conn``'s socket for what its last poll asked (as psycogreen does)."""
    from eventlet.hubs import trampoline
    from psycopg2 import OperationalError, extensions

    if state == extensions.POLL_READ:
        trampoline(conn.fileno(), read=True)
    elif state == extensions.POLL_WRITE:
        trampoline(conn.fileno(), write=True)
    else:
        raise OperationalError(f"bad result from poll: {state!r}")


def _bounded_connect(engine: Engine, seconds: float) -> None:
    """Give up connecting after ``seconds``.

    libpq's ``connect_timeout`` only works for blocking connects; green psycopg2 connects
    asynchronously and would wait on a silent network for as long as the kernel lets it.
    """
    import eventlet
    import psycopg2

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        with eventlet.Timeout(seconds, False):
            return psycopg2.connect(*cargs, **cparams)
        raise psycopg2.OperationalError(f"could not connect to the database within {seconds:g} s")


def make_engine(
    url: str,
    connect_timeout: float = DEFAULT_DB_CONNECT_TIMEOUT_SECONDS,
    statement_timeout: float = DEFAULT_DB_STATEMENT_TIMEOUT_SECONDS,
) -> Engine:
    """An engine for ``url``: PostgreSQL (psycopg2, green) or SQLite (the embedded default).

    Connecting and each statement are bounded (``connect_timeout``, ``statement_timeout``
    seconds), and PostgreSQL connections use TCP keepalives and a user timeout, so a database
    that goes away costs a request seconds and surfaces as an OperationalError.
    """
    if url.startswith("sqlite"):
        # SQLite has no network to lose: the busy timeout bounds the wait for the file lock.
        busy_ms = int(statement_timeout * 1000)
        connect_args = {"check_same_thread": False, "timeout": statement_timeout}
        if url in ("sqlite://", "sqlite:///:memory:"):
            engine = create_engine(url, poolclass=StaticPool, connect_args=connect_args)
        else:
            # One connection per process: greenthreads queue for it on the pool (a green
            # wait), never on SQLite's file lock (a wait that blocks the whole eventlet hub).
            engine = create_engine(
                url, pool_size=1, max_overflow=0, pool_timeout=60, connect_args=connect_args
            )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            cursor.close()

        return engine
    if url.startswith("postgresql"):
        _green_psycopg()
        # added to any options the URL has (a test's search_path): connect_args win over the URL
        given = make_url(url).query.get("options") or ()
        options = [given] if isinstance(given, str) else list(given)
        options.append(f"-c statement_timeout={int(statement_timeout * 1000)}")
        pg_args = {
            "connect_timeout": max(1, round(connect_timeout)),
            "options": " ".join(options),
            # a peer that vanished is noticed in ~20 s when idle, and sent data that is not
            # acknowledged fails the connection after the statement timeout
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 2,
            "tcp_user_timeout": int(statement_timeout * 1000),
        }
        engine = create_engine(
            url,
            pool_size=10,
            max_overflow=20,
            pool_timeout=connect_timeout + statement_timeout,
            connect_args=pg_args,
        )
        _bounded_connect(engine, connect_timeout)
        _ping_when_idle(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


PING_IDLE_SECONDS = 1.0


def _ping_when_idle(engine: Engine, idle_seconds: float | None = None) -> None:
    """SQLAlchemy's ``pool_pre_ping``, only for a connection idle longer than ``idle_seconds``.

    ``pool_pre_ping`` sends a ``SELECT 1`` on every checkout: one round trip more per
    transaction, a third of a read's. A connection used less than a second ago was alive then;
    a database that went away since fails the statement itself, which invalidates that
    connection and every older one in the pool (SQLAlchemy's disconnect handling) and answers
    ServiceUnavailable, the same as it does with the database down. A dead idle connection is
    found here and replaced before the transaction starts, as ``pool_pre_ping`` does.
    """

    idle = PING_IDLE_SECONDS if idle_seconds is None else idle_seconds

    @event.listens_for(engine, "checkin")
    def _used(_dbapi_conn: Any, record: Any) -> None:
        record.info["crm_last_used"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get("crm_last_used")
        if last is None or time.monotonic() - last < idle:
            return  # a new connection, or one that answered a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            if not engine.dialect.is_disconnect(exc, dbapi_conn, None):
                raise
            alive = False
        if not alive:
            record.info.pop("crm_last_used", None)
            raise DisconnectionError("the pooled connection is gone: a new one is made")


def database_unavailable(exc: BaseException) -> bool:
    """True for errors that mean the database cannot be reached or did not answer in time
    (as opposed to a bad statement or a violated constraint)."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    return False


READ_ONLY = "crm_read_only"


def read_only(method: Any) -> Any:
    """Mark an entrypoint that only reads (place it under ``@rpc``): its unit of work runs on an
    autocommit connection, so a read costs its queries and nothing more (no ``BEGIN``, no
    ``COMMIT``: two round trips of five in a duplicate check). Its statements do not share one
    snapshot: use it where each answer stands on one query or on rows that are never deleted.
    A write in such a worker raises (``ReadOnlyWorker``) instead of committing piecemeal."""
    setattr(method, READ_ONLY, True)
    return method


def is_read_only(service_cls: type, method_name: str) -> bool:
    return bool(getattr(getattr(service_cls, method_name, None), READ_ONLY, False))


class ReadOnlyWorker(RuntimeError):
    """A write in an entrypoint marked ``read_only``: a programming error, never a user's."""


def _refuse_writes(sessions: sessionmaker) -> None:
    """Statements other than SELECT, and ORM flushes, raise in sessions from ``sessions``."""

    @event.listens_for(sessions, "do_orm_execute")
    def _only_selects(state: Any) -> None:
        statement = state.statement
        written = state.is_insert or state.is_update or state.is_delete
        if isinstance(statement, TextClause):
            written = not statement.text.lstrip().upper().startswith(("SELECT", "WITH", "VALUES", "SHOW"))
        if written:
            raise ReadOnlyWorker(f"a read-only entrypoint wrote: {statement}")

    @event.listens_for(sessions, "before_flush")
    def _no_flush(session: Session, _context: Any, _instances: Any) -> None:
        if session.new or session.dirty or session.deleted:
            raise ReadOnlyWorker("a read-only entrypoint changed rows")


class UnitOfWork:
    """One worker's database access: a lazy session plus the events it emits (a ``read_only``
    entrypoint's unit emits nothing and writes nothing)."""

    def __init__(
        self, sessions: sessionmaker, service_name: str, context: dict | None = None, read_only: bool = False
    ) -> None:
        self._sessions = sessions
        self._session: Session | None = None
        self.service_name = service_name
        self.read_only = read_only
        self.emitted: list[dict] = []
        # the worker's context data (caller, request id): what its RPCs carry onwards
        self.context: dict = {} if context is None else context

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self._sessions()
        return self._session

    def emit(self, event_type: str, data: dict[str, Any]) -> dict:
        """Record an event in this transaction; it is published only if the transaction commits."""
        return self.emit_many(event_type, [data])[0]

    def emit_many(self, event_type: str, facts: Iterable[dict[str, Any]]) -> list[dict]:
        """Record one ``event_type`` event per fact with a single multi-row insert (same rules as
        ``emit``); returns the envelopes."""
        if self.read_only:
            raise ReadOnlyWorker(f"a read-only entrypoint emitted {event_type}")
        now = utcnow()
        payloads = [envelope(event_type, data, self.service_name, now) for data in facts]
        if payloads:
            self.session.execute(
                insert(_table(self.session, OUTBOX_TABLE)),
                [
                    {
                        "id": payload["event_id"],
                        "event_type": event_type,
                        "payload": json.dumps(payload, ensure_ascii=False, default=str),
                        "created_at": now,
                        "attempts": 0,
                    }
                    for payload in payloads
                ],
            )
            self.emitted.extend(payloads)
        return payloads

    def first_delivery(self, event_id: str, handler: str) -> bool:
        """True the first time ``handler`` sees ``event_id``; False for a redelivery.

        Call it before any other write of the handler: on a repeat the transaction is rolled
        back, which is only harmless while it holds nothing else.
        """
        try:
            self.session.execute(
                insert(_table(self.session, PROCESSED_TABLE)).values(
                    event_id=event_id, handler=handler, processed_at=utcnow()
                )
            )
            self.session.flush()
        except IntegrityError:
            self.session.rollback()
            log.info("event %s already handled by %s: skipped", event_id, handler)
            return False
        # writes the handler asks of other services are once per event too
        self.context.setdefault(REQUEST_ID_KEY, event_request_id(event_id, handler))
        return True

    def ping(self) -> str:
        """ "ok" when the database answers a trivial query."""
        self.session.execute(text("SELECT 1"))
        return "ok"

    def commit(self) -> None:
        if self._session is not None:
            self._session.commit()

    def rollback(self) -> None:
        if self._session is not None:
            self._session.rollback()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


def _quietly(action: Any) -> None:
    """Run a rollback whose own failure (the connection is gone) must not hide the first error."""
    try:
        action()
    except Exception as exc:
        log.debug("rollback failed too: %s", exc)


def _table(session: Session, name: str) -> Any:
    return session.info["metadata"].tables[name]


@contextmanager
def _committing(unit: UnitOfWork, service_name: str, where: str, relay: OutboxRelay | None) -> Iterator[None]:
    """Commit ``unit`` when the block ends, roll it back if it raises; a database that cannot be
    reached becomes ServiceUnavailable (a typed error: across RPC the gateway answers 503, not
    500); once committed, events it emitted nudge the outbox relay."""
    try:
        try:
            yield
        except BaseException:
            _quietly(unit.rollback)
            raise
        unit.commit()
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        log.warning("%s: database unavailable in %s: %s", service_name, where, exc)
        raise ServiceUnavailable(
            f"the {service_name} database is unavailable; try again shortly",
            {"service": service_name},
        ) from exc
    if unit.emitted and relay is not None:
        relay.nudge()


@contextmanager
def transaction(database: Database, where: str = "a background task") -> Iterator[UnitOfWork]:
    """``with transaction(db) as unit:`` one short transaction outside a worker's own unit (a
    timer that claims in batches, a greenthread that outlives its worker), with the same rules
    as an entrypoint's: committed when the block ends, rolled back if it raises,
    ServiceUnavailable when the database is away, the relay nudged for events emitted."""
    unit = UnitOfWork(database.sessions, database.service_name)
    try:
        with _committing(unit, database.service_name, where, database.relay):
            yield unit
    finally:
        unit.close()


class TransactionFactory:
    """``with transactions() as unit:`` — :func:`transaction` over one Database, with its dialect
    (PostgreSQL claims rows ``FOR UPDATE SKIP LOCKED``, SQLite does not need to)."""

    def __init__(self, database: Database) -> None:
        self._database = database

    @property
    def dialect(self) -> str:
        return self._database.engine.dialect.name

    def __call__(self, where: str = "a background task") -> AbstractContextManager[UnitOfWork]:
        return transaction(self._database, where)


class Transactions(DependencyProvider):
    """Injects a TransactionFactory over the service's Database (declared on the same service)."""

    def setup(self) -> None:
        self.factory = TransactionFactory(service_database(self.container))

    def get_dependency(self, worker_ctx: Any) -> TransactionFactory:
        return self.factory


def service_database(container: Any) -> Database:
    """The Database dependency of a service container."""
    return next(ext for ext in container.extensions if isinstance(ext, Database))


class Database(DependencyProvider):
    """Injects a UnitOfWork; commits it when the entrypoint returns, rolls back if it raises.

    ``relay=True`` also runs the outbox relay of this service in the container. ``service``: the
    service whose database and outbox these are, when the container is another process of it
    (``customers-scanner`` is customers': customers' ``DB_URL``, events from ``customers`` on
    ``customers.events``); default the container's own service name.
    """

    def __init__(self, metadata: MetaData, relay: bool = True, service: str | None = None) -> None:
        self.metadata = metadata
        self.relay_enabled = relay
        self.service = service
        self.relay: OutboxRelay | None = None
        self._units: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def setup(self) -> None:
        tolerate_lost_acks()  # a drop between reply and ack must not stop the service
        config = self.container.config
        service_name = self.service_name
        self.url = database_url(service_name, config)
        connect_timeout, statement_timeout = database_timeouts(config)
        self.engine = make_engine(self.url, connect_timeout, statement_timeout)
        self.sessions = sessionmaker(
            bind=self.engine, expire_on_commit=False, info={"metadata": self.metadata}
        )
        self.read_sessions = sessionmaker(
            bind=self.engine.execution_options(isolation_level="AUTOCOMMIT"),
            expire_on_commit=False,
            info={"metadata": self.metadata},
        )
        _refuse_writes(self.read_sessions)
        if self.relay_enabled and OUTBOX_TABLE in self.metadata.tables:
            self.relay = OutboxRelay(
                self.engine,
                self.metadata.tables[OUTBOX_TABLE],
                service_name,
                config["AMQP_URI"],
                config=config,
                poll_interval=float(config.get("OUTBOX_POLL_SECONDS", 1.0)),
            )

    @property
    def service_name(self) -> str:
        """The service whose database, outbox and events these are."""
        return self.service or str(self.container.service_name)

    def start(self) -> None:
        self._stopping = Event()
        if self.relay is not None:
            self.container.spawn_managed_thread(self.relay.run, identifier="outbox-relay")
        if REQUEST_LOG_TABLE in self.metadata.tables:
            self.container.spawn_managed_thread(self._sweep_request_log, identifier="request-log-sweeper")

    def _sweep_request_log(self) -> None:
        """Every ``REQUEST_LOG_SWEEP_SECONDS`` (600), forget write requests older than
        ``REQUEST_LOG_TTL_HOURS`` (24): a client retries within minutes, not days."""
        config = self.container.config
        ttl = timedelta(hours=float(config.get("REQUEST_LOG_TTL_HOURS") or 24))
        interval = float(config.get("REQUEST_LOG_SWEEP_SECONDS") or 600)
        while not self._stopping.ready():
            try:
                gone = purge_request_log(self.engine, self.metadata, utcnow() - ttl)
                if gone:
                    log.info("request log: %d entries older than %s forgotten", gone, ttl)
            except Exception as exc:  # database away: try again next time
                log.warning("request log sweep failed: %s", exc)
            self._stopping.wait(interval)

    def stop(self) -> None:
        if hasattr(self, "_stopping") and not self._stopping.ready():
            self._stopping.send(None)
        if self.relay is not None:
            self.relay.stop()
        self.engine.dispose()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx: Any) -> UnitOfWork:
        if is_read_only(self.container.service_cls, worker_ctx.entrypoint.method_name):
            unit = UnitOfWork(self.read_sessions, self.service_name, worker_ctx.data, read_only=True)
        else:
            unit = UnitOfWork(self.sessions, self.service_name, worker_ctx.data)
        self._units[worker_ctx] = unit
        return unit

    def worker_setup(self, worker_ctx: Any) -> None:
        unit = self._units.get(worker_ctx)
        if unit is None:
            return
        name = worker_ctx.entrypoint.method_name
        method = getattr(worker_ctx.service, name)
        relay = self.relay

        # nameko looks the method up after worker_setup: wrapping it here puts the commit
        # inside the call, before the reply goes out.
        service_name = self.service_name

        @functools.wraps(method)
        def in_transaction(*args: Any, **kwargs: Any) -> Any:
            with _committing(unit, service_name, name, relay):
                return method(*args, **kwargs)

        setattr(worker_ctx.service, name, in_transaction)

    def worker_teardown(self, worker_ctx: Any) -> None:
        unit = self._units.pop(worker_ctx, None)
        if unit is not None:
            unit.close()
