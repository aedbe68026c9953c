"""What every service's tables have in common."""

from __future__ import annotations

from sqlalchemy import MetaData

from crm_common.idempotency import add_request_log_table
from crm_common.outbox import add_outbox_tables

# Named constraints so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata() -> MetaData:
    """A fresh MetaData for one service, with the outbox, processed-events and request-log tables."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    add_outbox_tables(metadata)
    add_request_log_table(metadata)
    return metadata
