"""A salesperson's funnel: where it is thin or clogged, and what to do about it today.

A healthy funnel narrows: each open stage holds no more deals than the stage above it. The won stage
(100 %) is the outlet and is not judged. The advice is a plan worked out on a copy of the counts, from
the bottom of the funnel (nearest to won) up to the top, each step assuming the earlier ones are done.
For each stage S that holds more deals than the stage A above it, by E = count(S) − count(A):

1. ``push`` (A is starved): if A also holds fewer deals than the stage B above it, A is smaller than
   both neighbours. Push N = min(E, ⌊(count(B) − count(A)) / 2⌋) from B into A: enough to close the gap
   below A, never so many that B drops below A.
2. ``pile_up`` (S is clogged): if S still holds more than A, push N of it on to the next stage: all of
   what is left of E when the next stage is the won stage, else at most ⌊(count(S) − count(next)) / 2⌋
   so the next stage does not become the new pile-up. Not when A is the top stage: a stage larger
   than the top says the top is thin, which step 3 answers.
3. ``prospect`` (thin top), once at the end: if the top stage holds fewer deals than the largest stage
   below it, N = that difference in new customers entering the top stage (0 %, or 10 % for a customer
   who already shows intent). A top too thin is what no push can fix.

So after the plan the top is the largest stage, and the pushes never make the funnel less narrow
(the total by which stages outgrow the stage above them does not rise). N rounds down: a gap that half
a deal would close gets no advice. Several reasons for the same move make one item. Priority: moves nearest to won
first (by the probability of the stage they move deals into, then by N), prospecting last, because
closing pays this month and prospecting pays later.

Worked example: 10, 50, 60, 10, 20, 40 at 0, 10, 25, 50, 75, 90 %: 90 % piles up over 75 % → push 20
of 40 to 100 %; 75 % outgrows 50 %, and 50 % is starved under 25 % → push 10 of 60 from 25 % to 50 %;
the top (10) is smaller than the largest stage below it now (50) → prospect 40.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pipeline.stages import DEFAULT_STAGES, WON_PROBABILITY, Stage

PROSPECT = "prospect"
PUSH = "push"
PILE_UP = "pile_up"
_ZERO = Decimal(0)


@dataclass(frozen=True)
class FunnelStage:
    """The open deals of one owner in one stage; a plain tuple in this order works too."""

    stage_key: str
    name: str
    probability: int
    count: int


@dataclass(frozen=True)
class Advice:
    """One thing to do: move ``count`` deals ``from_stage`` → ``to_stage`` (``from_stage`` is ``None``
    for new customers), with a ``message`` in Chinese for the salesperson."""

    kind: str
    from_stage: str | None
    to_stage: str
    count: int
    message: str


@dataclass(frozen=True)
class TeamStageComparison:
    """One stage across a team: each owner's count, the team median, and who is far off it."""

    stage_key: str
    name: str
    probability: int
    median: float
    counts: dict[str, int]
    far_below: tuple[str, ...]
    far_above: tuple[str, ...]


def _funnel(stages: Iterable[FunnelStage | Sequence[Any]]) -> list[FunnelStage]:
    funnel = [stage if isinstance(stage, FunnelStage) else FunnelStage(*stage) for stage in stages]
    for before, after in zip(funnel, funnel[1:], strict=False):
        if after.probability <= before.probability:
            raise ValueError(
                f"stages must be in increasing probability: {before.stage_key} then {after.stage_key}"
            )
    for stage in funnel:
        if stage.count < 0:
            raise ValueError(f"stage {stage.stage_key!r} has a negative count")
    return funnel


def advise(
    stages: Iterable[FunnelStage | Sequence[Any]],
    won_stage: Stage = DEFAULT_STAGES[-1],
) -> list[Advice]:
    """Advice for one funnel, most urgent first, by the rule in the module docstring.

    ``stages`` are ``(stage_key, name, probability, count)`` in stage order, counting open deals. A
    100 % stage among them is the won stage (its count is not judged); without one, ``won_stage`` is
    where the last open stage closes to. A healthy (narrowing) funnel gets no advice.

    Raises ``ValueError`` when the probabilities do not increase or a count is negative.
    """
    funnel = _funnel(stages)
    outlet = FunnelStage(won_stage.key, won_stage.name, won_stage.probability, 0)
    if funnel and funnel[-1].probability == WON_PROBABILITY:
        outlet = funnel.pop()
    if not funnel:
        return []

    counts = [stage.count for stage in funnel]
    last_open = len(funnel) - 1
    moves: dict[tuple[int, int], tuple[str, int]] = {}  # (from, to) index -> (kind, n); len(funnel) is won

    def move(source: int, target: int, n: int, kind: str) -> None:
        counts[source] -= n
        if target <= last_open:
            counts[target] += n
        first_kind, planned = moves.get((source, target), (kind, 0))
        moves[(source, target)] = (first_kind, planned + n)

    for below in range(last_open, 0, -1):
        above = below - 1
        excess = counts[below] - counts[above]
        if excess <= 0:
            continue
        if above >= 1 and counts[above] < counts[above - 1]:
            n = min(excess, (counts[above - 1] - counts[above]) // 2)
            if n > 0:
                move(above - 1, above, n, PUSH)
                excess -= n
        if excess > 0 and above >= 1:  # outgrowing the top stage means a thin top (prospect), not a pile-up
            room = excess if below == last_open else (counts[below] - counts[below + 1]) // 2
            n = min(excess, room)
            if n > 0:
                move(below, below + 1, n, PILE_UP)

    advice = [
        _move_advice(kind, funnel[source], funnel[target] if target <= last_open else outlet, n)
        for (source, target), (kind, n) in moves.items()
    ]
    probability_of = {stage.stage_key: stage.probability for stage in [*funnel, outlet]}
    # nearest to won first: closing pays this month
    advice.sort(key=lambda item: (-probability_of[item.to_stage], -item.count))

    largest_below_top = max(counts[1:], default=0)
    if largest_below_top > counts[0]:
        top = funnel[0]
        n = largest_below_top - counts[0]
        message = (
            f"漏斗顶部太薄：{top.probability}%阶段（{top.name}）只有{top.count}个客户，"
            f"少于下面的阶段：新开发{n}个客户，进入{top.probability}%阶段"
        )
        advice.append(Advice(PROSPECT, None, top.stage_key, n, message))
    return advice


def _move_advice(kind: str, source: FunnelStage, target: FunnelStage, n: int) -> Advice:
    action = f"把{source.probability}%阶段的{source.count}个客户中的{n}个推进到{target.probability}%"
    if kind == PUSH:
        reason = f"{target.probability}%阶段（{target.name}）只有{target.count}个客户，比前后阶段都少"
    elif target.probability == WON_PROBABILITY:
        reason = (
            f"{source.probability}%阶段（{source.name}）积压了{source.count}个客户，比上一阶段多，该成交了"
        )
        action += f"（{target.name}）"
    else:
        reason = f"{source.probability}%阶段（{source.name}）积压了{source.count}个客户，比上一阶段多"
    return Advice(kind, source.stage_key, target.stage_key, n, f"{reason}：{action}")


def compare_team(
    funnels_by_owner: Mapping[str, Iterable[FunnelStage | Sequence[Any]]],
    ratio: float = 2.0,
    min_gap: int = 3,
) -> list[TeamStageComparison]:
    """Per stage, every owner's count beside the team median, for a manager.

    An owner is far below a stage's median when their count is at most median / ``ratio`` and at least
    ``min_gap`` deals short of it; far above when at least median × ``ratio`` and ``min_gap`` over
    (``min_gap`` keeps 1 against a median of 0 from being news). An owner without a stage counts 0.
    Stages come in probability order; owners within a list in the order given.

    Raises ``ValueError`` when owners' funnels give one stage key different probabilities, or as
    ``advise`` does for a malformed funnel.
    """
    stages: dict[str, FunnelStage] = {}
    counts_by_owner: dict[str, dict[str, int]] = {}
    for owner, owner_stages in funnels_by_owner.items():
        counts_by_owner[owner] = {}
        for stage in _funnel(owner_stages):
            known = stages.setdefault(stage.stage_key, stage)
            if known.probability != stage.probability:
                raise ValueError(f"stage {stage.stage_key!r} has different probabilities between owners")
            counts_by_owner[owner][stage.stage_key] = stage.count

    comparisons = []
    for stage in sorted(stages.values(), key=lambda s: s.probability):
        counts = {
            owner: owner_counts.get(stage.stage_key, 0) for owner, owner_counts in counts_by_owner.items()
        }
        median = float(statistics.median(counts.values())) if counts else 0.0
        far_below = tuple(o for o, c in counts.items() if c * ratio <= median and median - c >= min_gap)
        far_above = tuple(o for o, c in counts.items() if c >= median * ratio and c - median >= min_gap)
        comparisons.append(
            TeamStageComparison(
                stage_key=stage.stage_key,
                name=stage.name,
                probability=stage.probability,
                median=median,
                counts=counts,
                far_below=far_below,
                far_above=far_above,
            )
        )
    return comparisons


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

    def rows(self, stages: Sequence[Stage]) -> list[dict]:
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
