"""The weighted forecast ("hidden performance"), how sure it is, and the target gap.

The service aggregates open deals per stage in SQL and hands this module one ``StageAggregate`` per
stage: ``count``, ``amount_sum`` = Σ amount and ``amount_sq_sum`` = Σ amount². That is all the maths
needs, so no deal is loaded into Python.

Forecast = Σ amount × probability over the open deals in the forecast stages (default 25–90 %).

Which deals belong to a period: a deal counts in the period that contains its expected close date; a
deal without an expected close date counts in the current period, i.e. in whichever month or quarter
contains today (in SQL, ``coalesce(expected_close_date, :today) between :start and :end``: the store's
``in_period``; that query is the one place the rule is written).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from statistics import NormalDist

DEFAULT_MIN_SAMPLE = 14
DEFAULT_LEVEL = 0.90
METHOD_NORMAL = "normal"
METHOD_CHEBYSHEV = "chebyshev"

_CENT = Decimal("0.01")
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class StageAggregate:
    """Open deals of one owner (or team) in one stage: how many, Σ amount and Σ amount²."""

    stage_key: str
    name: str
    probability: int
    in_forecast: bool
    count: int
    amount_sum: Decimal
    amount_sq_sum: Decimal


@dataclass(frozen=True)
class ForecastStage:
    """One row of the per-stage breakdown; ``weighted`` = ``amount`` × ``probability`` %."""

    stage: str
    name: str
    probability: int
    count: int
    amount: Decimal
    weighted: Decimal


@dataclass(frozen=True)
class ForecastInterval:
    """Where the total of the forecast deals that are won will fall, at ``level`` confidence."""

    low: Decimal
    high: Decimal
    level: float
    method: str


@dataclass(frozen=True)
class Forecast:
    """The forecast of one owner or team for one period; money in CNY, rounded to cents."""

    weighted_total: Decimal
    stages: tuple[ForecastStage, ...]
    sample_size: int
    reliable: bool
    min_sample: int
    interval: ForecastInterval
    pipeline_amount: Decimal  # Σ amount over the forecast stages: the most that can be won
    standard_deviation: Decimal
    target: Decimal | None
    gap: Decimal | None
    target_above_forecast_pct: Decimal | None
    aggregates: tuple[StageAggregate, ...] = field(default=(), repr=False, compare=False)


@dataclass(frozen=True)
class TeamForecast:
    """A manager's view: the team's forecast computed from all its deals, beside each owner's."""

    total: Forecast
    by_owner: dict[str, Forecast]


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


def compute_forecast(
    aggregates: Iterable[StageAggregate],
    target: Decimal | None = None,
    min_sample: int = DEFAULT_MIN_SAMPLE,
    level: float = DEFAULT_LEVEL,
) -> Forecast:
    """The forecast from per-stage aggregates of open deals.

    Only stages with ``in_forecast`` count; ``stages`` lists them by probability. ``sample_size`` is the
    number of deals in them, ``reliable`` is ``sample_size >= min_sample``.

    The interval is for W = Σ aᵢ·Xᵢ over the forecast deals, Xᵢ ~ Bernoulli(pᵢ) independent (each deal
    is either won in full or not at all). E[W] = Σ a·p is the weighted total and
    Var[W] = Σ a²·p·(1 − p) = Σ over stages of p·(1 − p)·Σ a², which is why the aggregates carry Σ a².
    With ``sample_size >= min_sample`` the interval is the normal approximation E ± z·σ, z the two-sided
    quantile of ``level`` (1.645 at 90 %). The normal shape is poor for a handful of deals (W takes
    few values and is skewed), so below ``min_sample`` the interval widens to the Chebyshev bound
    E ± σ/√(1 − level) (3.16·σ at 90 %), which holds for any distribution. Either way it is clipped to
    [0, Σ amounts]: W can be neither negative nor more than every deal won. One large deal among many
    small ones also makes the normal shape poor; σ shows how much the total depends on it.

    ``gap`` = target − weighted total (positive: the target is above the forecast);
    ``target_above_forecast_pct`` = gap / weighted total × 100, ``None`` when there is nothing weighted.

    Raises ``ValueError`` for a negative count, amount or target, a probability outside 0–100, a stage
    key given twice, ``level`` outside (0, 1) or a negative ``min_sample``.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    if min_sample < 0:
        raise ValueError(f"min_sample must not be negative, got {min_sample}")
    if target is not None and target < 0:
        raise ValueError(f"target must not be negative, got {target}")

    aggregates = tuple(aggregates)
    _check_aggregates(aggregates)
    counted = sorted((a for a in aggregates if a.in_forecast), key=lambda a: a.probability)

    rows: list[ForecastStage] = []
    mean = variance = pipeline_amount = _ZERO
    sample_size = 0
    for aggregate in counted:
        p = Decimal(aggregate.probability) / _HUNDRED
        amount_sum = Decimal(aggregate.amount_sum)  # SQL may hand back an int 0 for an empty sum
        weighted = amount_sum * p
        mean += weighted
        variance += Decimal(aggregate.amount_sq_sum) * p * (1 - p)
        pipeline_amount += amount_sum
        sample_size += aggregate.count
        rows.append(
            ForecastStage(
                stage=aggregate.stage_key,
                name=aggregate.name,
                probability=aggregate.probability,
                count=aggregate.count,
                amount=_cents(amount_sum),
                weighted=_cents(weighted),
            )
        )

    reliable = sample_size >= min_sample
    sigma = variance.sqrt()
    if reliable:
        method = METHOD_NORMAL
        spread = Decimal(repr(NormalDist().inv_cdf((1 + level) / 2)))
    else:
        method = METHOD_CHEBYSHEV
        spread = Decimal(repr(1 / math.sqrt(1 - level)))
    # low rounds down and high up, so the rounded interval still holds the rounded weighted total
    low = max((mean - spread * sigma).quantize(_CENT, rounding=ROUND_FLOOR), _ZERO)
    high = min((mean + spread * sigma).quantize(_CENT, rounding=ROUND_CEILING), _cents(pipeline_amount))

    weighted_total = _cents(mean)
    gap = pct = None
    if target is not None:
        target = _cents(Decimal(target))
        gap = target - weighted_total
        if weighted_total > 0:
            pct = _cents(gap / weighted_total * _HUNDRED)

    return Forecast(
        weighted_total=weighted_total,
        stages=tuple(rows),
        sample_size=sample_size,
        reliable=reliable,
        min_sample=min_sample,
        interval=ForecastInterval(low=low, high=high, level=level, method=method),
        pipeline_amount=_cents(pipeline_amount),
        standard_deviation=_cents(sigma),
        target=target,
        gap=gap,
        target_above_forecast_pct=pct,
        aggregates=aggregates,
    )


def _check_aggregates(aggregates: Sequence[StageAggregate]) -> None:
    seen: set[str] = set()
    for aggregate in aggregates:
        if aggregate.stage_key in seen:
            raise ValueError(f"stage {aggregate.stage_key!r} is given twice")
        seen.add(aggregate.stage_key)
        if not 0 <= aggregate.probability <= 100:
            raise ValueError(
                f"stage {aggregate.stage_key!r}: probability {aggregate.probability} is outside 0–100"
            )
        if aggregate.count < 0 or aggregate.amount_sum < 0 or aggregate.amount_sq_sum < 0:
            raise ValueError(f"stage {aggregate.stage_key!r}: counts and amounts must not be negative")


def suggest_target(forecast: Forecast, above_pct: Decimal = Decimal(20)) -> Decimal:
    """A target ``above_pct`` percent above the weighted total (the source's manager sets it 20 % above)."""
    return _cents(forecast.weighted_total * (1 + above_pct / _HUNDRED))


def roll_up(
    forecasts_by_owner: Mapping[str, Forecast],
    target: Decimal | None = None,
) -> TeamForecast:
    """The team forecast from each owner's forecast, computed again from their summed stage aggregates.

    Summing aggregates (not rounded totals) keeps the team total exact, and the variances add because
    deals are independent, so the team interval is narrower, relative to its total, than any owner's.
    ``sample_size`` is the team's deal count; ``min_sample`` and ``level`` are the owners'.
    The team target is ``target`` when given, else the sum of the owners' targets that are set
    (``None`` when no owner has one).

    Raises ``ValueError`` when owners disagree on ``min_sample``, ``level`` or a stage's probability or
    forecast flag (forecasts from different stage sets cannot be added).
    """
    forecasts = list(forecasts_by_owner.values())
    min_samples = {f.min_sample for f in forecasts} or {DEFAULT_MIN_SAMPLE}
    levels = {f.interval.level for f in forecasts} or {DEFAULT_LEVEL}
    if len(min_samples) > 1 or len(levels) > 1:
        raise ValueError("owners' forecasts use different min_sample or level")

    merged: dict[str, StageAggregate] = {}
    for forecast in forecasts:
        for aggregate in forecast.aggregates:
            known = merged.get(aggregate.stage_key)
            if known is None:
                merged[aggregate.stage_key] = aggregate
                continue
            if (known.probability, known.in_forecast) != (aggregate.probability, aggregate.in_forecast):
                raise ValueError(f"stage {aggregate.stage_key!r} differs between owners' stage sets")
            merged[aggregate.stage_key] = StageAggregate(
                stage_key=known.stage_key,
                name=known.name,
                probability=known.probability,
                in_forecast=known.in_forecast,
                count=known.count + aggregate.count,
                amount_sum=known.amount_sum + aggregate.amount_sum,
                amount_sq_sum=known.amount_sq_sum + aggregate.amount_sq_sum,
            )

    if target is None:
        owner_targets = [f.target for f in forecasts if f.target is not None]
        target = sum(owner_targets, _ZERO) if owner_targets else None
    total = compute_forecast(merged.values(), target, min_sample=min_samples.pop(), level=levels.pop())
    return TeamForecast(total=total, by_owner=dict(forecasts_by_owner))
