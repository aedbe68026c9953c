"""A seeded history of deals moving through the stages with known true win rates.

Each stage s has a true rate rₛ: the chance that a deal which reaches s is eventually won. The rates
rise from stage to stage and the last (won) stage has rate 1. A deal starts at the first stage; from
stage s it advances to the next stage with probability rₛ / rₛ₊₁, else it is lost there. Then the
chance to win from s is the product of the advance probabilities from s to the end,
rₛ/rₛ₊₁ · rₛ₊₁/rₛ₊₂ ⋯ = rₛ / r_last = rₛ: exactly the share that calibration estimates.

Timestamps: deals start spread evenly at random over ``spread_days`` from ``start``; each stay in a
stage lasts an exponential time with mean ``mean_days_in_stage``. With ``as_of`` set, a deal whose
story runs past it is still open then, and its history holds only the moves made by ``as_of``.
The output is ``DealHistory`` (the stages a deal reached and how it ended) with the moves and an amount
added: test data, loaded into a real database (or the tests' fake store) to check calibration.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum


class Outcome(str, Enum):
    WON = "won"
    LOST = "lost"
    OPEN = "open"


@dataclass(frozen=True)
class DealHistory:
    """One deal as calibration sees it: the stage keys its history shows it at, and how it ended."""

    reached: tuple[str, ...]
    outcome: Outcome


@dataclass(frozen=True)
class StageMove:
    """A deal entering ``stage_key`` at ``at``."""

    stage_key: str
    at: datetime


@dataclass(frozen=True)
class SimulatedDeal(DealHistory):
    """A simulated deal: its history for calibration, plus when it moved, closed and for how much."""

    deal_id: int
    moves: tuple[StageMove, ...]
    closed_at: datetime | None
    amount: Decimal


def check_true_rates(true_rates: Sequence[tuple[str, float]]) -> None:
    """Raise ``ValueError`` unless there are two or more stages with rates in (0, 1], non-decreasing,
    the last being 1 (a deal at the won stage is won)."""
    if len(true_rates) < 2:
        raise ValueError("at least two stages are needed")
    rates = [rate for _, rate in true_rates]
    if any(not 0 < rate <= 1 for rate in rates):
        raise ValueError("every true rate must be in (0, 1]; a stage nobody wins from cannot pass deals on")
    if any(later < earlier for earlier, later in zip(rates, rates[1:], strict=False)):
        raise ValueError("true rates must not fall from one stage to the next")
    if rates[-1] != 1:
        raise ValueError("the last stage is the won stage: its true rate must be 1")


def simulate_history(
    true_rates: Sequence[tuple[str, float]],
    deals: int,
    seed: int,
    start: datetime = datetime(2025, 1, 1),
    spread_days: float = 365.0,
    mean_days_in_stage: float = 14.0,
    as_of: datetime | None = None,
) -> list[SimulatedDeal]:
    """``deals`` simulated deals through stages ``[(stage_key, true rate), …]`` in order.

    The same ``seed`` gives the same history. With ``as_of``, deals that would start after it are left
    out, so fewer than ``deals`` may come back. Amounts are whole yuan between 5,000 and 200,000, drawn
    log-uniformly (many small deals, a few large). Raises ``ValueError`` as ``check_true_rates`` does,
    or for a negative number of deals.
    """
    check_true_rates(true_rates)
    if deals < 0:
        raise ValueError("the number of deals must not be negative")
    rng = random.Random(seed)
    last = len(true_rates) - 1
    history = []
    for deal_id in range(1, deals + 1):
        at = start + timedelta(days=rng.uniform(0, spread_days))
        amount = Decimal(round(5_000 * 40 ** rng.random()))
        moves = [StageMove(true_rates[0][0], at)]
        index = 0
        outcome = Outcome.OPEN
        while outcome is Outcome.OPEN:
            at += timedelta(days=rng.expovariate(1 / mean_days_in_stage))
            if rng.random() < true_rates[index][1] / true_rates[index + 1][1]:
                index += 1
                moves.append(StageMove(true_rates[index][0], at))
                if index == last:
                    outcome = Outcome.WON
            else:
                outcome = Outcome.LOST
        closed_at: datetime | None = at
        if as_of is not None and moves[0].at > as_of:
            continue
        if as_of is not None and at > as_of:
            moves = [move for move in moves if move.at <= as_of]
            outcome, closed_at = Outcome.OPEN, None
        history.append(
            SimulatedDeal(
                reached=tuple(move.stage_key for move in moves),
                outcome=outcome,
                deal_id=deal_id,
                moves=tuple(moves),
                closed_at=closed_at,
                amount=amount,
            )
        )
    return history
