"""The pipeline's rules about people and time: who sees and changes what, how a deal moves, which
days a period covers. Plain Python; the maths lives in ``forecast``, ``funnel`` and ``calibration``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from crm_common.caller import Caller
from crm_common.errors import Forbidden, InvalidInput
from pipeline.constants import DEFAULT_FORECAST_RANGE, OPEN, period_bounds
from pipeline.exceptions import (
    AlreadyInStage,
    InvalidStageSet,
    OpportunityClosed,
    ReasonRequired,
    UnknownStage,
)
from pipeline.stages import Stage, StageSetInvalid, validate_stage_set


@dataclass(frozen=True)
class Scope:
    """Whose figures a report covers: one salesperson (``owner_id``), or a whole ``team``."""

    owner_id: int | None
    team: str | None

    @property
    def is_team(self) -> bool:
        return self.owner_id is None


def report_scope(
    caller: Caller,
    owner_id: int | None,
    team: str | None,
    team_of: Callable[[int], str | None],
) -> Scope:
    """Whose forecast or funnel the caller gets.

    A salesperson: only their own (asking for anyone else's, or a team's, is Forbidden). A manager:
    any member of their team (``owner_id``), or by default the whole team. An admin: anyone, any
    team; an admin without a team must say which (InvalidInput). ``team_of(user_id)`` finds another
    user's team and raises NotFound for an unknown user; it is asked only when needed.
    """
    if owner_id is not None and owner_id == caller.user_id:
        return Scope(owner_id, caller.team)
    if owner_id is not None:
        if not (caller.is_manager or caller.is_admin):
            raise Forbidden("a salesperson sees only their own figures", {"owner": ["not you"]})
        owner_team = team_of(owner_id)
        if not caller.manages(owner_team):
            raise Forbidden("this salesperson is not in your team", {"owner": ["another team"]})
        return Scope(owner_id, owner_team)
    if team is not None:
        if not caller.manages(team):
            raise Forbidden("only the team's manager or an admin sees a team's figures", {"team": [team]})
        return Scope(None, team)
    if (caller.is_manager or caller.is_admin) and caller.team:
        return Scope(None, caller.team)
    if caller.is_admin:
        raise InvalidInput(
            "say which team or salesperson", {"team": ["required for an admin without a team"]}
        )
    return Scope(caller.user_id, caller.team)


def listing_scope(caller: Caller, owner_id: int | None, team: str | None) -> Scope:
    """Which deals or targets a listing may show: a salesperson their own, a manager their team's
    (optionally one member's), an admin anything. Forbidden for asking beyond that."""
    if caller.is_admin:
        return Scope(owner_id, team)
    if caller.is_manager and caller.team:
        if team is not None and team != caller.team:
            raise Forbidden("a manager sees their own team only", {"team": [team]})
        return Scope(owner_id, caller.team)
    if owner_id not in (None, caller.user_id) or team not in (None, caller.team):
        raise Forbidden("a salesperson sees only their own", {"owner": ["not you"]})
    return Scope(caller.user_id, None)


def stage_set_team_to_read(caller: Caller, team: str | None) -> str | None:
    """The team whose stage set the caller reads: their own by default; another only if they manage it."""
    if team is None or team == caller.team:
        return caller.team
    if not caller.manages(team):
        raise Forbidden("you may read your own team's stages only", {"team": [team]})
    return team


def stage_set_team_to_edit(caller: Caller, team: str | None) -> str | None:
    """The team whose stages the caller edits; None is the company default (an admin without a team).

    Managers edit their own team's set, admins any. Forbidden for everyone else."""
    caller.require_role("manager", "admin")
    chosen = team if team is not None else caller.team
    if chosen is None:
        if caller.is_admin:
            return None
        raise Forbidden("a manager without a team has no stages to edit")
    if not caller.manages(chosen):
        raise Forbidden("you may edit your own team's stages only", {"team": [chosen]})
    return chosen


def build_stage_set(submitted: Sequence[Mapping]) -> tuple[Stage, ...]:
    """Stages from a manager's edit, validated (``stages.validate_stage_set``); a stage that does not
    say whether it counts in the forecast counts when its probability is 25–90 %.

    Raises ``InvalidStageSet`` (400) with every problem, keyed ``stages[i].field``."""
    low, high = DEFAULT_FORECAST_RANGE
    stages = tuple(
        Stage(
            key=item["key"],
            name=item["name"].strip(),
            probability=item["probability"],
            in_forecast=(
                item["in_forecast"]
                if item.get("in_forecast") is not None
                else low <= item["probability"] <= high
            ),
        )
        for item in submitted
    )
    try:
        return validate_stage_set(stages)
    except StageSetInvalid as exc:
        raise InvalidStageSet(str(exc), exc.details) from exc


def removed_stage_keys(current: Sequence[Stage], proposed: Sequence[Stage]) -> list[str]:
    """Keys of ``current`` that ``proposed`` drops (deals sitting there would be stranded)."""
    kept = {stage.key for stage in proposed}
    return [stage.key for stage in current if stage.key not in kept]


def check_move(status: str, current_key: str, target_key: str, stages: Sequence[Stage]) -> Stage:
    """The stage an open deal may move to, forward or back.

    OpportunityClosed for a won or lost deal, UnknownStage for a key outside the set, AlreadyInStage
    for no move, ReasonRequired for the won stage (winning needs a reason: use ``…/won``)."""
    if status != OPEN:
        raise OpportunityClosed(f"the deal is {status}; it no longer moves", {"status": status})
    target = find_stage(stages, target_key)
    if target.key == current_key:
        raise AlreadyInStage(f"the deal is already at {target.name}", {"stage": target.key})
    if target.is_won:
        raise ReasonRequired(
            "reaching the won stage wins the deal: POST /opportunities/{id}/won with a reason",
            {"stage": target.key},
        )
    return target


def check_open(status: str) -> None:
    if status != OPEN:
        raise OpportunityClosed(f"the deal is already {status}", {"status": status})


def find_stage(stages: Sequence[Stage], key: str) -> Stage:
    for stage in stages:
        if stage.key == key:
            return stage
    raise UnknownStage(
        f"no stage {key!r} in this team's stage set",
        {"stage": [f"one of {', '.join(s.key for s in stages)}"]},
    )


def stage_after_team_change(key: str, probability: int, new_stages: Sequence[Stage]) -> Stage:
    """Where an open deal lands in another team's stage set: the same key if that set has it (and it
    is not the won stage), else the open stage with the highest probability not above the one it had,
    else the first stage. A transfer never wins a deal nor moves it forward."""
    open_stages = [stage for stage in new_stages if not stage.is_won]
    for stage in open_stages:
        if stage.key == key:
            return stage
    below = [stage for stage in open_stages if stage.probability <= probability]
    return below[-1] if below else open_stages[0]


def target_team(
    caller: Caller,
    owner_id: int | None,
    owner_team: str | None,
    team: str | None,
) -> str | None:
    """The team a target belongs to, checking the caller may set it.

    Managers set targets for their team and its members, admins for anyone. A salesperson's target
    takes the salesperson's team (a different ``team`` given is InvalidInput); a team target needs a
    team (the caller's by default). Forbidden otherwise."""
    caller.require_role("manager", "admin")
    if owner_id is not None:
        if team is not None and team != owner_team:
            raise InvalidInput(
                "the salesperson is in another team", {"team": [f"user {owner_id} is in {owner_team}"]}
            )
        if not caller.manages(owner_team):
            raise Forbidden("you may set targets for your own team only", {"owner": ["another team"]})
        return owner_team
    chosen = team if team is not None else caller.team
    if chosen is None:
        raise InvalidInput("a team target needs a team", {"team": ["required"]})
    if not caller.manages(chosen):
        raise Forbidden("you may set targets for your own team only", {"team": [chosen]})
    return chosen


def resolve_target(period: str, amounts: Mapping[str, Decimal]) -> Decimal | None:
    """The target for ``period`` from targets set per period: the period's own; for a quarter
    without one, the sum of its months' targets that are set; else None."""
    if period in amounts:
        return amounts[period]
    months = quarter_months(period)
    set_months = [amounts[month] for month in months if month in amounts]
    return sum(set_months, Decimal(0)) if set_months else None


def quarter_months(period: str) -> list[str]:
    """The three months of a quarter ``"2026-Q4"``; [] for a month."""
    if "Q" not in period.upper():
        return []
    start, _ = period_bounds(period)
    return [f"{start.year:04d}-{start.month + offset:02d}" for offset in range(3)]


def local_today(now: datetime, timezone: str) -> date:
    """Today's date where the sales team works: expected close dates are dates of that calendar."""
    return now.astimezone(ZoneInfo(timezone)).date()


def day_start(day: date, timezone: str) -> datetime:
    """Midnight at the start of ``day`` in ``timezone``, as aware UTC."""
    return datetime.combine(day, time(), ZoneInfo(timezone)).astimezone(UTC)


def period_instants(period: str, timezone: str) -> tuple[datetime, datetime]:
    """[start, end) of a period as UTC instants of the local calendar, for timestamps like closed_at."""
    start, end = period_bounds(period)
    return day_start(start, timezone), day_start(end + timedelta(days=1), timezone)


def months_before(today: date, count: int) -> list[str]:
    """The ``count`` whole months before the one containing ``today``, oldest first."""
    months = []
    year, month = today.year, today.month
    for _ in range(count):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        months.append(f"{year:04d}-{month:02d}")
    return months[::-1]


def calibration_team(caller: Caller, team: str | None) -> str:
    """The team whose calibration the caller reads: managers their own, admins any (they must name
    one unless they belong to one). Forbidden for salespeople and other teams."""
    caller.require_role("manager", "admin")
    chosen = team if team is not None else caller.team
    if chosen is None:
        raise InvalidInput("say which team", {"team": ["required for an admin without a team"]})
    if not caller.manages(chosen):
        raise Forbidden("you may read your own team's calibration only", {"team": [chosen]})
    return chosen
