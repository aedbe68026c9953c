"""One database per service for tests that run several real services together, each migrated as
`make run` does: SQLite files beside the test's own, or PostgreSQL schemas beside its schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from crm_common.migrations import upgrade


@contextmanager
def service_databases(db_url: str, services: Sequence[str], tmp_path: Path) -> Iterator[dict[str, str]]:
    """``{service: url}``, each migrated; on the backend of ``db_url`` (the ``db_url`` fixture)."""
    if db_url.startswith("sqlite"):
        urls = {name: f"sqlite:///{tmp_path / (name + '.db')}" for name in services}
        for name, url in urls.items():
            upgrade(name, url)
        yield urls
        return
    parsed = make_url(db_url)
    server = parsed.set(query={})
    base = unquote(str(parsed.query.get("options", ""))).removeprefix("-csearch_path=") or "t"
    schemas = {name: f"{base}_{name}_{uuid.uuid4().hex[:4]}" for name in services}
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for schema in schemas.values():
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        urls = {
            name: f"{server.render_as_string(hide_password=False)}?options=-csearch_path%3D{schema}"
            for name, schema in schemas.items()
        }
        for name, url in urls.items():
            upgrade(name, url)
        yield urls
    finally:
        with admin.connect() as conn:
            for schema in schemas.values():
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
