"""The pool rules (公海规则) applied: each team's settings, the limits on entering and taking,
退回公海, the scheduled returns with their warnings, and the won deals they count from.
The rules themselves are in `customers.domain_pool`; the SQL in `customers.store_pool`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from crm_common.caller import Caller
from crm_common.errors import Forbidden, InvalidInput
from customers import domain, domain_pool
from customers import usecases_entry as entry
from customers import usecases_ownership as ownership
from customers.constants import RELEASED_CAUSE, RETURNED_EVENT, WARNING_EVENT
from customers.domain_pool import PoolRules
from customers.exceptions import ConcurrentChange
from customers.usecases_common import Clock, People, Settings, event_data

log = logging.getLogger(__name__)

SWEEP_PAGE = 100  # customers looked at per transaction of the schedule

StoreScope = Callable[[], AbstractContextManager[Any]]


# --- settings ---------------------------------------------------------------------------------


def rules_for(store: Any, team: str | None) -> PoolRules:
    """The team's pool rules (the defaults for a team that set none, or no team)."""
    return PoolRules.of(store.pool_settings(team) if team else None)


def _team_of(caller: Caller, team: str | None) -> str:
    """The team whose settings are meant: the caller's own, or one an admin names."""
    chosen = team or caller.team
    if not chosen:
        raise InvalidInput("name the team", {"team": ["required for an admin or a user without a team"]})
    return chosen


def settings_view(store: Any, team: str) -> dict:
    row = store.pool_settings(team)
    return {
        "team": team,
        **PoolRules.of(row).as_dict(),
        "updated_by": row.updated_by if row else None,
        "updated_at": row.updated_at if row else None,
    }


def get_pool_settings(store: Any, caller: Caller, team: str | None) -> dict:
    """A team's pool rules: its members read them (they hold and take by them), admins any."""
    chosen = _team_of(caller, team)
    if not (caller.is_admin or caller.team == chosen):
        raise Forbidden("only the team's members and admins read its pool rules", {"team": chosen})
    return settings_view(store, chosen)


def set_pool_settings(store: Any, caller: Caller, team: str | None, changes: dict, *, clock: Clock) -> dict:
    """The team's manager (or an admin) sets some or all of its pool rules; emits
    ``pool_settings_changed``. InvalidInput when the warning would not come before the return
    with the rules kept."""
    chosen = _team_of(caller, team)
    domain.check_manages(caller, chosen, "set the team's pool rules")
    values = {**rules_for(store, chosen).as_dict(), **changes}
    domain_pool.check_coherent(PoolRules(**values))
    store.save_pool_settings(chosen, {**values, "updated_by": caller.user_id, "updated_at": clock.now()})
    store.emit("pool_settings_changed", {"team": chosen, **values, "updated_by": caller.user_id})
    return settings_view(store, chosen)


# --- holding and taking -----------------------------------------------------------------------


def check_may_hold(store: Any, owner_id: int, team: str | None, adding: int = 1) -> None:
    """CustomerLimitReached when ``owner_id`` may not own ``adding`` customers more."""
    domain_pool.check_capacity(rules_for(store, team), store.held_by(owner_id), adding)


def room_for(store: Any, owner_id: int, team: str | None) -> int:
    """How many customers more ``owner_id`` may own."""
    return domain_pool.room(rules_for(store, team), store.held_by(owner_id))


def create_customer(
    store: Any, caller: Caller, request: dict, *, clock: Clock, people: People, settings: Settings
) -> Any:
    """Enter a customer (`usecases_entry.create_customer`) unless the caller holds as many as
    their team allows: CustomerLimitReached (409) — checked by the entry itself, with the other
    facts it reads in one round trip (`Store.entry_facts`)."""
    return entry.create_customer(store, caller, request, clock=clock, people=people, settings=settings)


def take_from_pool(
    store: Any, caller: Caller, customer_id: int, *, clock: Clock, people: People, settings: Settings
) -> Any:
    """领取: `usecases_ownership.take_from_pool` within the team's limits — PoolCooldown for a
    former owner too soon, DailyTakeLimitReached, CustomerLimitReached (all 409)."""
    customer = store.require(customer_id)
    domain.check_may_take(caller, customer.team, customer.status)
    rules, now = rules_for(store, customer.team), clock.now()
    domain_pool.check_cooldown(rules, store.left_owner_at(customer.id, caller.user_id), now)
    day_start = domain_pool.local_day_start(now, settings.timezone)
    domain_pool.check_daily_takes(rules, store.takes_since(caller.user_id, day_start))
    domain_pool.check_capacity(rules, store.held_by(caller.user_id))
    return ownership.take_from_pool(store, caller, customer_id, clock=clock, people=people)


def release_customer(
    store: Any, caller: Caller, customer_id: int, request: dict, *, clock: Clock, alarms: Any
) -> Any:
    """退回公海: the owner returns a customer to the team's pool by the abandon rule (an answered
    difficulty alarm about it); emits ``customer_abandoned`` with cause "released"."""
    return ownership.abandon_customer(
        store, caller, customer_id, request, clock=clock, alarms=alarms, cause=RELEASED_CAUSE
    )


def list_pool(store: Any, caller: Caller, *, people: People) -> list[dict]:
    """The pool (`usecases_ownership.list_pool`) with why and when each customer came back:
    ``pool_cause``, ``returned_at``, the former owner (``pooled_from``, ``pooled_from_name``)."""
    return [
        {**entry, "returned_at": entry["pooled_at"]}
        for entry in ownership.list_pool(store, caller, people=people)
    ]


# --- the schedule -----------------------------------------------------------------------------


@dataclass
class SweepReport:
    returned: int = 0
    warned: int = 0


def sweep(open_store: StoreScope, clock: Clock, page: int = SWEEP_PAGE) -> SweepReport:
    """Return every customer past its team's limits to the pool and warn the owners of those
    near them, page by page, each page in its own transaction (``open_store()``). Safe to run
    on several instances at once and again after a restart: each return and warning is a
    conditional update, the one that changes the row emits the event."""
    report = SweepReport()
    with open_store() as store:
        teams = store.teams_with_customers()
    for team in teams:
        after_id = 0
        while True:
            with open_store() as store:
                after_id, returned, warned = sweep_page(store, team, clock.now(), after_id, page)
            report.returned += returned
            report.warned += warned
            if after_id == 0:
                break
    if report.returned or report.warned:
        log.info("pool rules: %s returned to the pool, %s owners warned", report.returned, report.warned)
    return report


def sweep_page(store: Any, team: str, now: datetime, after_id: int, limit: int) -> tuple[int, int, int]:
    """One page of the schedule for one team: (the last id looked at — 0 when done, returned,
    warned)."""
    rules = rules_for(store, team)
    ahead = timedelta(days=max(rules.warning_days, 0))
    followup_cut = now + ahead - timedelta(days=rules.followup_days)
    won_cut = now + ahead - timedelta(days=rules.won_deal_days) if rules.won_deal_days else None
    rows = store.return_candidates(team, followup_cut, won_cut, after_id, limit)
    returned = warned = 0
    for row in rows:
        reason = domain_pool.due(rules, now, row.owned_since, row.last_followup_at, row.last_won_at)
        if reason is not None:
            returned += return_customer(store, row.id, row.owner_id, row.owned_since, reason, now)
            continue
        warning = domain_pool.warning_due(
            rules, now, row.owned_since, row.last_followup_at, row.last_won_at, row.return_warned_at
        )
        if warning is not None:
            warned += warn_owner(store, row.id, row.owner_id, warning, rules, now)
    done = len(rows) < limit
    return (0 if done else rows[-1].id), returned, warned


def return_customer(
    store: Any, customer_id: int, owner_id: int, owned_since: datetime, reason: domain_pool.Due, now: datetime
) -> int:
    """Return one customer to its team's pool; emits ``customer_returned_to_pool``. 0 when its
    owner changed meanwhile (another instance returned it, someone transferred it)."""
    customer = store.require(customer_id)
    former_name = customer.owner_name
    change = domain_pool.return_to_pool(owner_id, owned_since, reason, now)
    try:
        ownership.move(store, customer, change, change.values["pool_reason"], None, now)
    except ConcurrentChange:
        log.info("customer %s changed meanwhile: not returned", customer_id)
        return 0
    customer = store.require(customer_id)
    store.emit(
        RETURNED_EVENT,
        {
            **event_data(customer),
            "reason": reason.cause,
            "days": reason.days,
            "since": reason.since.isoformat(),
            "returned_at": now.isoformat(),
            "former_owner_id": owner_id,
            "former_owner_name": former_name,
            "note": change.values["pool_reason"],
        },
    )
    return 1


def warn_owner(
    store: Any, customer_id: int, owner_id: int, reason: domain_pool.Due, rules: PoolRules, now: datetime
) -> int:
    """Warn the owner once that the customer returns to the pool soon; emits
    ``customer_return_warning``. 0 when warned already or the owner changed."""
    if not store.mark_warned(customer_id, owner_id, now, now - timedelta(days=rules.warning_days)):
        return 0
    customer = store.require(customer_id)
    return_at = reason.since + timedelta(days=reason.days)
    store.emit(
        WARNING_EVENT,
        {
            "customer_id": customer.id,
            "name": customer.name,
            "owner_id": owner_id,
            "owner_name": customer.owner_name,
            "team": customer.team,
            "reason": reason.cause,
            "days": reason.days,
            "return_at": return_at.isoformat(),
            "days_left": max((return_at - now).days, 0),
        },
    )
    return 1


# --- won deals --------------------------------------------------------------------------------


def record_won_deal(store: Any, customer_id: int, won_at: datetime) -> None:
    """pipeline's ``opportunity_won``: the customer's latest won deal (a later one kept already,
    or an unknown customer, changes nothing)."""
    if store.get(customer_id) is None:
        log.warning("opportunity_won for unknown customer %s: ignored", customer_id)
        return
    store.record_won_deal(customer_id, won_at)
