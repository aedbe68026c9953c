"""The read side: stage sets, and forecast, funnel and calibration figures aggregated in SQL.

Every figure is a GROUP BY over an index (see ``models``): the database hands back one row per
owner and stage, never the deals themselves. The functions take a SQLAlchemy session and plain
values, so the service and the benchmark run exactly the same code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal_column, or_, select
from sqlalchemy.orm import Session

from pipeline import domain
from pipeline.calibration import DEFAULT_LEVEL as CALIBRATION_LEVEL
from pipeline.calibration import (
    BacktestRow,
    StageCount,
    backtest_period,
    calibrate_counts,
    mean_absolute_error_pct,
)
from pipeline.forecast import (
    DEFAULT_LEVEL,
    DEFAULT_MIN_SAMPLE,
    Forecast,
    StageAggregate,
    compute_forecast,
    period_bounds,
    roll_up,
    suggest_target,
)
from pipeline.funnel import FunnelStage, advise, compare_team
from pipeline.models import OPEN_CONDITION, Opportunity, StageChange, StageSet, Target
from pipeline.stages import Stage

PERIOD_RULE = (
    "a deal counts in the period containing its expected close date; a deal without one counts "
    "in the current period (coalesce(expected_close_date, today) between period start and end)"
)
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


# ---- stage sets ---------------------------------------------------------------------------------


def current_stage_set(session: Session, team: str | None) -> StageSet:
    """The newest set of ``team``, or the company default's newest when the team has none."""
    return _newest_set(session, team) or _newest_set(session, None) or _oldest_default(session)


def stage_set_at(session: Session, team: str | None, instant: datetime) -> StageSet:
    """The set that was in force for ``team`` at ``instant`` (for backtests)."""
    return (
        _newest_set(session, team, instant) or _newest_set(session, None, instant) or _oldest_default(session)
    )


def _newest_set(session: Session, team: str | None, before: datetime | None = None) -> StageSet | None:
    query = select(StageSet).where(StageSet.team.is_(None) if team is None else StageSet.team == team)
    if before is not None:
        query = query.where(StageSet.created_at <= before)
    return session.scalar(query.order_by(StageSet.id.desc()).limit(1))


def _oldest_default(session: Session) -> StageSet:
    # the migration seeds version 1: a database without it was not migrated
    return session.scalars(
        select(StageSet).where(StageSet.team.is_(None)).order_by(StageSet.id).limit(1)
    ).one()


def stages_of(stage_set: StageSet) -> tuple[Stage, ...]:
    return tuple(Stage(row.key, row.name, row.probability, row.in_forecast) for row in stage_set.stages)


def describe_stage_set(stage_set: StageSet, for_team: str | None, current: bool) -> dict:
    return {
        "version": stage_set.id,
        "team": stage_set.team,
        "for_team": for_team,
        "inherited": stage_set.team != for_team,
        "current": current,
        "created_at": stage_set.created_at,
        "created_by": stage_set.created_by,
        "stages": [asdict(stage) for stage in stages_of(stage_set)],
    }


# ---- forecast -----------------------------------------------------------------------------------


def in_period(start: date, end: date, today: date) -> ColumnElement[bool]:
    """``coalesce(expected_close_date, today) between start and end``, written so that an index on
    expected_close_date serves it: the undated deals belong to the period only when it holds today."""
    dated = Opportunity.expected_close_date.between(start, end)
    if start <= today <= end:
        return or_(dated, Opportunity.expected_close_date.is_(None))
    return dated


def _of(scope: domain.Scope) -> ColumnElement[bool]:
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
        .where(_of(scope), _IS_OPEN, in_period(start, end, today))
        .group_by(Opportunity.owner_id, Opportunity.stage)
    )


def stage_aggregates(
    session: Session,
    scope: domain.Scope,
    stages: Iterable[Stage],
    period: str,
    today: date,
) -> dict[int, list[StageAggregate]]:
    """Per owner, one StageAggregate per stage of ``stages`` (``stage_aggregates_query``)."""
    by_owner: dict[int, dict[str, tuple[int, Decimal, Decimal]]] = defaultdict(dict)
    for owner_id, stage_key, count, amount_sum, amount_sq_sum in session.execute(
        stage_aggregates_query(scope, period, today)
    ):
        by_owner[owner_id][stage_key] = (count, money(amount_sum), money(amount_sq_sum))
    stages = tuple(stages)
    return {owner_id: _aggregates(stages, sums) for owner_id, sums in by_owner.items()}


def _aggregates(
    stages: tuple[Stage, ...], sums: Mapping[str, tuple[int, Decimal, Decimal]]
) -> list[StageAggregate]:
    # a stage key outside the set (none, unless data was loaded around the service) is not counted
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


def target_amounts(
    session: Session, period: str, owner_ids: Iterable[int], team: str | None
) -> tuple[dict[int, Decimal], Decimal | None]:
    """The targets for ``period`` of each owner and (when ``team`` is given) of the team; a quarter
    without a target of its own adds up its months' (``domain.resolve_target``)."""
    periods = [period, *domain.quarter_months(period)]
    owner_ids = list(owner_ids)
    subjects: list[ColumnElement[bool]] = [Target.owner_id.in_(owner_ids)] if owner_ids else []
    if team is not None:
        subjects.append(and_(Target.owner_id.is_(None), Target.team == team))
    if not subjects:
        return {}, None
    rows = session.execute(
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


def forecast_figures(forecast: Forecast) -> dict:
    """A Forecast as a dict for ``schemas.ForecastFiguresSchema``."""
    figures = asdict(forecast)
    figures.pop("aggregates", None)
    return figures


def forecast_report(
    session: Session,
    scope: domain.Scope,
    period: str,
    today: date,
    members: Mapping[int, str | None] | None = None,
    min_sample: int = DEFAULT_MIN_SAMPLE,
    level: float = DEFAULT_LEVEL,
) -> dict:
    """The forecast of one salesperson, or of a team with each member beside the roll-up.

    ``members`` (team scope): the team's salespeople by id with their display names; anyone else
    with open deals in the team shows up too. The stage set is the team's current one.
    """
    stage_set = current_stage_set(session, scope.team)
    stages = stages_of(stage_set)
    aggregates = stage_aggregates(session, scope, stages, period, today)
    start, end = period_bounds(period)
    report: dict[str, Any] = {
        "owner_id": scope.owner_id,
        "team": scope.team,
        "period": period,
        "period_start": start,
        "period_end": end,
        "period_rule": PERIOD_RULE,
        "stage_set_version": stage_set.id,
    }
    empty = _aggregates(stages, {})
    if (owner_id := scope.owner_id) is not None:
        owner_targets, _ = target_amounts(session, period, [owner_id], None)
        forecast = compute_forecast(
            aggregates.get(owner_id, empty),
            owner_targets.get(owner_id),
            min_sample=min_sample,
            level=level,
        )
        return {**report, **forecast_figures(forecast), "suggested_target": suggest_target(forecast)}

    names = dict(members or {})
    owner_ids = sorted(set(names) | set(aggregates))
    owner_targets, team_target = target_amounts(session, period, owner_ids, scope.team)
    by_owner = {
        str(owner_id): compute_forecast(
            aggregates.get(owner_id, empty),
            owner_targets.get(owner_id),
            min_sample=min_sample,
            level=level,
        )
        for owner_id in owner_ids
    }
    team = roll_up(by_owner, team_target)
    if not by_owner:  # an empty team still gets every stage, at zero
        team = roll_up({"": compute_forecast(empty, team_target, min_sample=min_sample, level=level)})
    return {
        **report,
        **forecast_figures(team.total),
        "suggested_target": suggest_target(team.total),
        "by_owner": [
            {
                "owner_id": owner_id,
                "display_name": names.get(owner_id),
                **forecast_figures(by_owner[str(owner_id)]),
            }
            for owner_id in owner_ids
        ],
    }


# ---- funnel -------------------------------------------------------------------------------------


@dataclass
class FunnelCounts:
    """One salesperson's (or a team's) funnel: open deals per stage key as (count, Σ amount), and
    the deals won in the period."""

    open: dict[str, tuple[int, Decimal]] = field(default_factory=dict)
    won: tuple[int, Decimal] = (0, _ZERO)

    def add(self, other: FunnelCounts) -> None:
        for key, (count, amount_sum) in other.open.items():
            known = self.open.get(key, (0, _ZERO))
            self.open[key] = (known[0] + count, known[1] + amount_sum)
        self.won = (self.won[0] + other.won[0], self.won[1] + other.won[1])

    def rows(self, stages: tuple[Stage, ...]) -> list[dict]:
        """Every stage of the set in order; the won stage counts what was won in the period."""
        rows = []
        for stage in stages:
            count, amount_sum = self.won if stage.is_won else self.open.get(stage.key, (0, _ZERO))
            rows.append(
                {
                    "stage": stage.key,
                    "name": stage.name,
                    "probability": stage.probability,
                    "count": count,
                    "amount": amount_sum,
                }
            )
        return rows


def funnel_counts(
    session: Session, scope: domain.Scope, period: str, timezone: str
) -> dict[int, FunnelCounts]:
    """Per owner: open deals per stage, and the deals won in ``period``; two GROUP BYs."""
    counts: dict[int, FunnelCounts] = defaultdict(FunnelCounts)
    for owner_id, stage_key, count, amount_sum in session.execute(
        select(Opportunity.owner_id, Opportunity.stage, func.count(), func.sum(Opportunity.amount))
        .where(_of(scope), _IS_OPEN)
        .group_by(Opportunity.owner_id, Opportunity.stage)
    ):
        counts[owner_id].open[stage_key] = (count, money(amount_sum))
    since, until = domain.period_instants(period, timezone)
    for owner_id, count, amount_sum in session.execute(
        select(Opportunity.owner_id, func.count(), func.sum(Opportunity.amount))
        .where(
            _of(scope),
            Opportunity.status == "won",
            Opportunity.closed_at >= since,
            Opportunity.closed_at < until,
        )
        .group_by(Opportunity.owner_id)
    ):
        counts[owner_id].won = (count, money(amount_sum))
    return dict(counts)


def _advice(stages: tuple[Stage, ...], rows: list[dict]) -> list[dict]:
    funnel = [FunnelStage(row["stage"], row["name"], row["probability"], row["count"]) for row in rows]
    return [asdict(item) for item in advise(funnel, won_stage=stages[-1])]


def funnel_report(
    session: Session,
    scope: domain.Scope,
    period: str,
    timezone: str,
    members: Mapping[int, str | None] | None = None,
) -> dict:
    """Counts and amounts per stage with advice; for a team also each member's funnel and advice,
    and per stage how members compare with the team median."""
    stage_set = current_stage_set(session, scope.team)
    stages = stages_of(stage_set)
    counts = funnel_counts(session, scope, period, timezone)
    report: dict[str, Any] = {
        "owner_id": scope.owner_id,
        "team": scope.team,
        "period": period,
        "stage_set_version": stage_set.id,
    }
    if (owner_id := scope.owner_id) is not None:
        rows = counts.get(owner_id, FunnelCounts()).rows(stages)
        return {**report, "stages": rows, "advice": _advice(stages, rows)}

    names = dict(members or {})
    owner_ids = sorted(set(names) | set(counts))
    totals = FunnelCounts()
    for owner_counts in counts.values():
        totals.add(owner_counts)
    rows = totals.rows(stages)
    by_owner = []
    funnels: dict[str, list[FunnelStage]] = {}
    for member in owner_ids:
        member_rows = counts.get(member, FunnelCounts()).rows(stages)
        funnels[str(member)] = [
            FunnelStage(row["stage"], row["name"], row["probability"], row["count"])
            for row, stage in zip(member_rows, stages, strict=True)
            if not stage.is_won
        ]
        by_owner.append(
            {
                "owner_id": member,
                "display_name": names.get(member),
                "stages": member_rows,
                "advice": _advice(stages, member_rows),
            }
        )
    return {
        **report,
        "stages": rows,
        "advice": _advice(stages, rows),
        "by_owner": by_owner,
        "comparison": [asdict(item) for item in compare_team(funnels)],
    }


# ---- calibration and backtest -------------------------------------------------------------------


def calibration_counts(session: Session, team: str | None) -> dict[str, StageCount]:
    """Per stage key: closed deals of ``team`` whose history shows that stage, and how many were won."""
    won = case((Opportunity.status == "won", Opportunity.id))
    rows = session.execute(
        select(
            StageChange.to_stage,
            func.count(func.distinct(Opportunity.id)),
            func.count(func.distinct(won)),
        )
        .join(Opportunity, Opportunity.id == StageChange.opportunity_id)
        .where(
            _of(domain.Scope(None, team)),
            Opportunity.status.in_(("won", "lost")),
        )
        .group_by(StageChange.to_stage)
    ).all()
    return {key: StageCount(reached, won_count) for key, reached, won_count in rows}


def backtest_aggregates(
    session: Session, team: str | None, stages: tuple[Stage, ...], period: str, timezone: str
) -> list[StageAggregate]:
    """Per stage, the team's deals that were open at the start of ``period``, in the stage they were
    at then, counting in that period (by today's expected close date)."""
    start, end = period_bounds(period)
    since, _ = domain.period_instants(period, timezone)
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
            _of(domain.Scope(None, team)),
            Opportunity.created_at < since,
            or_(Opportunity.closed_at.is_(None), Opportunity.closed_at >= since),
            in_period(start, end, start),
        )
        .subquery()
    )
    amount = open_then.c.amount
    rows = session.execute(
        select(open_then.c.stage, func.count(), func.sum(amount), func.sum(amount * amount)).group_by(
            open_then.c.stage
        )
    ).all()
    sums = {key: (count, money(a), money(a2)) for key, count, a, a2 in rows}
    return _aggregates(stages, sums)


def won_amount(session: Session, team: str | None, period: str, timezone: str) -> Decimal:
    since, until = domain.period_instants(period, timezone)
    return money(
        session.scalar(
            select(func.sum(Opportunity.amount)).where(
                _of(domain.Scope(None, team)),
                Opportunity.status == "won",
                Opportunity.closed_at >= since,
                Opportunity.closed_at < until,
            )
        )
    )


def calibration_report(
    session: Session,
    team: str | None,
    today: date,
    timezone: str,
    months: int = 6,
    level: float = CALIBRATION_LEVEL,
    forecast_level: float = DEFAULT_LEVEL,
) -> dict:
    """Observed win rate per stage against the configured probability, and a backtest of the
    ``months`` whole months before today's: the forecast at each month's start (with the stage set
    then in force) against what was won in it."""
    stage_set = current_stage_set(session, team)
    stages = stages_of(stage_set)
    rows = calibrate_counts(calibration_counts(session, team), stages, level)
    backtest: list[BacktestRow] = []
    versions = []
    for period in domain.months_before(today, months):
        since, _ = domain.period_instants(period, timezone)
        then = stage_set_at(session, team, since)
        aggregates = backtest_aggregates(session, team, stages_of(then), period, timezone)
        backtest.append(
            backtest_period(period, aggregates, won_amount(session, team, period, timezone), forecast_level)
        )
        versions.append(then.id)
    return {
        "team": team,
        "stage_set_version": stage_set.id,
        "level": level,
        "method": "Wilson score interval of won / reached among closed deals that reached the stage",
        "stages": [asdict(row) for row in rows],
        "backtest": [
            {**asdict(row), "stage_set_version": version}
            for row, version in zip(backtest, versions, strict=True)
        ],
        "backtest_mean_absolute_error_pct": mean_absolute_error_pct(backtest),
    }
