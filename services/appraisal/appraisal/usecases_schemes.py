"""Use cases of a team's appraisal scheme: read it (the default until a manager sets one), set it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from appraisal import domain
from appraisal.exceptions import NotManager
from appraisal.store import Store
from crm_common.caller import Caller
from crm_common.clock import Clock


def require_manager_of(caller: Caller, team: str | None) -> str:
    """The team, when the caller manages it (an admin any); NotManager (403) otherwise."""
    team = team or caller.team
    if team is None or not caller.manages(team):
        raise NotManager("only the team's manager or an admin may do this", {"team": team})
    return team


def scheme_of(store: Store, team: str) -> domain.Scheme:
    stored = store.scheme(team)
    return domain.scheme_from_data(stored) if stored is not None else domain.default_scheme()


def get_scheme(store: Store, caller: Caller, team: str | None) -> dict:
    """The team's scheme (``default`` true until one is set); anyone of the team, its manager, admins."""
    team = team or caller.team
    if team is None or not (caller.team == team or caller.manages(team)):
        raise NotManager("only the team, its manager or an admin may read its scheme", {"team": team})
    stored = store.scheme(team)
    scheme = domain.scheme_from_data(stored) if stored is not None else domain.default_scheme()
    return {"team": team, "default": stored is None, **domain.scheme_data(scheme)}


def set_scheme(store: Store, caller: Caller, wanted: Mapping[str, Any], *, clock: Clock) -> dict:
    """Replace the team's scheme (its manager, or an admin); InvalidScheme naming every problem.
    Scorecards keep the scheme they were computed with until they are refreshed."""
    team = require_manager_of(caller, wanted.get("team"))
    scheme = domain.build_scheme(wanted["indicators"], wanted.get("bands"))
    data = domain.scheme_data(scheme)
    store.put_scheme(team, data, caller.user_id, clock.now())
    return {"team": team, "default": False, **data}
