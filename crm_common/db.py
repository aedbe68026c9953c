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
import weakref
from collections.abc import Iterable
from typing import Any

from nameko.extensions import DependencyProvider
from sqlalchemy import Engine, MetaData, create_engine, event, insert, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from crm_common.clock import utcnow
from crm_common.config import database_url
from crm_common.outbox import OUTBOX_TABLE, PROCESSED_TABLE, OutboxRelay, envelope

log = logging.getLogger(__name__)


def _green_psycopg() -> None:
    # psycopg2 waits on sockets through eventlet only when told to; without this one slow
    # query stalls every worker of the process.
    from eventlet import patcher

    if patcher.is_monkey_patched("socket"):
        from psycogreen.eventlet import patch_psycopg

        patch_psycopg()


def make_engine(url: str) -> Engine:
    """An engine for ``url``: PostgreSQL (psycopg2, green) or SQLite (the embedded default)."""
    if url.startswith("sqlite"):
        connect_args = {"check_same_thread": False, "timeout": 30}
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
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    if url.startswith("postgresql"):
        _green_psycopg()
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    return create_engine(url, pool_pre_ping=True)


class UnitOfWork:
    """One worker's database access: a lazy session plus the events it emits."""

    def __init__(self, sessions: sessionmaker, service_name: str) -> None:
        self._sessions = sessions
        self._session: Session | None = None
        self.service_name = service_name
        self.emitted: list[dict] = []

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


def _table(session: Session, name: str) -> Any:
    return session.info["metadata"].tables[name]


class Database(DependencyProvider):
    """Injects a UnitOfWork; commits it when the entrypoint returns, rolls back if it raises.

    ``relay=True`` also runs the outbox relay of this service in the container.
    """

    def __init__(self, metadata: MetaData, relay: bool = True) -> None:
        self.metadata = metadata
        self.relay_enabled = relay
        self.relay: OutboxRelay | None = None
        self._units: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def setup(self) -> None:
        config = self.container.config
        service_name = self.container.service_name
        self.url = database_url(service_name, config)
        self.engine = make_engine(self.url)
        self.sessions = sessionmaker(
            bind=self.engine, expire_on_commit=False, info={"metadata": self.metadata}
        )
        if self.relay_enabled and OUTBOX_TABLE in self.metadata.tables:
            self.relay = OutboxRelay(
                self.engine,
                self.metadata.tables[OUTBOX_TABLE],
                service_name,
                config["AMQP_URI"],
                config=config,
                poll_interval=float(config.get("OUTBOX_POLL_SECONDS", 1.0)),
            )

    def start(self) -> None:
        if self.relay is not None:
            self.container.spawn_managed_thread(self.relay.run, identifier="outbox-relay")

    def stop(self) -> None:
        if self.relay is not None:
            self.relay.stop()
        self.engine.dispose()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx: Any) -> UnitOfWork:
        unit = UnitOfWork(self.sessions, self.container.service_name)
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
        @functools.wraps(method)
        def in_transaction(*args: Any, **kwargs: Any) -> Any:
            try:
                result = method(*args, **kwargs)
            except BaseException:
                unit.rollback()
                raise
            unit.commit()
            if unit.emitted and relay is not None:
                relay.nudge()
            return result

        setattr(worker_ctx.service, name, in_transaction)

    def worker_teardown(self, worker_ctx: Any) -> None:
        unit = self._units.pop(worker_ctx, None)
        if unit is not None:
            unit.close()
