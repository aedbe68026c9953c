"""Pipeline: stages, opportunities, targets, forecast, funnel, calibration.

Entrypoints only: validate (schemas) -> one use case (usecases_*) on the store -> dump."""

from __future__ import annotations

import logging

from nameko.dependency_providers import Config
from nameko.rpc import rpc

import customers.exceptions  # noqa: F401 — customers' errors arrive as themselves, with their codes
from crm_common.clock import Clock
from crm_common.db import Database
from crm_common.directory import Directory
from crm_common.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceTimeout,
    ServiceUnavailable,
    Unauthenticated,
)
from crm_common.events import event_handler, handle_once
from crm_common.idempotency import idempotent
from crm_common.identity import CallerIdentity
from crm_common.localtime import timezone_name
from crm_common.rpc import TimedRpcProxy
from crm_common.service import HealthCheck
from crm_common.validation import load
from pipeline import usecases_opportunities as deals
from pipeline import usecases_reports as reports
from pipeline import usecases_stages as stage_sets
from pipeline import usecases_targets as targets
from pipeline.exceptions import (
    AlreadyInStage,
    ConcurrentChange,
    InvalidStageSet,
    NotYourCustomer,
    OpportunityClosed,
    ReasonRequired,
    StageInUse,
    UnknownOwner,
    UnknownStage,
)
from pipeline.forecast import DEFAULT_LEVEL, DEFAULT_MIN_SAMPLE
from pipeline.models import Base
from pipeline.schemas import (
    CalibrationQuerySchema,
    CalibrationSchema,
    CloseSchema,
    ForecastSchema,
    FunnelSchema,
    MoveSchema,
    NewOpportunitySchema,
    OpportunitiesQuerySchema,
    OpportunitySchema,
    ReportQuerySchema,
    StageChangeSchema,
    StageSetInputSchema,
    StageSetSchema,
    StagesQuerySchema,
    TargetInputSchema,
    TargetSchema,
    TargetsQuerySchema,
)
from pipeline.store import Store

log = logging.getLogger(__name__)

_REMOTE = (ServiceUnavailable, ServiceTimeout)
_READ = (InvalidInput, Unauthenticated, Forbidden, NotFound, *_REMOTE)
_CHANGE = (*_READ, OpportunityClosed, AlreadyInStage, ReasonRequired, ConcurrentChange)


def _dump_deal(deal: deals.Deal) -> dict:
    opportunity, history = deal
    dumped = OpportunitySchema(exclude=("history",)).dump(opportunity)
    dumped["history"] = StageChangeSchema(many=True).dump(history)
    return dumped


class PipelineService(HealthCheck):
    name = "pipeline"

    db = Database(Base.metadata)
    caller = CallerIdentity()
    clock = Clock()
    config = Config()
    customers = TimedRpcProxy("customers")
    people = Directory()

    @property
    def _store(self) -> Store:
        return Store(self.db)

    @property
    def _settings(self) -> reports.ReportSettings:
        return reports.ReportSettings(
            timezone=timezone_name(self.config),
            min_sample=int(self.config.get("FORECAST_MIN_SAMPLE") or DEFAULT_MIN_SAMPLE),
            forecast_level=float(self.config.get("FORECAST_LEVEL") or DEFAULT_LEVEL),
            calibration_level=float(self.config.get("CALIBRATION_LEVEL") or 0.95),
        )

    # ---- stage sets -----------------------------------------------------------------------------

    @rpc(expected_exceptions=_READ)
    def get_stages(self, query: dict | None = None) -> dict:
        """The caller's team's current stage set (or ``version``, an older one); Forbidden for
        another team's unless the caller manages it, NotFound for a version of another team."""
        wanted = load(StagesQuerySchema(), query or {})
        return StageSetSchema().dump(stage_sets.get_stages(self._store, self.caller.require(), wanted))

    @rpc(expected_exceptions=(*_READ, InvalidStageSet, StageInUse))
    @idempotent
    def set_stages(self, payload: dict) -> dict:
        """Replace the team's stage set by a new version (managers: their team; admins: any, or the
        company default); emits ``stage_set_changed``. InvalidStageSet with every problem;
        StageInUse when open deals sit in a stage the edit drops."""
        submitted = load(StageSetInputSchema(), payload)
        described = stage_sets.set_stages(self._store, self.caller.require(), submitted, clock=self.clock)
        return StageSetSchema().dump(described)

    @rpc(expected_exceptions=_READ)
    def get_calibration(self, query: dict | None = None) -> dict:
        """Per stage, the observed win rate of closed deals that reached it (Wilson interval) beside
        the configured probability, plus a backtest of past months (managers and admins)."""
        wanted = load(CalibrationQuerySchema(), query or {})
        report = reports.get_calibration(
            self._store, self.caller.require(), wanted, clock=self.clock, settings=self._settings
        )
        return CalibrationSchema().dump(report)

    # ---- opportunities --------------------------------------------------------------------------

    @rpc(expected_exceptions=(*_READ, NotYourCustomer, UnknownStage))
    @idempotent
    def create_opportunity(self, payload: dict) -> dict:
        """Open a deal on one of the caller's own customers (asked of customers over RPC, with the
        caller's identity); emits ``opportunity_created``. NotFound / Forbidden from customers,
        NotYourCustomer, UnknownStage, InvalidInput."""
        new = load(NewOpportunitySchema(), payload)
        caller = self.caller.require()
        deal = deals.create_opportunity(self._store, caller, new, clock=self.clock, customers=self.customers)
        return _dump_deal(deal)

    @rpc(expected_exceptions=_READ)
    def list_opportunities(self, query: dict | None = None) -> list[dict]:
        """Deals the caller may see, newest first: a salesperson's own, a manager's team's, any for
        an admin; filters owner, team, customer_id, status, stage; ``limit``/``offset`` pages."""
        wanted = load(OpportunitiesQuerySchema(), query or {})
        found = deals.list_opportunities(self._store, self.caller.require(), wanted)
        return OpportunitySchema(many=True, exclude=("history",)).dump(found)

    @rpc(expected_exceptions=_READ)
    def get_opportunity(self, opportunity_id: int) -> dict:
        """One deal with its stage history (oldest first); OpportunityNotFound unless visible."""
        return _dump_deal(deals.get_opportunity(self._store, self.caller.require(), opportunity_id))

    @rpc(expected_exceptions=(*_CHANGE, UnknownStage))
    @idempotent
    def move_opportunity(self, opportunity_id: int, payload: dict) -> dict:
        """Move an open deal to another stage, forward or back, recording who and when; emits
        ``opportunity_stage_changed``. UnknownStage, AlreadyInStage, OpportunityClosed,
        ReasonRequired (the won stage: use win_opportunity), ConcurrentChange."""
        move = load(MoveSchema(), payload)
        caller = self.caller.require()
        return _dump_deal(deals.move_opportunity(self._store, caller, opportunity_id, move, clock=self.clock))

    @rpc(expected_exceptions=_CHANGE)
    @idempotent
    def win_opportunity(self, opportunity_id: int, payload: dict) -> dict:
        """Win an open deal with a reason: it enters the won stage and ends; emits
        ``opportunity_won``. OpportunityClosed, ConcurrentChange, InvalidInput."""
        closing = load(CloseSchema(), payload)
        caller = self.caller.require()
        return _dump_deal(
            deals.win_opportunity(self._store, caller, opportunity_id, closing, clock=self.clock)
        )

    @rpc(expected_exceptions=_CHANGE)
    @idempotent
    def lose_opportunity(self, opportunity_id: int, payload: dict) -> dict:
        """End an open deal as lost with a reason (it stays at the stage it reached); emits
        ``opportunity_lost``. OpportunityClosed, ConcurrentChange, InvalidInput."""
        closing = load(CloseSchema(), payload)
        caller = self.caller.require()
        return _dump_deal(
            deals.lose_opportunity(self._store, caller, opportunity_id, closing, clock=self.clock)
        )

    # ---- targets --------------------------------------------------------------------------------

    @rpc(expected_exceptions=(*_READ, UnknownOwner, ConcurrentChange))
    @idempotent
    def set_target(self, payload: dict) -> dict:
        """Set (or replace) the target of a salesperson (``owner``) or of a team (``owner`` null)
        for a month or quarter; managers for their team, admins any; emits ``target_set``.
        UnknownOwner, Forbidden, InvalidInput."""
        wanted = load(TargetInputSchema(), payload)
        caller = self.caller.require()
        target = targets.set_target(self._store, caller, wanted, clock=self.clock, people=self.people)
        return TargetSchema().dump(target)

    @rpc(expected_exceptions=_READ)
    def list_targets(self, query: dict | None = None) -> list[dict]:
        """Targets the caller may see: a salesperson their own, a manager their team's (members'
        and the team's), an admin any; filters owner, team, period."""
        wanted = load(TargetsQuerySchema(), query or {})
        return TargetSchema(many=True).dump(targets.list_targets(self._store, self.caller.require(), wanted))

    # ---- forecast and funnel --------------------------------------------------------------------

    @rpc(expected_exceptions=_READ)
    def get_forecast(self, query: dict | None = None) -> dict:
        """The weighted forecast for a period (default: this month) with its per-stage breakdown,
        sample size, reliability, interval, target and gap: a salesperson's own, or for a manager
        the team's roll-up with every member (or one member with ``owner``)."""
        wanted = load(ReportQuerySchema(), query or {})
        report = reports.get_forecast(
            self._store,
            self.caller.require(),
            wanted,
            clock=self.clock,
            people=self.people,
            settings=self._settings,
        )
        return ForecastSchema().dump(report)

    @rpc(expected_exceptions=_READ)
    def get_funnel(self, query: dict | None = None) -> dict:
        """Open deals per stage with advice (kind, from_stage, to_stage, count, message); for a
        manager's team also each member's funnel and a per-stage comparison with the median."""
        wanted = load(ReportQuerySchema(), query or {})
        report = reports.get_funnel(
            self._store,
            self.caller.require(),
            wanted,
            clock=self.clock,
            people=self.people,
            settings=self._settings,
        )
        return FunnelSchema().dump(report)

    # ---- reactions to customers -----------------------------------------------------------------

    # Both handlers: SERVICE_POOL (one instance of pipeline handles each event); an error is retried
    # after a delay (crm_common.events) because what fails here is the database or a concurrent move
    # of the same deal (StaleDataError): both pass, and dropping the event would leave deals with the
    # wrong owner. A malformed envelope is dropped before the handler runs; a payload without the ids
    # is logged and acknowledged here; one that keeps failing ends in the dead-letter queue.

    @event_handler("customers", "customer_transferred")
    @handle_once
    def on_customer_transferred(self, event: dict) -> None:
        """The customer's open deals follow the new owner (and team); see
        ``usecases_opportunities.follow_customer_transfer``."""
        data = event.get("data") or {}
        if not isinstance(data.get("customer_id"), int) or not isinstance(data.get("to_owner_id"), int):
            log.error("customer_transferred without customer_id/to_owner_id: %s", event.get("event_id"))
            return
        deals.follow_customer_transfer(self._store, data, clock=self.clock)

    @event_handler("customers", "customer_abandoned")
    @handle_once
    def on_customer_abandoned(self, event: dict) -> None:
        """The customer's open deals end lost with the reason "abandoned"; emits ``opportunity_lost``
        for each."""
        customer_id = (event.get("data") or {}).get("customer_id")
        if not isinstance(customer_id, int):
            log.error("customer_abandoned without customer_id: %s", event.get("event_id"))
            return
        deals.lose_deals_of_abandoned_customer(self._store, customer_id, clock=self.clock)

    @event_handler("customers", "customer_returned_to_pool")
    @handle_once
    def on_customer_returned_to_pool(self, event: dict) -> None:
        """The pool rules returned the customer (no follow-up, no won deal): its open deals end
        lost as for an abandoned customer; emits ``opportunity_lost`` for each."""
        customer_id = (event.get("data") or {}).get("customer_id")
        if not isinstance(customer_id, int):
            log.error("customer_returned_to_pool without customer_id: %s", event.get("event_id"))
            return
        deals.lose_deals_of_abandoned_customer(self._store, customer_id, clock=self.clock)
