"""The real Store on a real database (SQLite, and PostgreSQL with CRM_TEST_DB_URL) passes the same
checks as the tests' FakeStore, so the fake cannot drift."""

import pytest
from appraisal_fakes import FakeStore, check_store
from sqlalchemy.orm import sessionmaker

from appraisal.models import Base
from appraisal.store import Store
from crm_common.db import UnitOfWork, make_engine


@pytest.fixture
def store(migrated):
    engine = make_engine(migrated("appraisal"))
    unit = UnitOfWork(
        sessionmaker(bind=engine, expire_on_commit=False, info={"metadata": Base.metadata}), "appraisal"
    )
    yield Store(unit)
    unit.rollback()
    unit.close()
    engine.dispose()


def test_the_real_store_passes_the_fake_stores_checks(store):
    check_store(store)
    check_store(FakeStore())
