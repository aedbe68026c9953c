"""An in-memory stand-in for ``pipeline.store.Store``, for use-case tests without a database.

What it computes in Python the real store computes in SQL; ``tests/service/test_pipeline_store_contract.py``
runs the same checks against both, so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pipeline.calibration import StageCount
from pipeline.constants import OPEN
from pipeline.domain import Scope
from pipeline.forecast import StageAggregate
from pipeline.models import Opportunity, StageChange, StageRow, StageSet, Target
from pipeline.stages import DEFAULT_STAGES, Stage
from pipeline.store import OpportunityFilter

_ZERO = Decimal(0)


def stage_aggregates(stages: Sequence[Stage], deals: Iterable[tuple[str, Decimal]]) -> list[StageAggregate]:
    """One StageAggregate per stage of ``stages`` from open deals given as ``(stage_key, amount)``;
    a deal in a stage the set lacks is not counted (as in the store's GROUP BY)."""
    sums: dict[str, tuple[int, Decimal, Decimal]] = {}
    for key, amount in deals:
        count, total, squares = sums.get(key, (0, _ZERO, _ZERO))
        sums[key] = (count + 1, total + amount, squares + amount * amount)
    return [
        StageAggregate(
            stage.key,
            stage.name,
            stage.probability,
            stage.in_forecast,
            *sums.get(stage.key, (0, _ZERO, _ZERO)),
        )
        for stage in stages
    ]


def reached_counts(deals: Iterable[tuple[Iterable[str], str]]) -> dict[str, StageCount]:
    """Per stage key: the closed deals (``(reached keys, "won" | "lost" | "open")``) whose history
    shows that stage, and how many of them were won (the store's ``calibration_counts``)."""
    counts: dict[str, StageCount] = {}
    for reached, outcome in deals:
        if outcome not in ("won", "lost"):
            continue
        for key in set(reached):
            known = counts.get(key, StageCount(0, 0))
            counts[key] = StageCount(known.reached + 1, known.won + (outcome == "won"))
    return counts


class FakeStore:
    """``pipeline.store.Store`` in memory, for the use cases of stage sets, deals and targets: rows
    are the real model classes, never flushed. Starts with the migration's company default set."""

    def __init__(self, now: datetime | None = None) -> None:
        self.stage_sets: list[StageSet] = []
        self.deals: dict[int, Opportunity] = {}
        self.changes: list[StageChange] = []
        self.target_rows: list[Target] = []
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.add_stage_set(None, DEFAULT_STAGES, now or datetime(2026, 1, 1, tzinfo=UTC), 0)

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        self.events.append((event_type, data))

    # ---- stage sets

    def current_stage_set(self, team: str | None) -> StageSet:
        own = [s for s in self.stage_sets if s.team == team] or [s for s in self.stage_sets if s.team is None]
        return own[-1]

    def stage_set(self, version: int) -> StageSet | None:
        return next((s for s in self.stage_sets if s.id == version), None)

    @staticmethod
    def stages_of(stage_set: StageSet) -> tuple[Stage, ...]:
        return tuple(Stage(row.key, row.name, row.probability, row.in_forecast) for row in stage_set.stages)

    def add_stage_set(
        self, team: str | None, stages: Iterable[Stage], created_at: datetime, created_by: int
    ) -> StageSet:
        rows = [
            StageRow(position=i, key=s.key, name=s.name, probability=s.probability, in_forecast=s.in_forecast)
            for i, s in enumerate(stages)
        ]
        stage_set = StageSet(
            id=len(self.stage_sets) + 1, team=team, created_at=created_at, created_by=created_by, stages=rows
        )
        self.stage_sets.append(stage_set)
        return stage_set

    def open_deals_in(self, team: str | None, keys: Iterable[str]) -> dict[str, int]:
        keys = set(keys)
        own_teams = {s.team for s in self.stage_sets if s.team is not None}
        counts: dict[str, int] = {}
        for deal in self.deals.values():
            uses_set = (
                deal.team == team if team is not None else deal.team is None or deal.team not in own_teams
            )
            if uses_set and deal.status == OPEN and deal.stage in keys:
                counts[deal.stage] = counts.get(deal.stage, 0) + 1
        return counts

    # ---- deals

    def add_opportunity(self, **fields: Any) -> Opportunity:
        deal = Opportunity(
            id=len(self.deals) + 1, closed_at=None, closed_by=None, close_reason=None, **fields
        )
        self.deals[deal.id] = deal
        return deal

    def opportunity(self, opportunity_id: int) -> Opportunity | None:
        return self.deals.get(opportunity_id)

    def opportunities(
        self, scope: Scope, wanted: OpportunityFilter, limit: int, offset: int
    ) -> list[Opportunity]:
        found = [
            deal
            for deal in sorted(self.deals.values(), key=lambda d: -d.id)
            if scope.owner_id in (None, deal.owner_id)
            and (scope.team is None or deal.team == scope.team)
            and wanted.customer_id in (None, deal.customer_id)
            and wanted.status in (None, deal.status)
            and wanted.stage in (None, deal.stage)
        ]
        return found[offset : offset + limit]

    def open_deals_of(self, customer_id: int) -> list[Opportunity]:
        return [d for _, d in sorted(self.deals.items()) if d.customer_id == customer_id and d.status == OPEN]

    def history(self, opportunity_id: int) -> list[StageChange]:
        return [change for change in self.changes if change.opportunity_id == opportunity_id]

    def add_change(self, **fields: Any) -> StageChange:
        change = StageChange(id=len(self.changes) + 1, **fields)
        self.changes.append(change)
        return change

    def save(self) -> None:
        """Nothing to write: the rows are the store."""

    # ---- targets

    def put_target(
        self,
        owner_id: int | None,
        team: str | None,
        period: str,
        amount: Decimal,
        set_by: int,
        set_at: datetime,
    ) -> Target:
        target = next(
            (
                t
                for t in self.target_rows
                if t.owner_id == owner_id and t.period == period and (owner_id is not None or t.team == team)
            ),
            None,
        )
        if target is None:
            target = Target(id=len(self.target_rows) + 1, owner_id=owner_id, period=period)
            self.target_rows.append(target)
        target.team, target.amount, target.set_by, target.set_at = team, amount, set_by, set_at
        return target

    def targets(self, scope: Scope, period: str | None) -> list[Target]:
        found = [
            t
            for t in self.target_rows
            if scope.owner_id in (None, t.owner_id)
            and (scope.team is None or t.team == scope.team)
            and period in (None, t.period)
        ]
        return sorted(found, key=lambda t: (t.period, t.owner_id is None, t.owner_id or 0))


# ---- the checks both stores must pass (unit/test_pipeline_usecases.py on FakeStore,
# service/test_pipeline_store_contract.py on the real Store) ------------------------------------


class Customers:
    """customers.get_customer for the use cases: every customer is owned by ``owners[id]``."""

    def __init__(self, owners: dict[int, tuple[int, str | None]]) -> None:
        self.owners = owners

    def get_customer(self, customer_id: int) -> dict:
        owner_id, team = self.owners[customer_id]
        return {"id": customer_id, "owner_id": owner_id, "team": team}


def check_store(store: Any) -> None:
    """Deals, stage sets and targets through the use cases; raises AssertionError on a difference."""
    import pytest

    from crm_common.caller import Caller
    from crm_common.clock import FrozenClock
    from pipeline import usecases_opportunities as deals
    from pipeline import usecases_stages as stage_sets
    from pipeline import usecases_targets as targets
    from pipeline.exceptions import (
        AlreadyInStage,
        NotYourCustomer,
        OpportunityClosed,
        OpportunityNotFound,
        StageInUse,
        UnknownOwner,
    )

    clock = FrozenClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    li = Caller(11, "li", "sales", "east", "李娜")
    zhao = Caller(12, "zhao", "sales", "east", "赵强")
    wang = Caller(10, "wang", "manager", "east", "王芳")
    customers = Customers({1: (11, "east"), 2: (12, "east")})
    new = {"customer_id": 1, "title": " 大单 ", "amount": Decimal("1000.50"), "currency": "CNY"}

    with pytest.raises(NotYourCustomer):
        deals.create_opportunity(
            store, zhao, {**new, "stage": None, "expected_close_date": None}, clock=clock, customers=customers
        )
    deal, history = deals.create_opportunity(
        store, li, {**new, "stage": "s25", "expected_close_date": None}, clock=clock, customers=customers
    )
    assert (deal.title, deal.stage, deal.status, deal.team) == ("大单", "s25", OPEN, "east")
    assert [(c.kind, c.to_stage) for c in history] == [("created", "s25")]
    with pytest.raises(OpportunityNotFound):
        deals.get_opportunity(store, zhao, deal.id)
    with pytest.raises(AlreadyInStage):
        deals.move_opportunity(store, li, deal.id, {"stage": "s25"}, clock=clock)
    moved, history = deals.move_opportunity(store, wang, deal.id, {"stage": "s50"}, clock=clock)
    assert [(c.kind, c.from_stage, c.to_stage) for c in history][-1] == ("moved", "s25", "s50")

    with pytest.raises(StageInUse) as stranded:
        stage_sets.set_stages(
            store,
            wang,
            {
                "team": None,
                "stages": [
                    {"key": "a", "name": "A", "probability": 30},
                    {"key": "won", "name": "成交", "probability": 100},
                ],
            },
            clock=clock,
        )
    assert stranded.value.details == {"s50": ["1 open deals sit here"]}

    other, _ = deals.create_opportunity(
        store,
        zhao,
        {**new, "customer_id": 2, "stage": None, "expected_close_date": None},
        clock=clock,
        customers=customers,
    )
    listed = deals.list_opportunities(store, wang, {"limit": 10, "offset": 0})
    assert [d.id for d in listed] == [other.id, deal.id]
    assert [d.id for d in deals.list_opportunities(store, li, {"limit": 10, "offset": 0})] == [deal.id]

    won, history = deals.win_opportunity(store, li, deal.id, {"reason": " 签了 "}, clock=clock)
    assert (won.status, won.stage, won.close_reason, history[-1].kind) == ("won", "s100", "签了", "won")
    with pytest.raises(OpportunityClosed):
        deals.lose_opportunity(store, li, deal.id, {"reason": "x"}, clock=clock)

    deals.lose_deals_of_abandoned_customer(store, 2, clock=clock)
    assert (store.opportunity(other.id).status, store.opportunity(other.id).close_reason) == (
        "lost",
        "abandoned",
    )

    class People:
        def user(self, user_id: int) -> dict | None:
            return {"id": 11, "team": "east"} if user_id == 11 else None

    with pytest.raises(UnknownOwner):
        targets.set_target(
            store,
            wang,
            {"owner": 99, "team": None, "period": "2026-11", "amount": Decimal(1)},
            clock=clock,
            people=People(),
        )
    for amount in ("100.00", "200.00"):
        targets.set_target(
            store,
            wang,
            {"owner": 11, "team": None, "period": "2026-11", "amount": Decimal(amount)},
            clock=clock,
            people=People(),
        )
    targets.set_target(
        store,
        wang,
        {"owner": None, "team": None, "period": "2026-11", "amount": Decimal(500)},
        clock=clock,
        people=People(),
    )
    shown = targets.list_targets(store, wang, {})
    assert [(t.owner_id, t.team, t.amount) for t in shown] == [
        (11, "east", Decimal("200.00")),
        (None, "east", Decimal("500.00")),
    ]
