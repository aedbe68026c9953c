"""Use cases of deals: open, list, read, move, win, lose; and how deals follow their customer when
customers transfers or abandons it. They take the store, the caller, the clock (and customers'
client where a customer is asked about) and raise the pipeline's typed errors."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from crm_common.caller import Caller
from crm_common.clock import Clock
from pipeline import domain
from pipeline.constants import ABANDONED, CREATED, LOST, MAX_ID, MOVED, OPEN, TEAM_CHANGED, WON, WON_CHANGE
from pipeline.exceptions import NotYourCustomer, OpportunityNotFound, UnknownStage
from pipeline.stages import Stage, won_stage
from pipeline.store import OpportunityFilter, Store

if TYPE_CHECKING:
    from pipeline.models import Opportunity, StageChange, StageSet

log = logging.getLogger(__name__)

_CENT = Decimal("0.01")
Deal = tuple["Opportunity", list["StageChange"]]  # a deal and its history, oldest first


def money_text(amount: Decimal) -> str:
    return str(Decimal(amount).quantize(_CENT))


def create_opportunity(
    store: Store, caller: Caller, new: Mapping[str, Any], *, clock: Clock, customers: Any
) -> Deal:
    """Open a deal on one of the caller's own customers (asked of customers with the caller's
    identity); emits ``opportunity_created``."""
    customer = customers.get_customer(new["customer_id"])
    if customer.get("owner_id") != caller.user_id:
        raise NotYourCustomer(
            "you can open deals on your own customers only",
            {"customer_id": [f"customer {new['customer_id']} is not yours"]},
        )
    team = customer.get("team", caller.team)
    stage_set = store.current_stage_set(team)
    stages = store.stages_of(stage_set)
    stage = domain.find_stage(stages, new["stage"]) if new["stage"] else stages[0]
    if stage.is_won:
        raise UnknownStage("a new deal cannot start won", {"stage": ["a new deal starts in an open stage"]})
    now = clock.now()
    opportunity = store.add_opportunity(
        customer_id=new["customer_id"],
        owner_id=caller.user_id,
        team=team,
        title=new["title"].strip(),
        amount=new["amount"],
        currency=new["currency"],
        stage=stage.key,
        status=OPEN,
        expected_close_date=new["expected_close_date"],
        created_at=now,
        created_by=caller.user_id,
        updated_at=now,
    )
    change = _record_change(store, opportunity, CREATED, None, stage, stage_set, caller.user_id, clock)
    store.emit(
        "opportunity_created",
        {
            **_event_base(opportunity),
            "title": opportunity.title,
            "stage": stage.key,
            "probability": stage.probability,
            "expected_close_date": _iso(opportunity.expected_close_date),
            "created_by": caller.user_id,
            "created_by_name": caller.display_name,
        },
    )
    return opportunity, [change]


def list_opportunities(store: Store, caller: Caller, wanted: Mapping[str, Any]) -> list[Opportunity]:
    """Deals the caller may see, newest first (``domain.listing_scope``)."""
    scope = domain.listing_scope(caller, wanted.get("owner"), wanted.get("team"))
    filters = OpportunityFilter(wanted.get("customer_id"), wanted.get("status"), wanted.get("stage"))
    return store.opportunities(scope, filters, wanted["limit"], wanted["offset"])


def get_opportunity(store: Store, caller: Caller, opportunity_id: int) -> Deal:
    opportunity = visible(store, caller, opportunity_id)
    return opportunity, store.history(opportunity.id)


def move_opportunity(
    store: Store, caller: Caller, opportunity_id: int, move: Mapping[str, Any], *, clock: Clock
) -> Deal:
    """Move an open deal to another stage, forward or back; emits ``opportunity_stage_changed``."""
    opportunity = visible(store, caller, opportunity_id)
    stage_set = store.current_stage_set(opportunity.team)
    stages = store.stages_of(stage_set)
    target = domain.check_move(opportunity.status, opportunity.stage, move["stage"], stages)
    from_stage = opportunity.stage
    opportunity.stage = target.key
    opportunity.updated_at = clock.now()
    _record_change(store, opportunity, MOVED, from_stage, target, stage_set, caller.user_id, clock)
    store.save()
    _emit_stage_changed(store, caller, opportunity, from_stage, target, stage_set, caller.user_id)
    return opportunity, store.history(opportunity.id)


def win_opportunity(
    store: Store, caller: Caller, opportunity_id: int, closing: Mapping[str, Any], *, clock: Clock
) -> Deal:
    """Win an open deal with a reason: it enters the won stage and ends; emits ``opportunity_won``."""
    opportunity = visible(store, caller, opportunity_id)
    domain.check_open(opportunity.status)
    stage_set = store.current_stage_set(opportunity.team)
    won = won_stage(store.stages_of(stage_set))
    from_stage = opportunity.stage
    _close(opportunity, WON, closing["reason"], caller.user_id, clock)
    opportunity.stage = won.key
    _record_change(store, opportunity, WON_CHANGE, from_stage, won, stage_set, caller.user_id, clock)
    store.save()
    store.emit("opportunity_won", _closed_event(caller, opportunity, from_stage))
    return opportunity, store.history(opportunity.id)


def lose_opportunity(
    store: Store, caller: Caller, opportunity_id: int, closing: Mapping[str, Any], *, clock: Clock
) -> Deal:
    """End an open deal as lost with a reason (it stays at its stage); emits ``opportunity_lost``."""
    opportunity = visible(store, caller, opportunity_id)
    domain.check_open(opportunity.status)
    _close(opportunity, LOST, closing["reason"], caller.user_id, clock)
    store.save()
    store.emit("opportunity_lost", _closed_event(caller, opportunity, opportunity.stage))
    return opportunity, store.history(opportunity.id)


# ---- reactions to customers -----------------------------------------------------------------------


def follow_customer_transfer(store: Store, data: Mapping[str, Any], *, clock: Clock) -> None:
    """The customer's open deals follow the new owner (and team). Closed deals stay credited to
    whoever won or lost them. A deal whose stage the new team's set lacks lands on the nearest
    stage not above it (``domain.stage_after_team_change``)."""
    customer_id, to_owner_id, team = data["customer_id"], data["to_owner_id"], data.get("team")
    new_set = store.current_stage_set(team)
    new_stages = store.stages_of(new_set)
    now = clock.now()
    for opportunity in store.open_deals_of(customer_id):
        opportunity.owner_id = to_owner_id
        opportunity.updated_at = now
        if opportunity.team == team:
            continue
        opportunity.team = team
        from_stage = opportunity.stage
        if any(stage.key == from_stage and not stage.is_won for stage in new_stages):
            continue
        history = store.history(opportunity.id)
        entered_at = history[-1].probability if history else 0
        landing = domain.stage_after_team_change(from_stage, entered_at, new_stages)
        opportunity.stage = landing.key
        _record_change(store, opportunity, TEAM_CHANGED, from_stage, landing, new_set, None, clock)
        _emit_stage_changed(store, None, opportunity, from_stage, landing, new_set, None)
    store.save()


def lose_deals_of_abandoned_customer(store: Store, customer_id: int, *, clock: Clock) -> None:
    """The customer's open deals end lost with the reason "abandoned"; ``opportunity_lost`` each."""
    for opportunity in store.open_deals_of(customer_id):
        _close(opportunity, LOST, ABANDONED, None, clock)
        store.emit("opportunity_lost", _closed_event(None, opportunity, opportunity.stage))
    store.save()


# ---- helpers ------------------------------------------------------------------------------------


def visible(store: Store, caller: Caller, opportunity_id: int) -> Opportunity:
    """The deal if the caller may read it; OpportunityNotFound otherwise (or for an id no deal can have)."""
    if not isinstance(opportunity_id, int) or not 1 <= opportunity_id <= MAX_ID:
        raise OpportunityNotFound(f"no opportunity {opportunity_id}")  # no id the column can hold
    opportunity = store.opportunity(opportunity_id)
    if opportunity is None or not caller.can_read(opportunity.owner_id, opportunity.team):
        raise OpportunityNotFound(f"no opportunity {opportunity_id}")
    return opportunity


def _record_change(
    store: Store,
    opportunity: Opportunity,
    kind: str,
    from_stage: str | None,
    stage: Stage,
    stage_set: StageSet,
    changed_by: int | None,
    clock: Clock,
) -> StageChange:
    return store.add_change(
        opportunity_id=opportunity.id,
        kind=kind,
        from_stage=from_stage,
        to_stage=stage.key,
        probability=stage.probability,
        stage_set_id=stage_set.id,
        changed_by=changed_by,
        changed_at=clock.now(),
    )


def _close(opportunity: Opportunity, status: str, reason: str, closed_by: int | None, clock: Clock) -> None:
    now = clock.now()
    opportunity.status = status
    opportunity.close_reason = reason.strip()
    opportunity.closed_at = now
    opportunity.closed_by = closed_by
    opportunity.updated_at = now


def _name_of(caller: Caller | None, user_id: int | None) -> str | None:
    """The display name of ``user_id`` when that is the caller (the token carries it)."""
    return caller.display_name if caller is not None and caller.user_id == user_id else None


def _event_base(opportunity: Opportunity) -> dict[str, Any]:
    return {
        "opportunity_id": opportunity.id,
        "customer_id": opportunity.customer_id,
        "owner_id": opportunity.owner_id,
        "team": opportunity.team,
        "amount": money_text(opportunity.amount),
        "currency": opportunity.currency,
    }


def _emit_stage_changed(
    store: Store,
    caller: Caller | None,
    opportunity: Opportunity,
    from_stage: str | None,
    stage: Stage,
    stage_set: StageSet,
    changed_by: int | None,
) -> None:
    store.emit(
        "opportunity_stage_changed",
        {
            **_event_base(opportunity),
            "from_stage": from_stage,
            "to_stage": stage.key,
            "probability": stage.probability,
            "stage_set_version": stage_set.id,
            "changed_by": changed_by,
            "changed_by_name": _name_of(caller, changed_by),
        },
    )


def _closed_event(caller: Caller | None, opportunity: Opportunity, from_stage: str) -> dict[str, Any]:
    return {
        **_event_base(opportunity),
        "reason": opportunity.close_reason,
        "stage": from_stage,
        "closed_by": opportunity.closed_by,
        "closed_by_name": _name_of(caller, opportunity.closed_by),
    }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None
