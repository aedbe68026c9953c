"""The real Store, on a real database (SQLite, and PostgreSQL where CRM_TEST_DB_URL is set),
passes the pool rules' checks the in-memory FakeStore passes
fake the use-case tests run on cannot drift from it."""

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from crm_common.db import UnitOfWork
from customers.models import Base
from customers.store import Store
from services.customers.tests.store_checks_pool import POOL_CHECKS


@pytest.mark.parametrize("check", POOL_CHECKS, ids=lambda check: check.__name__)
def test_the_store_keeps_the_pool_contract(check, migrated):
    engine = create_engine(migrated("customers"))
    unit = UnitOfWork(
        sessionmaker(bind=engine, expire_on_commit=False, info={"metadata": Base.metadata}), "customers"
    )
    try:
        check(Store(unit))
        unit.commit()  # what the checks wrote holds up at commit (constraints, types)
    finally:
        unit.close()
        engine.dispose()
