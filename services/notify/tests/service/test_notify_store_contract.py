"""The same checks as tests/unit's use-case tests, on the real Store and database: the fake
store (tests/fakes.py) cannot drift from what the Store does."""

import pytest
from sqlalchemy import create_engine, delete
from sqlalchemy.orm import sessionmaker

from crm_common.db import UnitOfWork
from notify.models import (
    Base,
    CustomerWatch,
    ManagerNotice,
    Notification,
    Reminder,
    SmsMessage,
    TeamSetting,
    UserPreference,
)
from notify.store import Store
from services.notify.tests import delivery_checks, inbox_checks, reminder_checks, watching_checks

NOTIFY_TABLES = (
    Notification,
    SmsMessage,
    Reminder,
    ManagerNotice,
    CustomerWatch,
    TeamSetting,
    UserPreference,
)


@pytest.fixture
def store(db_url, migrated):
    migrated("notify")
    engine = create_engine(db_url)
    sessions = sessionmaker(bind=engine, expire_on_commit=False, info={"metadata": Base.metadata})
    with sessions() as session, session.begin():
        for table in NOTIFY_TABLES:
            session.execute(delete(table))
    unit = UnitOfWork(sessions, "notify")
    yield Store(unit)
    unit.rollback()
    unit.close()
    engine.dispose()


@pytest.mark.parametrize("check", inbox_checks.CHECKS, ids=lambda check: check.__name__)
def test_inbox_use_cases_on_the_real_store(check, store):
    check(store, store.unit.commit)


@pytest.mark.parametrize("check", reminder_checks.CHECKS, ids=lambda check: check.__name__)
def test_reminder_use_cases_on_the_real_store(check, store):
    check(store, store.unit.commit)


@pytest.mark.parametrize("check", watching_checks.CHECKS, ids=lambda check: check.__name__)
def test_watching_use_cases_on_the_real_store(check, store):
    check(store, store.unit.commit)


@pytest.mark.parametrize("check", delivery_checks.CHECKS, ids=lambda check: check.__name__)
def test_delivery_use_cases_on_the_real_store(check, store):
    check(store, store.unit.commit)
