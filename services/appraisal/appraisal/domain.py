"""Appraisal rules, plain Python: periods, schemes, metric values, scores, ratings, ranks and the
scorecard's states. No nameko, no SQLAlchemy: the use cases feed these from the store.

Arithmetic is Decimal; every figure shown (a metric's 0–100, the objective, the indicator score, the
total) is rounded half up to one decimal place, and each is computed from the shown figures before
it, so the employee can check their scorecard from what it shows with a calculator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from appraisal.constants import (
    DEFAULT_BANDS,
    DEFAULT_SCHEME,
    MANAGER_METRICS,
    MAX_INDICATORS,
    PERIOD_PATTERN,
    RATINGS,
    Metric,
    State,
)
from appraisal.exceptions import InvalidPeriod, InvalidScheme, InvalidScore, PeriodInFuture, WrongState

HUNDRED = Decimal(100)
ZERO = Decimal(0)
ONE = Decimal(1)
TENTH = Decimal("0.1")


def rounded(value: Decimal) -> Decimal:
    return value.quantize(TENTH, rounding=ROUND_HALF_UP)


# ---- periods -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A quarter ("2026-Q3") or a year ("2026"), as local calendar days ``start`` … ``end``."""

    label: str
    year: int
    quarter: int | None

    @property
    def start(self) -> date:
        return date(self.year, 1 if self.quarter is None else 3 * self.quarter - 2, 1)

    @property
    def end(self) -> date:
        if self.quarter is None or self.quarter == 4:
            return date(self.year, 12, 31)
        return date(self.year, 3 * self.quarter + 1, 1) - timedelta(days=1)

    @property
    def target_periods(self) -> tuple[str, ...]:
        """The pipeline periods whose targets make this one's: its quarters, and their months."""
        quarters = (self.quarter,) if self.quarter is not None else (1, 2, 3, 4)
        return tuple(f"{self.year}-Q{q}" for q in quarters)


def parse_period(text: str) -> Period:
    found = PERIOD_PATTERN.match(text or "")
    if not found or not 1900 <= int(found["year"]) <= 2199:
        raise InvalidPeriod(f"not a period: {text!r}", {"period": ['a quarter "2026-Q3" or a year "2026"']})
    quarter = found["quarter"]
    return Period(text, int(found["year"]), int(quarter) if quarter else None)


def require_not_future(period: Period, today: date) -> None:
    """A period that has not started yet has nothing to appraise: PeriodInFuture (400)."""
    if period.start > today:
        raise PeriodInFuture(
            f"{period.label} has not started yet", {"period": [f"starts {period.start.isoformat()}"]}
        )


def months_of_quarter(quarter_label: str) -> tuple[str, ...]:
    year, quarter = quarter_label.split("-Q")
    first = 3 * int(quarter) - 2
    return tuple(f"{year}-{month:02d}" for month in range(first, first + 3))


def period_target(period: Period, targets: Mapping[str, Decimal]) -> Decimal | None:
    """The target for ``period`` from pipeline's targets (by period label, "2026-Q3" or "2026-07"):
    each quarter's own target, or else the sum of its months' targets; a year is the sum of its
    quarters. None when no target was set for any part of it."""
    total: Decimal | None = None
    for quarter in period.target_periods:
        amount = targets.get(quarter)
        if amount is None:
            months = [targets[m] for m in months_of_quarter(quarter) if m in targets]
            amount = sum(months, ZERO) if months else None
        if amount is not None:
            total = (total or ZERO) + amount
    return total


# ---- schemes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    metric: str
    par: Decimal  # the figure that earns the full 100
    weight: int  # its share among the indicator's terms


@dataclass(frozen=True)
class Indicator:
    key: str
    name: str
    weight: int  # percent of the total
    manager_share: int  # percent of the indicator that is the manager's score
    metrics: tuple[Term, ...]


@dataclass(frozen=True)
class Bands:
    excellent: Decimal
    good: Decimal
    passing: Decimal


@dataclass(frozen=True)
class Scheme:
    indicators: tuple[Indicator, ...]
    bands: Bands


def _decimal(value: object, where: str, problems: dict[str, list[str]]) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        problems.setdefault(where, []).append("not a number")
        return ZERO
    if not number.is_finite():
        problems.setdefault(where, []).append("not a number")
        return ZERO
    return number


def build_scheme(indicators: Sequence[Mapping], bands: Mapping | None = None) -> Scheme:
    """A Scheme from plain data (a request, or what the store keeps), checked: InvalidScheme naming
    every problem — weights that do not sum to 100, unknown metrics, a share or threshold outside
    0–100, a par not above 0, a repeated key, an indicator without metrics that is not all the
    manager's."""
    problems: dict[str, list[str]] = {}
    known = {m.value for m in Metric}
    built = []
    if not indicators:
        problems["indicators"] = ["at least one indicator"]
    if len(indicators) > MAX_INDICATORS:
        problems["indicators"] = [f"at most {MAX_INDICATORS} indicators"]
    keys: set[str] = set()
    for i, raw in enumerate(indicators):
        where = f"indicators.{i}"
        key = str(raw.get("key") or "")
        if key in keys:
            problems.setdefault(f"{where}.key", []).append(f"{key!r} appears twice")
        keys.add(key)
        weight, share = int(raw.get("weight", -1)), int(raw.get("manager_share", -1))
        if not 0 <= weight <= 100:
            problems.setdefault(f"{where}.weight", []).append("between 0 and 100")
        if not 0 <= share <= 100:
            problems.setdefault(f"{where}.manager_share", []).append("between 0 and 100")
        terms = []
        for j, term in enumerate(raw.get("metrics") or ()):
            there = f"{where}.metrics.{j}"
            if term.get("metric") not in known:
                problems.setdefault(f"{there}.metric", []).append(f"one of {', '.join(sorted(known))}")
            par = _decimal(term.get("par"), f"{there}.par", problems)
            if par <= 0:
                problems.setdefault(f"{there}.par", []).append("above 0")
            term_weight = int(term.get("weight", 1))
            if term_weight < 1:
                problems.setdefault(f"{there}.weight", []).append("at least 1")
            terms.append(Term(str(term.get("metric")), par, term_weight))
        if not terms and share != 100:
            problems.setdefault(f"{where}.manager_share", []).append(
                "an indicator without metrics is all the manager's score: 100"
            )
        built.append(Indicator(key, str(raw.get("name") or key), weight, share, tuple(terms)))
    total = sum(i.weight for i in built)
    if built and total != 100:
        problems.setdefault("weights", []).append(f"the weights sum to {total}, not 100")
    given = {**DEFAULT_BANDS, **(bands or {})}
    thresholds = [_decimal(given[k], f"bands.{k}", problems) for k in ("excellent", "good", "pass")]
    if any(not ZERO <= t <= HUNDRED for t in thresholds):
        problems.setdefault("bands", []).append("thresholds between 0 and 100")
    elif not thresholds[0] > thresholds[1] > thresholds[2]:
        problems.setdefault("bands", []).append("excellent > good > pass")
    if problems:
        raise InvalidScheme("the scheme is not valid", problems)
    return Scheme(tuple(built), Bands(*thresholds))


def default_scheme() -> Scheme:
    return build_scheme(DEFAULT_SCHEME)


def scheme_data(scheme: Scheme) -> dict:
    """The plain form a scheme is stored and answered in."""
    return {
        "indicators": [
            {
                "key": i.key,
                "name": i.name,
                "weight": i.weight,
                "manager_share": i.manager_share,
                "metrics": [{"metric": t.metric, "par": str(t.par), "weight": t.weight} for t in i.metrics],
            }
            for i in scheme.indicators
        ],
        "bands": {
            "excellent": str(scheme.bands.excellent),
            "good": str(scheme.bands.good),
            "pass": str(scheme.bands.passing),
        },
    }


def scheme_from_data(data: Mapping) -> Scheme:
    return build_scheme(data["indicators"], data.get("bands"))


# ---- metric values -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """One person's evidence in one period, counted (by the store)."""

    won_amount: Decimal = ZERO
    won: int = 0
    lost: int = 0
    customers_created: int = 0
    answers_for_colleagues: int = 0
    answers_accepted: int = 0
    entries_published: int = 0
    entries_from_alarms: int = 0
    reminders_due: int = 0
    reminders_escalated: int = 0
    followups: int = 0
    followups_on_time: int = 0
    reminders_acknowledged_in_time: int = 0
    useful_votes: int = 0
    onboarding_read: int = 0
    target: Decimal | None = None
    # a manager's team figures (None for a salesperson)
    team_won_amount: Decimal | None = None
    team_target: Decimal | None = None
    team_alarms: int | None = None
    team_alarms_answered_in_a_day: int | None = None


def _ratio(part: Decimal | int, whole: Decimal | int | None) -> Decimal | None:
    if whole is None or whole <= 0:
        return None
    return Decimal(part) / Decimal(whole)


def metric_values(facts: Facts, is_manager: bool) -> dict[str, Decimal | None]:
    """Each metric's figure; None where it does not apply (no target, no reminders due, no deals
    closed, a manager's metric for a salesperson): a term without a figure leaves the indicator."""
    values: dict[str, Decimal | None] = {
        Metric.ATTAINMENT: _ratio(facts.won_amount, facts.target),
        Metric.CUSTOMERS_CREATED: Decimal(facts.customers_created),
        Metric.WIN_RATE: _ratio(facts.won, facts.won + facts.lost),
        Metric.ANSWERS_FOR_COLLEAGUES: Decimal(facts.answers_for_colleagues),
        Metric.ANSWERS_ACCEPTED: Decimal(facts.answers_accepted),
        Metric.ENTRIES_PUBLISHED: Decimal(facts.entries_published),
        Metric.ENTRIES_FROM_ALARMS: Decimal(facts.entries_from_alarms),
        Metric.REMINDERS_ON_TIME: _ratio(
            max(facts.reminders_due - facts.reminders_escalated, 0), facts.reminders_due
        ),
        Metric.TEAM_ATTAINMENT: None,
        Metric.ALARMS_ANSWERED_IN_A_DAY: None,
        Metric.FOLLOWUPS: Decimal(facts.followups),
        Metric.FOLLOWUPS_ON_TIME: Decimal(facts.followups_on_time),
        Metric.REMINDERS_ACKNOWLEDGED_IN_TIME: _ratio(
            facts.reminders_acknowledged_in_time,
            facts.reminders_acknowledged_in_time + facts.reminders_escalated,
        ),
        Metric.USEFUL_VOTES: Decimal(facts.useful_votes),
        Metric.ONBOARDING_READ: Decimal(facts.onboarding_read),
    }
    if is_manager:
        values[Metric.TEAM_ATTAINMENT] = _ratio(facts.team_won_amount or ZERO, facts.team_target)
        values[Metric.ALARMS_ANSWERED_IN_A_DAY] = _ratio(
            facts.team_alarms_answered_in_a_day or 0, facts.team_alarms
        )
    return {str(k): v for k, v in values.items()}


# ---- scores --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManagerScore:
    score: Decimal
    comment: str


@dataclass(frozen=True)
class IndicatorScore:
    key: str
    name: str
    weight: int
    manager_share: int  # the share that applied (100 when no metric had a figure)
    objective: Decimal | None  # 0–100, None when no metric had a figure
    manager: ManagerScore | None
    score: Decimal | None  # None while the manager's part is missing
    terms: tuple[tuple[str, Decimal | None, Decimal | None], ...]  # (metric, value, its 0–100)


@dataclass(frozen=True)
class CardScore:
    indicators: tuple[IndicatorScore, ...]
    total: Decimal | None
    rating: str | None
    missing: tuple[str, ...] = field(default=())  # indicators waiting for the manager's score


def check_score(value: object, where: str) -> Decimal:
    problems: dict[str, list[str]] = {}
    number = _decimal(value, where, problems)
    if problems or not ZERO <= number <= HUNDRED:
        raise InvalidScore(f"{where}: a score from 0 to 100", {where: ["a score from 0 to 100"]})
    return number


def objective_score(indicator: Indicator, values: Mapping[str, Decimal | None]) -> IndicatorScore:
    """The objective part: Σ weight × min(1, value ÷ par) ÷ Σ weight × 100 over the terms that have a
    figure."""
    terms: list[tuple[str, Decimal | None, Decimal | None]] = []
    weighted, weights = ZERO, 0
    for term in indicator.metrics:
        if term.metric in MANAGER_METRICS and values.get(term.metric) is None:
            continue  # a manager's metric: not part of a salesperson's indicator
        value = values.get(term.metric)
        if value is None:
            terms.append((term.metric, None, None))
            continue
        earned = min(ONE, value / term.par)
        weighted += term.weight * earned
        weights += term.weight
        terms.append((term.metric, value, rounded(earned * HUNDRED)))
    objective = rounded(weighted / weights * HUNDRED) if weights else None
    share = indicator.manager_share if objective is not None else 100
    return IndicatorScore(
        indicator.key, indicator.name, indicator.weight, share, objective, None, None, tuple(terms)
    )


def score_card(
    scheme: Scheme, values: Mapping[str, Decimal | None], manager: Mapping[str, ManagerScore]
) -> CardScore:
    """Each indicator's score = objective × (100 − share)% + manager × share%; the total = Σ weight ×
    indicator score ÷ 100, and its rating band; None until every manager part is scored."""
    scored = []
    missing = []
    total = ZERO
    for indicator in scheme.indicators:
        part = objective_score(indicator, values)
        given = manager.get(indicator.key)
        if part.manager_share and given is None:
            score = None
            missing.append(indicator.key)
        else:
            by_manager = given.score if given is not None and part.manager_share else ZERO
            objective = part.objective if part.objective is not None else ZERO
            exact = (objective * (100 - part.manager_share) + by_manager * part.manager_share) / HUNDRED
            score = rounded(exact)
            total += score * indicator.weight / HUNDRED
        scored.append(
            IndicatorScore(
                part.key, part.name, part.weight, part.manager_share, part.objective, given, score, part.terms
            )
        )
    final = None if missing else rounded(total)
    return CardScore(tuple(scored), final, rating(final, scheme.bands), tuple(missing))


def rating(total: Decimal | None, bands: Bands) -> str | None:
    if total is None:
        return None
    for threshold, name in zip((bands.excellent, bands.good, bands.passing), RATINGS, strict=False):
        if total >= threshold:
            return name
    return RATINGS[-1]


def ranks(totals: Iterable[tuple[int, Decimal | None]]) -> dict[int, int | None]:
    """Rank within the team by total, highest first; equal totals share a rank (1, 1, 3); a card
    without a total yet has none."""
    given = list(totals)
    found: dict[int, int | None] = {card_id: None for card_id, _ in given}
    scored = sorted(((total, card_id) for card_id, total in given if total is not None), key=lambda x: -x[0])
    for position, (total, card_id) in enumerate(scored, start=1):
        earlier = scored[position - 2] if position > 1 else None
        found[card_id] = found[earlier[1]] if earlier and earlier[0] == total else position
    return found


# ---- states --------------------------------------------------------------------------------------

TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "refresh": ((State.DRAFT,), State.DRAFT),
    "score": ((State.DRAFT,), State.DRAFT),
    "publish": ((State.DRAFT,), State.PUBLISHED),
    "acknowledge": ((State.PUBLISHED,), State.ACKNOWLEDGED),
    "dispute": ((State.PUBLISHED,), State.DISPUTED),
    "review": ((State.DISPUTED,), State.REVIEWED),
}
# Interview notes (面谈) attach to a scorecard the employee can see; they do not change its state.
INTERVIEW_STATES = (State.PUBLISHED, State.ACKNOWLEDGED, State.DISPUTED, State.REVIEWED)


def transition(state: str, action: str) -> str:
    """The state after ``action``; WrongState (409) when ``state`` does not allow it."""
    allowed, after = TRANSITIONS[action]
    if state not in allowed:
        raise WrongState(
            f"a {state} scorecard does not allow {action}",
            {"state": state, "allowed": [str(s) for s in allowed]},
        )
    return str(after)


def require_interviewable(state: str) -> None:
    if state not in INTERVIEW_STATES:
        raise WrongState(
            "interview notes follow publishing",
            {"state": state, "allowed": [str(s) for s in INTERVIEW_STATES]},
        )


def visible_to_person(state: str) -> bool:
    """The employee sees a scorecard once it is published (never a draft)."""
    return state != State.DRAFT
