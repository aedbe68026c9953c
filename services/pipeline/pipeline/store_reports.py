"""The store's read side: forecast, funnel and calibration figures aggregated in SQL.

Every figure is a GROUP BY over an index (see ``models``): the database hands back one row per
owner and stage, never the deals themselves. Mixed into ``store.Store``; no SQL lives elsewhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal_column, or_, select
from sqlalchemy.orm import Session

from pipeline import domain
from pipeline.calibration import StageCount
from pipeline.constants import LOST, WON, period_bounds
from pipeline.forecast import StageAggregate
from pipeline.funnel import FunnelCounts
from pipeline.models import OPEN_CONDITION, Opportunity, StageChange, Target
from pipeline.stages import Stage

_ZERO = Decimal(0)
_IS_OPEN: ColumnElement[Any] = literal_column(OPEN_CONDITION)  # the partial indexes' own text


def money(value: Any) -> Decimal:
    """A SQL sum as Decimal: None for no rows, a float from SQLite, a Decimal from PostgreSQL."""
    if value is None:
        return _ZERO
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def in_period(start: date, end: date, today: date) -> ColumnElement[bool]:
    """The period rule (``forecast``'s docstring): ``coalesce(expected_close_date, today) between
    start and end``, written so that an index on expected_close_date serves it: the undated deals
    belong to the period only when it holds today."""
    dated = Opportunity.expected_close_date.between(start, end)
    if start <= today <= end:
        return or_(dated, Opportunity.expected_close_date.is_(None))
    return dated


def of_scope(scope: domain.Scope) -> ColumnElement[bool]:
    if scope.owner_id is not None:
        return Opportunity.owner_id == scope.owner_id
    return Opportunity.team.is_(None) if scope.team is None else Opportunity.team == scope.team


def stage_aggregates_query(scope: domain.Scope, period: str, today: date) -> Select:
    """Per owner and stage: count, Σ amount and Σ amount² of the open deals counting in ``period``."""
    start, end = period_bounds(period)
    amount = Opportunity.amount
    return (
        select(
            Opportunity.owner_id,
            Opportunity.stage,
            func.count(),
            func.sum(amount),
            func.sum(amount * amount),
        )
        .where(of_scope(scope), _IS_OPEN, in_period(start, end, today))
        .group_by(Opportunity.owner_id, Opportunity.stage)
    )


def aggregates(
    stages: Iterable[Stage], sums: Mapping[str, tuple[int, Decimal, Decimal]]
) -> list[StageAggregate]:
    """One StageAggregate per stage from (count, Σ amount, Σ amount²) by key; a stage key outside the
    set (none, unless data was loaded around the service) is not counted."""
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


class ReportQueries:
    """Aggregates for the forecast, funnel and calibration (mixed into ``Store``)."""

    def __init__(self, uow: Any) -> None:
        self.uow = uow  # crm_common.db.UnitOfWork: the worker's session and its outbox

    @property
    def session(self) -> Session:
        return self.uow.session

    def stage_aggregates(
        self, scope: domain.Scope, stages: Iterable[Stage], period: str, today: date
    ) -> dict[int, list[StageAggregate]]:
        """Per owner, one StageAggregate per stage of ``stages`` (``stage_aggregates_query``)."""
        by_owner: dict[int, dict[str, tuple[int, Decimal, Decimal]]] = defaultdict(dict)
        for owner_id, stage_key, count, amount_sum, amount_sq_sum in self.session.execute(
            stage_aggregates_query(scope, period, today)
        ):
            by_owner[owner_id][stage_key] = (count, money(amount_sum), money(amount_sq_sum))
        stages = tuple(stages)
        return {owner_id: aggregates(stages, sums) for owner_id, sums in by_owner.items()}

    def target_amounts(
        self, period: str, owner_ids: Iterable[int], team: str | None
    ) -> tuple[dict[int, Decimal], Decimal | None]:
        """The targets for ``period`` of each owner and (when ``team`` is given) of the team; a
        quarter without a target of its own adds up its months' (``domain.resolve_target``)."""
        periods = [period, *domain.quarter_months(period)]
        owner_ids = list(owner_ids)
        subjects: list[ColumnElement[bool]] = [Target.owner_id.in_(owner_ids)] if owner_ids else []
        if team is not None:
            subjects.append(and_(Target.owner_id.is_(None), Target.team == team))
        if not subjects:
            return {}, None
        rows = self.session.execute(
            select(Target.owner_id, Target.period, Target.amount).where(
                Target.period.in_(periods), or_(*subjects)
            )
        ).all()
        amounts: dict[int | None, dict[str, Decimal]] = defaultdict(dict)
        for owner_id, target_period, amount in rows:
            amounts[owner_id][target_period] = money(amount)
        by_owner = {
            owner_id: target
            for owner_id in owner_ids
            if (target := domain.resolve_target(period, amounts.get(owner_id, {}))) is not None
        }
        team_target = domain.resolve_target(period, amounts.get(None, {})) if team is not None else None
        return by_owner, team_target

    def funnel_counts(self, scope: domain.Scope, since: datetime, until: datetime) -> dict[int, FunnelCounts]:
        """Per owner: open deals per stage, and the deals won in [since, until); two GROUP BYs."""
        counts: dict[int, FunnelCounts] = defaultdict(FunnelCounts)
        for owner_id, stage_key, count, amount_sum in self.session.execute(
            select(Opportunity.owner_id, Opportunity.stage, func.count(), func.sum(Opportunity.amount))
            .where(of_scope(scope), _IS_OPEN)
            .group_by(Opportunity.owner_id, Opportunity.stage)
        ):
            counts[owner_id].open[stage_key] = (count, money(amount_sum))
        for owner_id, count, amount_sum in self.session.execute(
            select(Opportunity.owner_id, func.count(), func.sum(Opportunity.amount))
            .where(
                of_scope(scope),
                Opportunity.status == WON,
                Opportunity.closed_at >= since,
                Opportunity.closed_at < until,
            )
            .group_by(Opportunity.owner_id)
        ):
            counts[owner_id].won = (count, money(amount_sum))
        return dict(counts)

    def calibration_counts(self, team: str | None) -> dict[str, StageCount]:
        """Per stage key: closed deals of ``team`` whose history shows that stage, and how many were won."""
        won = case((Opportunity.status == WON, Opportunity.id))
        rows = self.session.execute(
            select(
                StageChange.to_stage,
                func.count(func.distinct(Opportunity.id)),
                func.count(func.distinct(won)),
            )
            .join(Opportunity, Opportunity.id == StageChange.opportunity_id)
            .where(of_scope(domain.Scope(None, team)), Opportunity.status.in_((WON, LOST)))
            .group_by(StageChange.to_stage)
        ).all()
        return {key: StageCount(reached, won_count) for key, reached, won_count in rows}

    def backtest_aggregates(
        self, team: str | None, stages: Iterable[Stage], period: str, since: datetime
    ) -> list[StageAggregate]:
        """Per stage, the team's deals that were open at ``since`` (the start of ``period``), in the
        stage they were at then, counting in that period (by today's expected close date)."""
        start, end = period_bounds(period)
        # one index probe per deal for the stage it was at then (a join would hash every move)
        stage_then = (
            select(StageChange.to_stage)
            .where(StageChange.opportunity_id == Opportunity.id, StageChange.changed_at < since)
            .order_by(StageChange.id.desc())
            .limit(1)
            .correlate(Opportunity)
            .scalar_subquery()
        )
        open_then = (
            select(Opportunity.amount, stage_then.label("stage"))
            .where(
                of_scope(domain.Scope(None, team)),
                Opportunity.created_at < since,
                or_(Opportunity.closed_at.is_(None), Opportunity.closed_at >= since),
                in_period(start, end, start),
            )
            .subquery()
        )
        amount = open_then.c.amount
        rows = self.session.execute(
            select(open_then.c.stage, func.count(), func.sum(amount), func.sum(amount * amount)).group_by(
                open_then.c.stage
            )
        ).all()
        sums = {key: (count, money(a), money(a2)) for key, count, a, a2 in rows}
        return aggregates(stages, sums)

    def won_amount(self, team: str | None, since: datetime, until: datetime) -> Decimal:
        """Σ amount of the team's deals won in [since, until)."""
        return money(
            self.session.scalar(
                select(func.sum(Opportunity.amount)).where(
                    of_scope(domain.Scope(None, team)),
                    Opportunity.status == WON,
                    Opportunity.closed_at >= since,
                    Opportunity.closed_at < until,
                )
            )
        )
