"""One database per service for tests that run several real services together, each migrated as
`make run` does: SQLite files beside the test's own, or PostgreSQL schemas beside its schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from crm_common.migrations import upgrade


@contextmanager
def service_databases(db_url: str, services: Sequence[str], tmp_path: Path) -> Iterator[dict[str, str]]:
    """``{service: url}``, each migrated; on the backend of ``db_url`` (the ``db_url`` fixture)."""
    with ExitStack() as schemas:
        if db_url.startswith("sqlite"):
            urls = {name: f"sqlite:///{tmp_path / (name + '.db')}" for name in services}
        else:
            parsed = make_url(db_url)
            server = parsed.set(query={}).render_as_string(hide_password=False)
            base = unquote(str(parsed.query.get("options", ""))).removeprefix("-csearch_path=") or "t"
            urls = {
                name: schemas.enter_context(scratch_schema(server, f"{base}_{name}_{uuid.uuid4().hex[:4]}"))
                for name in services
            }
        for name, url in urls.items():
            upgrade(name, url)
        yield urls


@contextmanager
def scratch_schema(server: str, schema: str | None = None) -> Iterator[str]:
    """A new PostgreSQL schema (``schema``, else a random ``t_…``) in the database ``server``
    names: yields the URL whose connections work in it, and drops it (`drop_schema`) at the end.
    Every test schema is made here: the suite's `db_url`, and the extra ones beside it."""
    schema = schema or "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield f"{server}?options=-csearch_path%3D{schema}"
    finally:
        drop_schema(admin, schema)
        admin.dispose()


def drop_schema(admin: Engine, schema: str, wait_seconds: float = 10) -> None:
    """``DROP SCHEMA … CASCADE`` at a test's end, even when something still holds a lock in it
    (a connection a test left open, a container's query): after ``wait_seconds`` the sessions
    holding locks on its tables are ended and the drop is tried again. A teardown must not
    wait forever, nor deadlock, and so hang the whole suite."""
    holders = text(
        "SELECT pg_terminate_backend(l.pid) FROM pg_locks l"
        " JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = :schema AND l.pid <> pg_backend_pid()"
    )
    for attempt in range(3):
        try:
            with admin.connect() as conn:
                conn.execute(text(f"SET lock_timeout = '{int(wait_seconds * 1000)}ms'"))
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            return
        except OperationalError:  # lock_timeout, or chosen as a deadlock's victim
            if attempt == 2:
                raise
            with admin.connect() as conn:
                conn.execute(holders, {"schema": schema})
