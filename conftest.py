"""Test fixtures shared by every service: eventlet first, a database per test (SQLite, and
PostgreSQL where CRM_TEST_DB_URL is set), a RabbitMQ vhost per test (nameko's plugin)."""

import eventlet

eventlet.monkey_patch()  # before anything imports socket or threading

import os  # noqa: E402

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

from crm_common.config import with_database  # noqa: E402
from crm_common.migrations import ensure_database, upgrade  # noqa: E402
from tests.support.callers import as_caller  # noqa: E402, F401 — for tests that import it from here
from tests.support.databases import scratch_schema  # noqa: E402

# The console's browser tests run without eventlet, in a run of their own (scripts/test_console.sh).
collect_ignore = ["tests/e2e"]

# Speed is measured by the benchmarks in bench/, not by timed tests: hypothesis's 200 ms deadline
# per example only made property tests fail when the machine was busy.
settings.register_profile("crm", deadline=None)
settings.load_profile("crm")

PG_SERVER = os.environ.get("CRM_TEST_DB_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_SERVER else [])


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """An empty database for one test: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    server = with_database(PG_SERVER, "crm_test")
    ensure_database(server)
    # the test's containers may still run when it is dropped (nameko stops them after this):
    # drop_schema ends whatever still holds a lock in the schema rather than wait, or deadlock
    with scratch_schema(server) as url:
        yield url


@pytest.fixture
def migrated(db_url):
    """Return a function that migrates one service's schema into the test database."""

    def migrate(service):
        upgrade(service, db_url)
        return db_url

    return migrate


@pytest.fixture
def service_config(rabbit_config, db_url):
    """Config for a service container under test: its vhost and its database."""
    return {"AMQP_URI": rabbit_config["AMQP_URI"], "DB_URL": db_url, "OUTBOX_POLL_SECONDS": 0.2}
