"""ensure_database creates a PostgreSQL database once, also when another process creates it at the
same moment (replicas migrating together, two test runs in parallel): the loser of the race finds
the database there and goes on instead of failing on 'already exists'."""

import os
import uuid

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from crm_common.config import with_database
from crm_common.migrations import ensure_database

PG_SERVER = os.environ.get("CRM_TEST_DB_URL")
pytestmark = pytest.mark.skipif(not PG_SERVER, reason="needs PostgreSQL (CRM_TEST_DB_URL)")


@pytest.fixture
def server():
    admin = create_engine(with_database(PG_SERVER, "postgres"), isolation_level="AUTOCOMMIT")
    names: list[str] = []
    yield admin, names
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def test_a_database_created_by_someone_else_between_the_check_and_the_create_is_fine(server):
    admin, names = server
    name = "race_" + uuid.uuid4().hex[:10]
    names.append(name)

    raced: list[bool] = []

    def the_other_process_wins(conn, cursor, statement, *args):
        if statement.startswith("CREATE DATABASE") and not raced:
            raced.append(True)
            with admin.connect() as other:
                other.execute(text(f'CREATE DATABASE "{name}"'))

    event.listen(Engine, "before_cursor_execute", the_other_process_wins)
    try:
        ensure_database(with_database(PG_SERVER, name))
    finally:
        event.remove(Engine, "before_cursor_execute", the_other_process_wins)
    assert raced
    with admin.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
            == 1
        )


def test_a_database_that_cannot_be_created_still_fails(server):
    with pytest.raises(Exception, match="invalid|syntax|length|name"):
        ensure_database(with_database(PG_SERVER, 'bad"name'))
