"""The real customers service beside another service under test, on its own database (a second
SQLite file, or a second PostgreSQL schema): notify and knowledge ask it, over real RPC with the
caller's identity, whether the caller may refer to a customer.

Import the fixture into a conftest: ``from tests.support.customers_service import real_customers``.
It needs an ``accounts`` stand-in on the same vhost (customers asks it for display names).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from crm_common.migrations import upgrade
from tests.support.databases import scratch_schema


@contextmanager
def another_database(db_url: str, tmp_path: Path, name: str) -> Iterator[str]:
    """An empty database beside the test's ``db_url``, on the same backend, dropped afterwards."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / f'{name}.db'}"
        return
    with scratch_schema(db_url.partition("?")[0]) as url:
        yield url


@pytest.fixture
def real_customers(container_factory, rabbit_config, db_url, tmp_path):
    """The customers service, migrated and started on a database of its own."""
    from customers.service import CustomersService

    with another_database(db_url, tmp_path, "customers") as url:
        upgrade("customers", url)
        container = container_factory(
            CustomersService,
            {"AMQP_URI": rabbit_config["AMQP_URI"], "DB_URL": url, "OUTBOX_POLL_SECONDS": 0.2},
        )
        container.start()
        yield container
        container.stop()  # before its schema is dropped
