"""A database that goes away: connecting is bounded, and a lost database reaches the caller as
ServiceUnavailable (503 at the gateway), not as an unexpected error (500)."""

from __future__ import annotations

import eventlet
import pytest
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import Integer, String, make_url, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm_common.db import Database, database_unavailable, make_engine
from crm_common.errors import ServiceUnavailable
from crm_common.models import service_metadata
from tests.support.tcp_proxy import TcpProxy


class Base(DeclarativeBase):
    metadata = service_metadata()


class Note(Base):
    __tablename__ = "note"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(String(50))


class NotesService:
    name = "notes"
    db = Database(Base.metadata, relay=False)

    @rpc
    def add(self, text: str) -> int:
        note = Note(text=text)
        self.db.session.add(note)
        self.db.session.flush()
        return note.id

    @rpc
    def count(self) -> int:
        return len(self.db.session.scalars(select(Note)).all())


def test_connecting_to_a_silent_database_gives_up_after_the_connect_timeout():
    # a listener that never answers: the TCP handshake succeeds, the server greeting never comes
    silent = eventlet.listen(("127.0.0.1", 0))
    url = f"postgresql://postgres@127.0.0.1:{silent.getsockname()[1]}/nothing"
    engine = make_engine(url, connect_timeout=1, statement_timeout=2)
    try:
        # the outer timeout only turns a hang (the bug) into a failure instead of a stuck suite
        with eventlet.Timeout(20), pytest.raises(OperationalError) as caught:
            engine.connect()
        assert database_unavailable(caught.value)
    finally:
        engine.dispose()
        silent.close()


def test_a_lost_database_is_service_unavailable_and_comes_back_without_a_restart(
    db_url, rabbit_config, container_factory
):
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has no connection to lose")
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    engine.dispose()
    parsed = make_url(db_url)
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    proxied = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    config = {
        "AMQP_URI": rabbit_config["AMQP_URI"],
        "DB_URL": proxied,
        "DB_CONNECT_TIMEOUT_SECONDS": 2,
        "DB_STATEMENT_TIMEOUT_SECONDS": 5,
    }
    container = container_factory(NotesService, config)
    container.start()
    try:
        with ServiceRpcProxy("notes", config) as notes:
            assert notes.add("before") == 1
            proxy.cut()
            for _ in range(3):  # pooled connections are dead, new ones are refused
                with eventlet.Timeout(20), pytest.raises(ServiceUnavailable) as caught:
                    notes.count()
                assert caught.value.code == "service_unavailable"
            proxy.restore()
            assert notes.add("after") == 2
            assert notes.count() == 2
    finally:
        proxy.close()


def test_a_socket_number_freed_under_a_waiter_does_not_fail_the_next_connection(db_url):
    """A green thread still waits on a socket whose number was freed behind eventlet's back (a
    connection closed under its reader, as on a broker drop); the next database connection gets
    that number. It used to fail with "Second simultaneous read on fileno N" and leave the old
    waiter stuck for good; now the connection works and the old waiter is woken with an error."""
    if not db_url.startswith("postgresql"):
        pytest.skip("only libpq opens sockets eventlet does not see")
    import os
    import socket

    from eventlet.hubs import IOClosed, trampoline

    engine = make_engine(db_url)
    mine, other = socket.socketpair()
    try:
        stale = mine.fileno()

        def wait_on_the_socket():
            try:
                trampoline(stale, read=True)
            except IOClosed:  # as a green socket's reader sees it: the socket is gone
                return "told the socket is closed"
            return "read"

        waiter = eventlet.spawn(wait_on_the_socket)
        eventlet.sleep(0)  # it is waiting on the socket now
        os.close(mine.detach())  # the number is free; eventlet was not told
        with eventlet.Timeout(20), engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
            assert conn.connection.dbapi_connection.fileno() == stale  # the number was reused
        with eventlet.Timeout(5):
            assert waiter.wait() == "told the socket is closed"
    finally:
        other.close()
        engine.dispose()
