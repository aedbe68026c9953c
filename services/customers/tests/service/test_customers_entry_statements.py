"""Entering a customer does the least database work that keeps the rules (issue 13): the statements
one entry sends are counted on the real Store (SQLite, and PostgreSQL where CRM_TEST_DB_URL is
set), so the figure cannot creep back up unnoticed — and the rules still hold on the short path:
a held phone or name is refused naming its owner, and nothing of the refused entry is written."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.orm import sessionmaker

from crm_common.caller import Caller
from crm_common.clock import FrozenClock
from crm_common.db import UnitOfWork
from crm_common.validation import load
from customers import usecases_pool as pool
from customers.exceptions import DuplicateCustomer
from customers.models import Base, Customer, CustomerKey
from customers.schemas import NewCustomerSchema
from customers.store import Store
from customers.usecases_common import Settings

LINA = Caller(11, "lina", "sales", "east", "李娜")
ZHANG = Caller(12, "zhang", "sales", "east", "张伟")
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

# What one entry of a new customer sends (before issue 13: 9 on SQLite, 10 on PostgreSQL — the pool
# settings, the holding count and the exact-key lookup were three reads). Now one read: the holding
# limit, the count and the name key's holders in any region together (Store.entry_facts); then the
# customer, its keys (one multi-row insert), its scan postings, the outbox row, the ownership change
# and the revision. PostgreSQL adds the name key's advisory lock (the region rule).
STATEMENTS = {"sqlite": 7, "postgresql": 8}


@pytest.fixture
def entries(migrated):
    engine = create_engine(migrated("customers"))
    sent: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def count(_conn, _cursor, statement, _parameters, _context, _executemany):
        sent.append(statement)

    sessions = sessionmaker(bind=engine, expire_on_commit=False, info={"metadata": Base.metadata})

    def enter(caller, payload):
        """Enter ``payload`` as ``caller`` in a transaction of its own: (customer or the error,
        the statements sent, BEGIN/COMMIT aside)."""
        unit = UnitOfWork(sessions, "customers")
        sent.clear()
        try:
            customer = pool.create_customer(
                Store(unit),
                caller,
                load(NewCustomerSchema(), payload),
                clock=FrozenClock(NOW),
                people=None,
                settings=Settings(),
            )
            unit.commit()
            return customer, list(sent)
        except DuplicateCustomer as refused:
            unit.rollback()
            return refused, list(sent)
        finally:
            unit.close()

    enter.engine = engine
    enter.dialect = engine.dialect.name
    yield enter
    engine.dispose()


def count_rows(engine, model):
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model))


def test_a_new_customer_is_entered_with_one_read_and_batched_inserts(entries):
    entries(LINA, {"name": "深圳市华为技术有限公司", "phone": "13800138000"})  # warm: caches, the schema
    customer, sent = entries(
        LINA,
        {
            "name": "杭州阿里巴巴网络技术有限公司",
            "phone": "13900139000",
            "contacts": [{"name": "王总", "title": "总经理", "phone": "13700137000", "decision_level": 5}],
        },
    )
    assert isinstance(customer, Customer), customer
    reads = [statement for statement in sent if statement.lstrip().upper().startswith("SELECT")]
    inserts = [statement for statement in sent if statement.lstrip().upper().startswith("INSERT")]
    assert len(sent) == STATEMENTS[entries.dialect], "\n".join(sent)
    assert len([s for s in reads if "pg_advisory_xact_lock" not in s]) == 1, reads
    assert len([s for s in inserts if "customer_keys" in s]) == 1  # name + two phones, one statement
    assert count_rows(entries.engine, CustomerKey) == 2 + 3


def test_a_held_phone_is_refused_naming_its_owner_and_nothing_of_the_entry_is_written(entries):
    first, _ = entries(LINA, {"name": "鑫源贸易有限公司", "phone": "13800138000"})
    refused, sent = entries(ZHANG, {"name": "天成机械厂", "phone": "13800138000"})
    assert isinstance(refused, DuplicateCustomer)
    assert refused.details["customer_id"] == first.id and refused.details["owner"] == "李娜"
    assert refused.details["matched_on"] == ["phone"]
    # the insert of the keys was the check; the holder is read only then
    assert any("INSERT INTO customer_keys" in statement for statement in sent)
    assert count_rows(entries.engine, Customer) == 1 and count_rows(entries.engine, CustomerKey) == 2


def test_a_held_name_in_any_region_form_is_refused_naming_its_owner(entries):
    first, _ = entries(LINA, {"name": "恒发五金有限公司"})
    for name in ("恒发五金有限公司", "深圳市恒发五金有限公司"):
        refused, sent = entries(ZHANG, {"name": name})
        assert isinstance(refused, DuplicateCustomer), name
        assert (refused.details["customer_id"], refused.details["owner"]) == (first.id, "李娜")
        assert not any(statement.lstrip().upper().startswith("INSERT") for statement in sent)
    assert count_rows(entries.engine, Customer) == 1
