"""The real Store on a real database (SQLite, and PostgreSQL with CRM_TEST_DB_URL) passes the same
checks as the tests' FakeStore, and its SQL aggregates agree with the fake's Python ones, so the fake
cannot drift. The period rule (a deal counts in the period of its expected close date, an undated one
in the period holding today) is checked here, where it is written: in SQL."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pipeline_fakes import FakeStore, check_store, reached_counts, stage_aggregates
from sqlalchemy.orm import sessionmaker

from crm_common.db import UnitOfWork, make_engine
from pipeline.domain import Scope
from pipeline.models import Base, Opportunity, StageChange
from pipeline.stages import DEFAULT_STAGES
from pipeline.store import Store

T0 = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture
def store(migrated):
    engine = make_engine(migrated("pipeline"))
    unit = UnitOfWork(
        sessionmaker(bind=engine, expire_on_commit=False, info={"metadata": Base.metadata}), "pipeline"
    )
    yield Store(unit)
    unit.rollback()
    unit.close()
    engine.dispose()


def test_the_real_store_passes_the_fake_stores_checks(store):
    check_store(store)
    fake = FakeStore()
    check_store(fake)


def _deal(store, owner_id, stage, amount, expected, status="open"):
    return store.add_opportunity(
        customer_id=1,
        owner_id=owner_id,
        team="east",
        title="t",
        amount=Decimal(amount),
        currency="CNY",
        stage=stage,
        status=status,
        expected_close_date=expected,
        created_at=T0,
        created_by=owner_id,
        updated_at=T0,
        closed_at=T0 if status != "open" else None,
    )


def test_stage_aggregates_follow_the_period_rule_as_the_fake_computes_them(store):
    today = date(2026, 11, 15)
    deals = [
        (11, "s25", "100.00", None),  # undated: counts in the period holding today
        (11, "s25", "200.50", date(2026, 11, 30)),
        (11, "s50", "300.00", date(2026, 12, 31)),  # December only
        (11, "s75", "10.00", date(2026, 11, 1), "won"),  # closed: never
        (12, "s90", "50.00", date(2026, 11, 2)),
    ]
    for deal in deals:
        _deal(store, *deal)
    store.save()
    expected = {
        "2026-11": {11: [("s25", "100.00"), ("s25", "200.50")], 12: [("s90", "50.00")]},
        "2026-Q4": {11: [("s25", "100.00"), ("s25", "200.50"), ("s50", "300.00")], 12: [("s90", "50.00")]},
        "2026-12": {11: [("s50", "300.00")]},
    }
    for period, by_owner in expected.items():
        got = store.stage_aggregates(Scope(None, "east"), DEFAULT_STAGES, period, today)
        want = {
            owner: stage_aggregates(DEFAULT_STAGES, [(k, Decimal(a)) for k, a in deals_])
            for owner, deals_ in by_owner.items()
        }
        assert got == want, period


def test_calibration_counts_match_the_fakes_counting(store):
    histories = [
        (["s10", "s25", "s100"], "won"),
        (["s10", "s25"], "lost"),
        (["s10"], "open"),
        (["s25"], "lost"),
    ]
    for reached, outcome in histories:
        deal = _deal(store, 11, reached[-1], "10.00", None, outcome)
        for key in reached:
            store.add_change(
                opportunity_id=deal.id,
                kind="moved",
                from_stage=None,
                to_stage=key,
                probability=0,
                stage_set_id=1,
                changed_by=11,
                changed_at=T0,
            )
    store.save()
    assert store.calibration_counts("east") == reached_counts(histories)
    assert isinstance(store.history(1)[0], StageChange) and isinstance(store.opportunity(1), Opportunity)
