"""Entrypoints marked ``read_only`` run on an autocommit connection (no BEGIN, no COMMIT) and
cannot write; pooled PostgreSQL connections are pinged only after being idle."""

from __future__ import annotations

import time

import eventlet
import pytest
from nameko.exceptions import RemoteError
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import Integer, String, create_engine, func, insert, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm_common.db import Database, _ping_when_idle, make_engine, read_only
from crm_common.models import service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


class Note(Base):
    __tablename__ = "note"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(String(50))


class NotesService:
    name = "readonly_notes"
    db = Database(Base.metadata, relay=False)

    @rpc
    def add(self, words: str) -> int:
        self.db.session.add(Note(text=words))
        self.db.session.flush()
        return self.db.session.scalar(select(func.count()).select_from(Note))

    @rpc
    @read_only
    def count(self) -> int:
        return int(self.db.session.scalar(select(func.count()).select_from(Note)) or 0)

    @rpc
    @read_only
    def own_transaction_per_statement(self) -> bool:
        """PostgreSQL: in a transaction block now() is the block's start; alone, the statement's."""
        self.db.session.execute(text("SELECT pg_sleep(0.02)"))
        return bool(self.db.session.scalar(text("SELECT now() = statement_timestamp()")))

    @rpc
    def in_one_transaction(self) -> bool:
        self.db.session.execute(text("SELECT pg_sleep(0.02)"))
        return bool(self.db.session.scalar(text("SELECT now() = statement_timestamp()")))

    @rpc
    @read_only
    def add_anyway(self, words: str) -> None:
        self.db.session.add(Note(text=words))
        self.db.session.flush()

    @rpc
    @read_only
    def insert_anyway(self, words: str) -> None:
        self.db.session.execute(insert(Note).values(text=words))

    @rpc
    @read_only
    def delete_in_text(self) -> None:
        self.db.session.execute(text("DELETE FROM note"))

    @rpc
    @read_only
    def emit_anyway(self) -> None:
        self.db.emit("note_added", {"text": "x"})


@pytest.fixture
def notes(db_url, rabbit_config, container_factory):
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    engine.dispose()
    config = {"AMQP_URI": rabbit_config["AMQP_URI"], "DB_URL": db_url}
    container_factory(NotesService, config).start()
    with ServiceRpcProxy("readonly_notes", config) as proxy:
        yield proxy


def test_a_read_only_entrypoint_reads_and_cannot_write(notes):
    assert notes.add("first") == 1
    assert notes.count() == 1
    for write in (notes.add_anyway, notes.insert_anyway):
        with pytest.raises(RemoteError) as caught:
            write("sneaked in")
        assert caught.value.exc_type == "ReadOnlyWorker"
    for write in (notes.delete_in_text, notes.emit_anyway):
        with pytest.raises(RemoteError) as caught:
            write()
        assert caught.value.exc_type == "ReadOnlyWorker"
    with pytest.raises(RemoteError) as caught:
        notes.emit_anyway()
    assert caught.value.exc_type == "ReadOnlyWorker"
    assert notes.count() == 1  # nothing committed piecemeal
    assert notes.add("second") == 2  # the writing entrypoints are unchanged


def test_a_read_only_entrypoint_runs_without_a_transaction_block(notes, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite's transactions have no server-side clock to tell")
    assert notes.own_transaction_per_statement() is True
    assert notes.in_one_transaction() is False


def test_pooled_connections_are_pinged_only_after_being_idle(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("only PostgreSQL connections are pinged")
    engine = create_engine(db_url, pool_size=1, max_overflow=0)
    _ping_when_idle(engine, idle_seconds=0.3)
    pings = []
    real_ping = engine.dialect.do_ping
    engine.dialect.do_ping = lambda conn: pings.append(1) or real_ping(conn)  # type: ignore[method-assign]
    try:
        with engine.connect() as conn:
            backend = conn.scalar(text("SELECT pg_backend_pid()"))
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT pg_backend_pid()")) == backend
        assert pings == []  # used a moment ago: no round trip spent on a ping
        time.sleep(0.4)
        with engine.connect() as conn:
            conn.scalar(text("SELECT 1"))
        assert pings == [1]

        # the server ends the idle connection: the ping finds it dead and a new one is made
        with create_engine(db_url).connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
            other.commit()
        eventlet.sleep(0.4)
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT pg_backend_pid()")) != backend
        assert len(pings) == 2
    finally:
        engine.dispose()
