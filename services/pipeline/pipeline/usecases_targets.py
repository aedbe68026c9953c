"""Use cases of sales targets: set one (a salesperson's or a team's, for a month or quarter), list them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from crm_common.caller import Caller
from crm_common.clock import Clock
from crm_common.directory import People
from pipeline import domain
from pipeline.exceptions import UnknownOwner
from pipeline.store import Store
from pipeline.usecases_opportunities import money_text

if TYPE_CHECKING:
    from pipeline.models import Target


def set_target(
    store: Store, caller: Caller, wanted: Mapping[str, Any], *, clock: Clock, people: People
) -> Target:
    """Set (or replace) the target of a salesperson (``owner``) or of a team (``owner`` None);
    managers for their team, admins any; emits ``target_set``. UnknownOwner for a user accounts
    does not know."""
    caller.require_role("manager", "admin")
    owner_id = wanted["owner"]
    owner_team = None
    if owner_id is not None:
        owner = people.user(owner_id)
        if owner is None:
            raise UnknownOwner(f"no user {owner_id}", {"owner": ["no such user"]})
        owner_team = owner.get("team")
    team = domain.target_team(caller, owner_id, owner_team, wanted["team"])
    target = store.put_target(owner_id, team, wanted["period"], wanted["amount"], caller.user_id, clock.now())
    store.emit(
        "target_set",
        {
            "owner_id": owner_id,
            "team": team,
            "period": target.period,
            "amount": money_text(target.amount),
            "set_by": caller.user_id,
            "set_by_name": caller.display_name,
        },
    )
    return target


def list_targets(store: Store, caller: Caller, wanted: Mapping[str, Any]) -> list[Target]:
    """Targets the caller may see (``domain.listing_scope``), filtered by ``period``."""
    scope = domain.listing_scope(caller, wanted.get("owner"), wanted.get("team"))
    return store.targets(scope, wanted.get("period"))
