"""Alembic per service: each service's ``migrations/`` folder against its own database."""

from __future__ import annotations

import logging

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from crm_common.config import SERVICES_DIR, database_url, load_config, service_config_path

log = logging.getLogger(__name__)


def alembic_config(service: str, url: str | None = None) -> Config:
    """An Alembic config for ``service`` pointing at its database (``url`` overrides)."""
    if url is None:
        url = database_url(service, load_config(service_config_path(service)))
    config = Config()
    config.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    # configparser treats % as interpolation: URLs may hold %-escapes
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in ``url`` if it does not exist yet."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        return
    server = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
            ).scalar()
            if not exists:
                try:
                    conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
                    log.info("created database %s", parsed.database)
                except DBAPIError:
                    # another process (a replica, a parallel test run) created it between the
                    # check and the CREATE: fine if it is there now
                    if not conn.execute(
                        text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
                    ).scalar():
                        raise
    finally:
        server.dispose()


def upgrade(service: str, url: str | None = None) -> None:
    """Bring ``service``'s database to the newest revision.

    On PostgreSQL an advisory lock makes replicas that start together migrate one at a time.
    """
    config = alembic_config(service, url)
    target = config.get_main_option("sqlalchemy.url", "").replace("%%", "%")
    ensure_database(target)
    if make_url(target).get_backend_name() != "postgresql":
        command.upgrade(config, "head")
        return
    engine = create_engine(target)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(hashtext(:key))"), {"key": f"crm-migrate-{service}"})
            try:
                command.upgrade(config, "head")
            finally:
                conn.execute(
                    text("SELECT pg_advisory_unlock(hashtext(:key))"), {"key": f"crm-migrate-{service}"}
                )
    finally:
        engine.dispose()


def run_env(metadata: MetaData) -> None:
    """Body of every service's ``migrations/env.py``."""
    url = context.config.get_main_option("sqlalchemy.url") or ""
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
