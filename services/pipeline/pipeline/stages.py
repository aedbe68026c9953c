"""The stage set a deal moves through, and the rules a manager's edits must keep.

A stage is identified by its ``key``, never by its probability: a manager may rename a stage or change
its probability, and the deals sitting in it stay where they are. The default keys are ``s`` plus the
default probability (``s0`` … ``s100``); they are identifiers, not numbers, and keep their value after
an edit.

The last stage (100 %) is the won stage: a deal that reaches it is won. In the default set it is
稳定供货, a customer that has taken three or more deliveries.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

WON_PROBABILITY = 100
MIN_STAGES = 2
_KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline: ``probability`` is the chance, in whole percent, that a deal here is won."""

    key: str
    name: str
    probability: int
    in_forecast: bool

    @property
    def is_won(self) -> bool:
        return self.probability == WON_PROBABILITY


DEFAULT_STAGES: tuple[Stage, ...] = (
    Stage("s0", "潜在客户", 0, False),
    Stage("s10", "意向客户", 10, False),
    Stage("s25", "样品", 25, True),
    Stage("s50", "认可", 50, True),
    Stage("s75", "接受价格", 75, True),
    Stage("s90", "签约", 90, True),
    Stage("s100", "稳定供货", 100, False),  # three or more deliveries
)


class StageSetInvalid(ValueError):
    """A stage set breaks a rule; ``details`` maps a field (``stages[2].probability``) to its problems."""

    def __init__(self, details: dict[str, list[str]]) -> None:
        super().__init__(
            "the stage set is invalid: " + "; ".join(f"{f}: {', '.join(m)}" for f, m in details.items())
        )
        self.details = details


def validate_stage_set(stages: Sequence[Stage]) -> tuple[Stage, ...]:
    """Check a stage set as a manager submitted it, in order; return it as a tuple.

    Rules: at least two stages; keys are short slugs (``[a-z0-9_-]``), names are not blank; keys and
    names are unique; probabilities are whole percents in 0–100, strictly increasing; the last stage is
    the won stage (100 %) and does not count in the forecast (a won deal is revenue, not a forecast).

    Raises ``StageSetInvalid`` carrying every problem found, keyed by field, e.g.
    ``{"stages[3].probability": ["must be greater than 50 (the stage before)"]}``.
    """
    problems: dict[str, list[str]] = {}

    def problem(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    stages = tuple(stages)
    if len(stages) < MIN_STAGES:
        problem("stages", f"at least {MIN_STAGES} stages are needed, got {len(stages)}")

    seen_keys: dict[str, int] = {}
    seen_names: dict[str, int] = {}
    previous: int | None = None
    for index, stage in enumerate(stages):
        at = f"stages[{index}]"
        if not isinstance(stage.key, str) or not _KEY_PATTERN.match(stage.key):
            problem(f"{at}.key", "must be 1–32 characters of a-z, 0-9, '_' or '-'")
        elif stage.key in seen_keys:
            problem(f"{at}.key", f"duplicates the key of stages[{seen_keys[stage.key]}]")
        else:
            seen_keys[stage.key] = index

        name = stage.name.strip() if isinstance(stage.name, str) else ""
        if not name:
            problem(f"{at}.name", "must not be blank")
        elif name in seen_names:
            problem(f"{at}.name", f"duplicates the name of stages[{seen_names[name]}]")
        else:
            seen_names[name] = index

        probability = stage.probability
        # bool is an int in Python; True must not pass as 1 %
        if not isinstance(probability, int) or isinstance(probability, bool):
            problem(f"{at}.probability", "must be a whole percent")
            continue
        if not 0 <= probability <= WON_PROBABILITY:
            problem(f"{at}.probability", "must be between 0 and 100")
        if previous is not None and probability <= previous:
            problem(f"{at}.probability", f"must be greater than {previous} (the stage before)")
        previous = probability

    if stages:
        last = f"stages[{len(stages) - 1}]"
        if stages[-1].probability != WON_PROBABILITY:
            problem(f"{last}.probability", "the last stage is the won stage and must be 100")
        if stages[-1].in_forecast:
            problem(f"{last}.in_forecast", "the won stage cannot count in the forecast")

    if problems:
        raise StageSetInvalid(problems)
    return stages


def won_stage(stages: Sequence[Stage]) -> Stage:
    """The won stage (the last one, 100 %) of a valid set."""
    return stages[-1]
