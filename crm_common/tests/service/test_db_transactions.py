"""Short transactions outside a worker (timers that claim in batches, greenthreads that outlive
their worker) follow the entrypoints' rules: committed at the end of the block, rolled back if
it raises, events in the outbox only when committed, a lost database as ServiceUnavailable."""

from __future__ import annotations

import eventlet
import pytest
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import Integer, String, func, make_url, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm_common.db import Database, Transactions, make_engine
from crm_common.errors import ServiceUnavailable
from crm_common.models import service_metadata
from crm_common.outbox import OUTBOX_TABLE
from tests.support.tcp_proxy import TcpProxy


class Base(DeclarativeBase):
    metadata = service_metadata()


class Job(Base):
    __tablename__ = "job"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(String(50))


class JobsService:
    name = "jobs"
    db = Database(Base.metadata, relay=False)
    transactions = Transactions()

    @rpc
    def add_outside(self, text: str, fail: bool = False) -> str:
        try:
            with self.transactions() as unit:
                unit.session.add(Job(text=text))
                unit.emit("job_added", {"text": text})
                if fail:
                    raise ValueError("changed my mind")
        except ValueError:
            return "rolled back"
        return "committed"

    @rpc
    def counts(self) -> list[int]:
        with self.transactions() as unit:
            jobs = unit.session.scalar(select(func.count()).select_from(Job))
            events = unit.session.scalar(select(func.count()).select_from(Base.metadata.tables[OUTBOX_TABLE]))
        return [int(jobs or 0), int(events or 0)]

    @rpc
    def dialect(self) -> str:
        return self.transactions.dialect


def _start(db_url, rabbit_config, container_factory, url=None, **extra):
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    engine.dispose()
    config = {"AMQP_URI": rabbit_config["AMQP_URI"], "DB_URL": url or db_url, **extra}
    container_factory(JobsService, config).start()
    return config


def test_a_background_transaction_commits_at_the_end_and_rolls_back_on_error(
    db_url, rabbit_config, container_factory
):
    config = _start(db_url, rabbit_config, container_factory)
    with ServiceRpcProxy("jobs", config) as jobs:
        assert jobs.add_outside("kept") == "committed"
        assert jobs.add_outside("dropped", fail=True) == "rolled back"
        assert jobs.counts() == [1, 1]  # the rolled-back event never reached the outbox
        assert jobs.dialect() == make_url(db_url).get_backend_name()


def test_a_lost_database_in_a_background_transaction_is_service_unavailable(
    db_url, rabbit_config, container_factory
):
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has no connection to lose")
    parsed = make_url(db_url)
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    proxied = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    config = _start(
        db_url,
        rabbit_config,
        container_factory,
        url=proxied,
        DB_CONNECT_TIMEOUT_SECONDS=2,
        DB_STATEMENT_TIMEOUT_SECONDS=5,
    )
    try:
        with ServiceRpcProxy("jobs", config) as jobs:
            assert jobs.add_outside("before") == "committed"
            proxy.cut()
            with eventlet.Timeout(20), pytest.raises(ServiceUnavailable):
                jobs.add_outside("during")
            proxy.restore()
            assert jobs.add_outside("after") == "committed"
    finally:
        proxy.close()
