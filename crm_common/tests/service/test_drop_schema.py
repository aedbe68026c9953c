"""The tests' schema teardown (tests/support/databases.drop_schema) ends whatever still holds a
lock in the schema instead of waiting for it forever: one leaked connection once hung the suite."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

from tests.support.databases import drop_schema


def test_a_connection_left_in_a_transaction_does_not_hang_the_drop(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite files are removed, not dropped")
    server = db_url.partition("?")[0]
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    schema = "t_leak_" + uuid.uuid4().hex[:8]
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        conn.execute(text(f'CREATE TABLE "{schema}".note (id int)'))
    leaky = create_engine(server).connect()  # idle in transaction, holding AccessShareLock
    leaky.execute(text(f'SELECT count(*) FROM "{schema}".note'))
    try:
        drop_schema(admin, schema, wait_seconds=0.5)
        with admin.connect() as conn:
            assert (
                conn.scalar(text("SELECT count(*) FROM pg_namespace WHERE nspname = :s"), {"s": schema}) == 0
            )
    finally:
        leaky.invalidate()
        admin.dispose()
