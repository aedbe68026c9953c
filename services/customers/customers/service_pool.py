"""The customers service's entrypoints for the team pool and its rules (公海规则): listing and
taking from the pool, 退回公海, the team's pool settings, the scheduled returns and the won deals
that restart their count. A part of ``CustomersService`` (service.py), which declares the
dependencies used here (``db``, ``caller``, ``clock``, ``people``, ``alarms``, ``transactions``);
entrypoints only, like the rest of it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from marshmallow import ValidationError
from nameko.rpc import rpc

from crm_common.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
    Unauthenticated,
)
from crm_common.events import event_handler, handle_once
from crm_common.idempotency import idempotent
from crm_common.validation import load
from customers import usecases_pool as pool
from customers.dependencies import every
from customers.schemas import (
    AbandonSchema,
    PoolEntrySchema,
    PoolSettingsOutSchema,
    PoolSettingsQuerySchema,
    PoolSettingsSchema,
    WonDealEventSchema,
)
from customers.store import Store

log = logging.getLogger(__name__)


class PoolEntrypoints:
    """Mixed into CustomersService."""

    db: Any
    caller: Any
    clock: Any
    people: Any
    alarms: Any
    transactions: Any
    _store: Store
    _settings: Any
    _dump: Any

    @rpc(expected_exceptions=(Unauthenticated,))
    def list_pool(self) -> list[dict]:
        """The caller's team's customers without an owner (an admin: every team's), latest first,
        with who gave each up and why — no contact details until taken."""
        entries = pool.list_pool(self._store, self.caller.require(), people=self.people)
        return PoolEntrySchema().dump(entries, many=True)

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden, Conflict))
    @idempotent
    def take_from_pool(self, customer_id: int) -> dict:
        """A salesperson of the pool's team takes a customer and owns it; recorded in the history,
        emits ``customer_transferred`` (reason "pool_take", from_owner_id null). NotInPool if
        someone took it first; Forbidden for another team."""
        caller = self.caller.require()
        return self._dump(
            pool.take_from_pool(
                self._store,
                caller,
                customer_id,
                clock=self.clock,
                people=self.people,
                settings=self._settings,
            )
        )

    # --- the pool rules (公海规则) ----------------------------------------------------------------

    @rpc(
        expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, ServiceUnavailable, Conflict)
    )
    @idempotent
    def release_customer(self, customer_id: int, payload: dict) -> dict:
        """退回公海: the owner returns a customer to the team's pool by the rule of
        ``abandon_customer`` (``{reason, alarm_id}``, a manager-answered difficulty alarm about
        it; the same errors); emits ``customer_abandoned`` with ``cause`` "released"."""
        caller = self.caller.require()
        request = load(AbandonSchema(), payload)
        customer = pool.release_customer(
            self._store, caller, customer_id, request, clock=self.clock, alarms=self.alarms
        )
        return self._dump(customer)

    @rpc(expected_exceptions=(Unauthenticated, Forbidden, InvalidInput))
    def get_pool_settings(self, query: dict | None = None) -> dict:
        """A team's pool rules (``query.team``, default the caller's): ``{team, followup_days,
        won_deal_days, warning_days, max_customers, max_daily_takes, cooldown_days, updated_by,
        updated_at}`` — the defaults until its manager sets them. Its members and admins."""
        caller = self.caller.require()
        team = load(PoolSettingsQuerySchema(), query or {})["team"]
        return PoolSettingsOutSchema().dump(pool.get_pool_settings(self._store, caller, team))

    @rpc(expected_exceptions=(Unauthenticated, Forbidden, InvalidInput))
    @idempotent
    def set_pool_settings(self, payload: dict, query: dict | None = None) -> dict:
        """The team's manager (an admin: any team, ``query.team``) sets some or all of its pool
        rules; InvalidInput with field details for a bad value; emits ``pool_settings_changed``."""
        caller = self.caller.require()
        team = load(PoolSettingsQuerySchema(), query or {})["team"]
        changes = load(PoolSettingsSchema(), payload)
        view = pool.set_pool_settings(self._store, caller, team, changes, clock=self.clock)
        return PoolSettingsOutSchema().dump(view)

    @every("POOL_SWEEP_SECONDS", 300)
    def sweep_pool(self) -> None:
        """The schedule of the pool rules: customers past their team's limits return to the pool
        (``customer_returned_to_pool``), owners near them are warned (``customer_return_warning``);
        page by page, each in its own transaction, safe on several instances at once."""
        pool.sweep(self._page_store, self.clock)

    @event_handler("pipeline", "opportunity_won")
    @handle_once
    def on_opportunity_won(self, event: dict) -> None:
        """A won deal restarts the customer's "days without a won deal"; a payload without a
        customer id is logged and dropped."""
        try:
            data = WonDealEventSchema().load(event.get("data"))
            won_at = datetime.fromisoformat(str(event.get("occurred_at")))
        except (ValidationError, ValueError) as refused:
            log.error("opportunity_won %s unusable, dropped: %.300s", event.get("event_id"), refused)
            return
        if won_at.tzinfo is None:
            log.error("opportunity_won %s without a zone in occurred_at: dropped", event.get("event_id"))
            return
        pool.record_won_deal(self._store, data["customer_id"], won_at)

    @contextmanager
    def _page_store(self) -> Iterator[Store]:
        with self.transactions("the pool rules") as unit:
            yield Store(unit)
