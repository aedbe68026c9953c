"""Alembic environment of the knowledge service.

The shared ``crm_common.migrations.run_env``, plus one thing: the full-text index (SQLite FTS5
tables, PostgreSQL's generated ``terms_tsv`` column and its GIN index) is created by hand in
the migrations and not declared in the models, so autogenerate must leave it alone instead of
proposing to drop it.
"""

from alembic import context
from sqlalchemy import create_engine

from knowledge.models import Base
from knowledge.search import INDEX_COLUMNS, INDEX_TABLE_PREFIXES


def include_name(name, type_, parent_names):
    if type_ == "table":
        return not name.startswith(INDEX_TABLE_PREFIXES)
    if type_ == "column":
        return name not in INDEX_COLUMNS
    if type_ == "index":
        return not name.endswith("_terms_tsv")
    return True


engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
