"""Use cases of the read side: the forecast, the funnel with its advice, and calibration with its
backtest. The figures come from the store's aggregates; the maths from ``forecast``, ``funnel`` and
``calibration``. The report functions take a store and plain values, so the service and the
benchmark run exactly the same code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from crm_common.caller import Caller
from crm_common.clock import Clock
from crm_common.directory import People
from crm_common.errors import NotFound
from pipeline import domain
from pipeline.calibration import DEFAULT_LEVEL as CALIBRATION_LEVEL
from pipeline.calibration import BacktestRow, backtest_period, calibrate_counts, mean_absolute_error_pct
from pipeline.constants import SALES_ROLE, current_period, period_bounds
from pipeline.forecast import (
    DEFAULT_LEVEL,
    DEFAULT_MIN_SAMPLE,
    Forecast,
    compute_forecast,
    roll_up,
    suggest_target,
)
from pipeline.funnel import FunnelCounts, FunnelStage, advise, compare_team
from pipeline.stages import Stage, won_stage
from pipeline.store import Store
from pipeline.store_reports import aggregates

PERIOD_RULE = (
    "a deal counts in the period containing its expected close date; a deal without one counts "
    "in the current period (coalesce(expected_close_date, today) between period start and end)"
)


@dataclass(frozen=True)
class ReportSettings:
    """The service's configuration the reports read (config.yml)."""

    timezone: str
    min_sample: int = DEFAULT_MIN_SAMPLE
    forecast_level: float = DEFAULT_LEVEL
    calibration_level: float = CALIBRATION_LEVEL


# ---- entry points: who may see what ---------------------------------------------------------------


def _scope(caller: Caller, wanted: Mapping[str, Any], people: People) -> domain.Scope:
    def team_of(user_id: int) -> str | None:
        user = people.user(user_id)
        if user is None:
            raise NotFound(f"no user {user_id}", {"owner": ["no such user"]})
        return user.get("team")

    return domain.report_scope(caller, wanted.get("owner"), wanted.get("team"), team_of)


def members_of(team: str | None, people: People) -> dict[int, str | None]:
    """The team's salespeople by id, with display names, from accounts."""
    if team is None:
        return {}
    return {
        user["id"]: user.get("display_name") for user in people.team(team) if user.get("role") == SALES_ROLE
    }


def get_forecast(
    store: Store,
    caller: Caller,
    wanted: Mapping[str, Any],
    *,
    clock: Clock,
    people: People,
    settings: ReportSettings,
) -> dict:
    """The forecast the caller may see (``domain.report_scope``) for a period (default: this month)."""
    scope = _scope(caller, wanted, people)
    today = domain.local_today(clock.now(), settings.timezone)
    return forecast_report(
        store,
        scope,
        wanted.get("period") or current_period(today),
        today,
        members=members_of(scope.team, people) if scope.is_team else None,
        min_sample=settings.min_sample,
        level=settings.forecast_level,
    )


def get_funnel(
    store: Store,
    caller: Caller,
    wanted: Mapping[str, Any],
    *,
    clock: Clock,
    people: People,
    settings: ReportSettings,
) -> dict:
    """The funnel with advice the caller may see, for a period (default: this month)."""
    scope = _scope(caller, wanted, people)
    today = domain.local_today(clock.now(), settings.timezone)
    return funnel_report(
        store,
        scope,
        wanted.get("period") or current_period(today),
        settings.timezone,
        members=members_of(scope.team, people) if scope.is_team else None,
    )


def get_calibration(
    store: Store, caller: Caller, wanted: Mapping[str, Any], *, clock: Clock, settings: ReportSettings
) -> dict:
    """Calibration and backtest of a team (managers their own, admins any)."""
    team = domain.calibration_team(caller, wanted.get("team"))
    return calibration_report(
        store,
        team,
        domain.local_today(clock.now(), settings.timezone),
        settings.timezone,
        months=wanted["periods"],
        level=settings.calibration_level,
        forecast_level=settings.forecast_level,
    )


# ---- forecast -----------------------------------------------------------------------------------


def forecast_figures(forecast: Forecast) -> dict:
    """A Forecast as a dict for ``schemas.ForecastFiguresSchema``."""
    figures = asdict(forecast)
    figures.pop("aggregates", None)
    return figures


def forecast_report(
    store: Store,
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
    stage_set = store.current_stage_set(scope.team)
    stages = store.stages_of(stage_set)
    by_owner_aggregates = store.stage_aggregates(scope, stages, period, today)
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
    empty = aggregates(stages, {})
    if (owner_id := scope.owner_id) is not None:
        owner_targets, _ = store.target_amounts(period, [owner_id], None)
        forecast = compute_forecast(
            by_owner_aggregates.get(owner_id, empty),
            owner_targets.get(owner_id),
            min_sample=min_sample,
            level=level,
        )
        return {**report, **forecast_figures(forecast), "suggested_target": suggest_target(forecast)}

    names = dict(members or {})
    owner_ids = sorted(set(names) | set(by_owner_aggregates))
    owner_targets, team_target = store.target_amounts(period, owner_ids, scope.team)
    by_owner = {
        str(owner_id): compute_forecast(
            by_owner_aggregates.get(owner_id, empty),
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


def _advice(stages: Sequence[Stage], rows: list[dict]) -> list[dict]:
    funnel = [FunnelStage(row["stage"], row["name"], row["probability"], row["count"]) for row in rows]
    return [asdict(item) for item in advise(funnel, won_stage=won_stage(stages))]


def funnel_report(
    store: Store,
    scope: domain.Scope,
    period: str,
    timezone: str,
    members: Mapping[int, str | None] | None = None,
) -> dict:
    """Counts and amounts per stage with advice; for a team also each member's funnel and advice,
    and per stage how members compare with the team median."""
    stage_set = store.current_stage_set(scope.team)
    stages = store.stages_of(stage_set)
    counts = store.funnel_counts(scope, *domain.period_instants(period, timezone))
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


def calibration_report(
    store: Store,
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
    stage_set = store.current_stage_set(team)
    stages = store.stages_of(stage_set)
    rows = calibrate_counts(store.calibration_counts(team), stages, level)
    backtest: list[BacktestRow] = []
    versions = []
    for period in domain.months_before(today, months):
        since, until = domain.period_instants(period, timezone)
        then = store.stage_set_at(team, since)
        open_then = store.backtest_aggregates(team, store.stages_of(then), period, since)
        backtest.append(
            backtest_period(period, open_then, store.won_amount(team, since, until), forecast_level)
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
