"""Use cases of stage sets: read a team's (current or an older version), replace it by a new version."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from crm_common.caller import Caller
from crm_common.clock import Clock
from crm_common.errors import NotFound
from pipeline import domain
from pipeline.exceptions import StageInUse
from pipeline.store import Store

if TYPE_CHECKING:
    from pipeline.models import StageSet


def describe_stage_set(store: Store, stage_set: StageSet, for_team: str | None, current: bool) -> dict:
    """A stage set as ``schemas.StageSetSchema`` dumps it."""
    return {
        "version": stage_set.id,
        "team": stage_set.team,
        "for_team": for_team,
        "inherited": stage_set.team != for_team,
        "current": current,
        "created_at": stage_set.created_at,
        "created_by": stage_set.created_by,
        "stages": [asdict(stage) for stage in store.stages_of(stage_set)],
    }


def get_stages(store: Store, caller: Caller, wanted: Mapping[str, Any]) -> dict:
    """The team's current stage set, or ``version``, an older one; NotFound for a version of
    another team (``domain.stage_set_team_to_read`` says whose set the caller may read)."""
    team = domain.stage_set_team_to_read(caller, wanted.get("team"))
    current = store.current_stage_set(team)
    shown = current
    if "version" in wanted:
        found = store.stage_set(wanted["version"])
        if found is None or found.team not in (None, team):
            raise NotFound(f"no stage set version {wanted['version']} for this team")
        shown = found
    return describe_stage_set(store, shown, team, shown.id == current.id)


def set_stages(store: Store, caller: Caller, submitted: Mapping[str, Any], *, clock: Clock) -> dict:
    """Replace the team's stage set by a new version; emits ``stage_set_changed``. An edit that
    changes nothing answers the current set. StageInUse when open deals sit in a dropped stage."""
    team = domain.stage_set_team_to_edit(caller, submitted["team"])
    stages = domain.build_stage_set(submitted["stages"])
    current = store.current_stage_set(team)
    if current.team == team and store.stages_of(current) == stages:
        return describe_stage_set(store, current, team, True)
    stranded = store.open_deals_in(team, domain.removed_stage_keys(store.stages_of(current), stages))
    if stranded:
        raise StageInUse(
            "open deals sit in stages this edit drops: move them first, or keep the stage keys",
            {key: [f"{stranded[key]} open deals sit here"] for key in sorted(stranded)},
        )
    stage_set = store.add_stage_set(team, stages, clock.now(), caller.user_id)
    described = describe_stage_set(store, stage_set, team, True)
    store.emit(
        "stage_set_changed",
        {
            "version": stage_set.id,
            "team": team,
            "stages": described["stages"],
            "changed_by": caller.user_id,
            "changed_by_name": caller.display_name,
        },
    )
    return described
