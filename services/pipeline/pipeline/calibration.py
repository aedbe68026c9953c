"""Do the stage probabilities match what really happens? Calibration from history, and a backtest.

The counting is SQL (the store's ``calibration_counts`` and ``backtest_aggregates``); this module
takes the counts.

A stage's probability claims: of the deals that reach this stage, this share ends won. Calibration
counts, per stage, the closed deals (won or lost) whose history shows them at that stage, and how many
of those were won. Open deals say nothing yet and are left out. A deal counts for the stages its
history shows it at; a stage it skipped (10 % straight to 50 %) is not counted for it. Stage keys the
set no longer has (a retired stage) are ignored.

The interval is Wilson's score interval, which stays inside 0–100 % and behaves with few deals or rates
near 0 or 1, unlike the plain p ± z·√(p(1 − p)/n).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from statistics import NormalDist

from pipeline.forecast import StageAggregate, compute_forecast
from pipeline.stages import Stage

DEFAULT_LEVEL = 0.95
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class StageCount:
    """Closed deals whose history shows them at one stage, and how many of them were won."""

    reached: int
    won: int


@dataclass(frozen=True)
class StageCalibration:
    """One stage: observed win rate among closed deals that reached it, against the configured one.

    Rates and bounds are percents; they are ``None`` when no closed deal reached the stage.
    """

    stage_key: str
    name: str
    configured_probability: int
    reached: int
    won: int
    observed_rate: float | None
    low: float | None
    high: float | None
    suggested_probability: int | None
    disagrees: bool


@dataclass(frozen=True)
class BacktestRow:
    """What the forecast said at the period's start against what was won; ``error_pct`` is
    (forecast − actual) / actual × 100 (positive: the forecast promised too much), ``None`` when
    nothing was won."""

    period: str
    forecast: Decimal
    actual: Decimal
    error: Decimal
    error_pct: Decimal | None
    low: Decimal
    high: Decimal
    within_interval: bool


def wilson_interval(won: int, reached: int, level: float = DEFAULT_LEVEL) -> tuple[float, float]:
    """Wilson score interval for a share ``won`` / ``reached``, as fractions in [0, 1].

    Raises ``ValueError`` when ``reached`` is not positive, ``won`` is outside 0..reached or
    ``level`` outside (0, 1).
    """
    if reached <= 0 or not 0 <= won <= reached:
        raise ValueError(f"need 0 <= won <= reached and reached > 0, got {won}/{reached}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    z = NormalDist().inv_cdf((1 + level) / 2)
    share = won / reached
    denominator = 1 + z * z / reached
    centre = (share + z * z / (2 * reached)) / denominator
    half = z * math.sqrt(share * (1 - share) / reached + z * z / (4 * reached * reached)) / denominator
    # exact at the ends, where floating point would leave 0.9999… and put 100 % outside
    low = 0.0 if won == 0 else max(0.0, centre - half)
    high = 1.0 if won == reached else min(1.0, centre + half)
    return low, high


def calibrate_counts(
    counts: Mapping[str, StageCount],
    stages: Sequence[Stage],
    level: float = DEFAULT_LEVEL,
) -> list[StageCalibration]:
    """One row per stage of ``stages``, in order, from counts made per stage key (by the store's SQL):
    how many closed deals reached the stage and how many of those were won. Keys the set does not
    have are ignored, a stage without counts has none.

    ``disagrees`` is true when the configured probability lies outside the interval. The suggested
    probability is the observed rate made non-decreasing across stages (where a later stage shows a
    lower rate than an earlier one, both get their pooled rate, weighted by deals) and rounded to a
    whole percent; the won stage keeps 100. Suggestions may still tie after rounding: validate before
    adopting them as a stage set.

    Raises ``ValueError`` for ``won`` outside 0..reached or ``level`` outside (0, 1)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    reached = {stage.key: 0 for stage in stages}
    won = dict(reached)
    for key, count in counts.items():
        if key not in reached:
            continue
        if not 0 <= count.won <= count.reached:
            raise ValueError(f"stage {key!r}: need 0 <= won <= reached, got {count.won}/{count.reached}")
        reached[key], won[key] = count.reached, count.won

    suggested = _non_decreasing([(won[s.key], reached[s.key]) for s in stages])
    rows = []
    for stage, suggestion in zip(stages, suggested, strict=True):
        n, k = reached[stage.key], won[stage.key]
        if n == 0:
            rows.append(
                StageCalibration(
                    stage.key, stage.name, stage.probability, 0, 0, None, None, None, None, False
                )
            )
            continue
        low, high = wilson_interval(k, n, level)
        low_pct, high_pct = round(low * 100, 1), round(high * 100, 1)
        rows.append(
            StageCalibration(
                stage_key=stage.key,
                name=stage.name,
                configured_probability=stage.probability,
                reached=n,
                won=k,
                observed_rate=round(k / n * 100, 1),
                low=low_pct,
                high=high_pct,
                suggested_probability=100 if stage.is_won else _whole_percent(suggestion),
                disagrees=not low * 100 <= stage.probability <= high * 100,
            )
        )
    return rows


def _whole_percent(share: float | None) -> int | None:
    if share is None:
        return None
    return int(Decimal(repr(share * 100)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _non_decreasing(counts: Sequence[tuple[int, int]]) -> list[float | None]:
    """Pool-adjacent-violators on (won, reached) per stage: the closest non-decreasing rates."""
    blocks: list[list[int]] = []  # [won, reached, stages pooled]
    for k, n in counts:
        if n == 0:
            continue
        blocks.append([k, n, 1])
        # merge while the last block's rate is below the one before it (cross-multiplied, exact)
        while len(blocks) > 1 and blocks[-1][0] * blocks[-2][1] < blocks[-2][0] * blocks[-1][1]:
            last = blocks.pop()
            blocks[-1] = [blocks[-1][0] + last[0], blocks[-1][1] + last[1], blocks[-1][2] + last[2]]
    rates = iter(rate for k, n, size in blocks for rate in [k / n] * size)
    return [next(rates) if n else None for _, n in counts]


def backtest_period(
    period: str, aggregates: Iterable[StageAggregate], won_amount: Decimal, level: float = 0.90
) -> BacktestRow:
    """One backtest row from per-stage aggregates of the deals open at the period's start (as the
    service computes them in SQL) and the amount won during it. Only aggregates with ``in_forecast``
    count. Raises ``ValueError`` as ``compute_forecast`` does."""
    forecast = compute_forecast(aggregates, level=level)
    actual = Decimal(won_amount).quantize(_CENT, rounding=ROUND_HALF_UP)
    error = forecast.weighted_total - actual
    error_pct = (error / actual * 100).quantize(_CENT, rounding=ROUND_HALF_UP) if actual else None
    return BacktestRow(
        period=period,
        forecast=forecast.weighted_total,
        actual=actual,
        error=error,
        error_pct=error_pct,
        low=forecast.interval.low,
        high=forecast.interval.high,
        within_interval=forecast.interval.low <= actual <= forecast.interval.high,
    )


def mean_absolute_error_pct(rows: Iterable[BacktestRow]) -> Decimal | None:
    """The mean of |error %| over the periods that won something; ``None`` when none did."""
    errors = [abs(row.error_pct) for row in rows if row.error_pct is not None]
    if not errors:
        return None
    return (sum(errors, Decimal(0)) / len(errors)).quantize(_CENT, rounding=ROUND_HALF_UP)
