"""Pipeline: stages, opportunities, targets, forecast, funnel, calibration."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from typing import Any

from nameko.dependency_providers import Config
from nameko.events import event_handler
from nameko.rpc import rpc
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

import customers.exceptions  # noqa: F401 — customers' errors arrive as themselves, with their codes
from crm_common.clock import Clock
from crm_common.db import Database
from crm_common.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceTimeout,
    ServiceUnavailable,
    Unauthenticated,
)
from crm_common.events import handle_once
from crm_common.identity import CallerIdentity
from crm_common.rpc import TimedRpcProxy
from crm_common.service import HealthCheck
from crm_common.validation import load
from pipeline import domain, reports
from pipeline.exceptions import (
    AlreadyInStage,
    ConcurrentChange,
    InvalidStageSet,
    NotYourCustomer,
    OpportunityClosed,
    OpportunityNotFound,
    ReasonRequired,
    StageInUse,
    UnknownOwner,
    UnknownStage,
)
from pipeline.forecast import DEFAULT_LEVEL, DEFAULT_MIN_SAMPLE, current_period
from pipeline.models import LOST, OPEN, WON, Base, Opportunity, StageChange, StageRow, StageSet, Target
from pipeline.schemas import (
    MAX_ID,
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
from pipeline.stages import Stage

log = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "Asia/Shanghai"
_CENT = Decimal("0.01")
_REMOTE = (ServiceUnavailable, ServiceTimeout)
_READ = (InvalidInput, Unauthenticated, Forbidden, NotFound, *_REMOTE)
_CHANGE = (*_READ, OpportunityClosed, AlreadyInStage, ReasonRequired, ConcurrentChange)


def _money_text(amount: Decimal) -> str:
    return str(Decimal(amount).quantize(_CENT))


class PipelineService(HealthCheck):
    name = "pipeline"

    db = Database(Base.metadata)
    caller = CallerIdentity()
    clock = Clock()
    config = Config()
    customers = TimedRpcProxy("customers")
    accounts = TimedRpcProxy("accounts")

    # ---- stage sets -----------------------------------------------------------------------------

    @rpc(expected_exceptions=_READ)
    def get_stages(self, query: dict | None = None) -> dict:
        """The caller's team's current stage set (or ``version``, an older one); Forbidden for
        another team's unless the caller manages it, NotFound for a version of another team."""
        wanted = load(StagesQuerySchema(), query or {})
        team = domain.stage_set_team_to_read(self.caller.require(), wanted.get("team"))
        current = reports.current_stage_set(self.db.session, team)
        shown = current
        if "version" in wanted:
            shown = self.db.session.get(StageSet, wanted["version"])
            if shown is None or shown.team not in (None, team):
                raise NotFound(f"no stage set version {wanted['version']} for this team")
        return StageSetSchema().dump(reports.describe_stage_set(shown, team, shown.id == current.id))

    @rpc(expected_exceptions=(*_READ, InvalidStageSet, StageInUse))
    def set_stages(self, payload: dict) -> dict:
        """Replace the team's stage set by a new version (managers: their team; admins: any, or the
        company default); emits ``stage_set_changed``. InvalidStageSet with every problem;
        StageInUse when open deals sit in a stage the edit drops."""
        submitted = load(StageSetInputSchema(), payload)
        caller = self.caller.require()
        team = domain.stage_set_team_to_edit(caller, submitted["team"])
        stages = domain.build_stage_set(submitted["stages"])
        session = self.db.session
        current = reports.current_stage_set(session, team)
        if current.team == team and reports.stages_of(current) == stages:
            return StageSetSchema().dump(reports.describe_stage_set(current, team, True))
        self._check_no_open_deals_in(team, domain.removed_stage_keys(reports.stages_of(current), stages))
        stage_set = StageSet(
            team=team,
            created_at=self.clock.now(),
            created_by=caller.user_id,
            stages=[
                StageRow(
                    position=position,
                    key=stage.key,
                    name=stage.name,
                    probability=stage.probability,
                    in_forecast=stage.in_forecast,
                )
                for position, stage in enumerate(stages)
            ],
        )
        session.add(stage_set)
        session.flush()
        described = reports.describe_stage_set(stage_set, team, True)
        self.db.emit(
            "stage_set_changed",
            {
                "version": stage_set.id,
                "team": team,
                "stages": described["stages"],
                "changed_by": caller.user_id,
                "changed_by_name": caller.display_name,
            },
        )
        return StageSetSchema().dump(described)

    def _check_no_open_deals_in(self, team: str | None, keys: list[str]) -> None:
        if not keys:
            return
        if team is not None:
            uses_set = Opportunity.team == team
        else:  # the default serves deals without a team and teams without a set of their own
            own = select(StageSet.team).where(StageSet.team.is_not(None))
            uses_set = or_(Opportunity.team.is_(None), Opportunity.team.not_in(own))
        stranded = dict(
            self.db.session.execute(
                select(Opportunity.stage, func.count())
                .where(uses_set, Opportunity.status == OPEN, Opportunity.stage.in_(keys))
                .group_by(Opportunity.stage)
            ).all()
        )
        if stranded:
            raise StageInUse(
                "open deals sit in stages this edit drops: move them first, or keep the stage keys",
                {key: [f"{stranded[key]} open deals sit here"] for key in sorted(stranded)},
            )

    @rpc(expected_exceptions=_READ)
    def get_calibration(self, query: dict | None = None) -> dict:
        """Per stage, the observed win rate of closed deals that reached it (Wilson interval) beside
        the configured probability, plus a backtest of past months (managers and admins)."""
        wanted = load(CalibrationQuerySchema(), query or {})
        team = domain.calibration_team(self.caller.require(), wanted.get("team"))
        report = reports.calibration_report(
            self.db.session,
            team,
            self._today(),
            self._timezone,
            months=wanted["periods"],
            level=float(self.config.get("CALIBRATION_LEVEL") or 0.95),
            forecast_level=self._forecast_level,
        )
        return CalibrationSchema().dump(report)

    # ---- opportunities --------------------------------------------------------------------------

    @rpc(expected_exceptions=(*_READ, NotYourCustomer, UnknownStage))
    def create_opportunity(self, payload: dict) -> dict:
        """Open a deal on one of the caller's own customers (asked of customers over RPC, with the
        caller's identity); emits ``opportunity_created``. NotFound / Forbidden from customers,
        NotYourCustomer, UnknownStage, InvalidInput."""
        new = load(NewOpportunitySchema(), payload)
        caller = self.caller.require()
        customer = self.customers.get_customer(new["customer_id"])
        if customer.get("owner_id") != caller.user_id:
            raise NotYourCustomer(
                "you can open deals on your own customers only",
                {"customer_id": [f"customer {new['customer_id']} is not yours"]},
            )
        team = customer.get("team", caller.team)
        session = self.db.session
        stage_set = reports.current_stage_set(session, team)
        stages = reports.stages_of(stage_set)
        stage = domain.find_stage(stages, new["stage"]) if new["stage"] else stages[0]
        if stage.is_won:
            raise UnknownStage(
                "a new deal cannot start won", {"stage": ["a new deal starts in an open stage"]}
            )
        now = self.clock.now()
        opportunity = Opportunity(
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
        session.add(opportunity)
        session.flush()
        change = self._record_change(opportunity, "created", None, stage, stage_set, caller.user_id)
        self.db.emit(
            "opportunity_created",
            {
                **self._event_base(opportunity),
                "title": opportunity.title,
                "stage": stage.key,
                "probability": stage.probability,
                "expected_close_date": _iso(opportunity.expected_close_date),
                "created_by": caller.user_id,
                "created_by_name": caller.display_name,
            },
        )
        return self._dump(opportunity, [change])

    @rpc(expected_exceptions=_READ)
    def list_opportunities(self, query: dict | None = None) -> list[dict]:
        """Deals the caller may see, newest first: a salesperson's own, a manager's team's, any for
        an admin; filters owner, team, customer_id, status, stage; ``limit``/``offset`` pages."""
        wanted = load(OpportunitiesQuerySchema(), query or {})
        scope = domain.listing_scope(self.caller.require(), wanted.get("owner"), wanted.get("team"))
        found = select(Opportunity)
        if scope.owner_id is not None:
            found = found.where(Opportunity.owner_id == scope.owner_id)
        if scope.team is not None:
            found = found.where(Opportunity.team == scope.team)
        for name in ("customer_id", "status", "stage"):
            if name in wanted:
                found = found.where(getattr(Opportunity, name) == wanted[name])
        found = found.order_by(Opportunity.id.desc()).limit(wanted["limit"]).offset(wanted["offset"])
        return OpportunitySchema(many=True, exclude=("history",)).dump(self.db.session.scalars(found))

    @rpc(expected_exceptions=_READ)
    def get_opportunity(self, opportunity_id: int) -> dict:
        """One deal with its stage history (oldest first); OpportunityNotFound unless visible."""
        self.caller.require()
        opportunity = self._visible(opportunity_id)
        return self._dump(opportunity, self._history(opportunity.id))

    @rpc(expected_exceptions=(*_CHANGE, UnknownStage))
    def move_opportunity(self, opportunity_id: int, payload: dict) -> dict:
        """Move an open deal to another stage, forward or back, recording who and when; emits
        ``opportunity_stage_changed``. UnknownStage, AlreadyInStage, OpportunityClosed,
        ReasonRequired (the won stage: use win_opportunity), ConcurrentChange."""
        move = load(MoveSchema(), payload)
        caller = self.caller.require()
        opportunity = self._visible(opportunity_id)
        stage_set = reports.current_stage_set(self.db.session, opportunity.team)
        stages = reports.stages_of(stage_set)
        target = domain.check_move(opportunity.status, opportunity.stage, move["stage"], stages)
        from_stage = opportunity.stage
        opportunity.stage = target.key
        opportunity.updated_at = self.clock.now()
        self._record_change(opportunity, "moved", from_stage, target, stage_set, caller.user_id)
        self._flush()
        self._emit_stage_changed(opportunity, from_stage, target, stage_set, caller.user_id)
        return self._dump(opportunity, self._history(opportunity.id))

    @rpc(expected_exceptions=_CHANGE)
    def win_opportunity(self, opportunity_id: int, payload: dict) -> dict:
        """Win an open deal with a reason: it enters the won stage and ends; emits
        ``opportunity_won``. OpportunityClosed, ConcurrentChange, InvalidInput."""
        closing = load(CloseSchema(), payload)
        caller = self.caller.require()
        opportunity = self._visible(opportunity_id)
        domain.check_open(opportunity.status)
        stage_set = reports.current_stage_set(self.db.session, opportunity.team)
        won = reports.stages_of(stage_set)[-1]
        from_stage = opportunity.stage
        self._close(opportunity, WON, closing["reason"], caller.user_id)
        opportunity.stage = won.key
        self._record_change(opportunity, "won", from_stage, won, stage_set, caller.user_id)
        self._flush()
        self.db.emit("opportunity_won", self._closed_event(opportunity, from_stage))
        return self._dump(opportunity, self._history(opportunity.id))

    @rpc(expected_exceptions=_CHANGE)
    def lose_opportunity(self, opportunity_id: int, payload: dict) -> dict:
        """End an open deal as lost with a reason (it stays at the stage it reached); emits
        ``opportunity_lost``. OpportunityClosed, ConcurrentChange, InvalidInput."""
        closing = load(CloseSchema(), payload)
        caller = self.caller.require()
        opportunity = self._visible(opportunity_id)
        domain.check_open(opportunity.status)
        self._close(opportunity, LOST, closing["reason"], caller.user_id)
        self._flush()
        self.db.emit("opportunity_lost", self._closed_event(opportunity, opportunity.stage))
        return self._dump(opportunity, self._history(opportunity.id))

    # ---- targets --------------------------------------------------------------------------------

    @rpc(expected_exceptions=(*_READ, UnknownOwner, ConcurrentChange))
    def set_target(self, payload: dict) -> dict:
        """Set (or replace) the target of a salesperson (``owner``) or of a team (``owner`` null)
        for a month or quarter; managers for their team, admins any; emits ``target_set``.
        UnknownOwner, Forbidden, InvalidInput."""
        wanted = load(TargetInputSchema(), payload)
        caller = self.caller.require()
        caller.require_role("manager", "admin")
        owner_id = wanted["owner"]
        owner_team = self._user(owner_id, UnknownOwner).get("team") if owner_id is not None else None
        team = domain.target_team(caller, owner_id, owner_team, wanted["team"])
        session = self.db.session
        subject = Target.owner_id == owner_id if owner_id is not None else Target.owner_id.is_(None)
        if owner_id is None:
            subject = subject & (Target.team == team)
        target = session.scalar(select(Target).where(subject, Target.period == wanted["period"]))
        if target is None:
            target = Target(owner_id=owner_id, period=wanted["period"])
            session.add(target)
        target.team = team
        target.amount = wanted["amount"]
        target.set_by = caller.user_id
        target.set_at = self.clock.now()
        try:
            session.flush()
        except IntegrityError as exc:  # set at the same moment by someone else
            raise ConcurrentChange("the target was set at the same moment; try again") from exc
        self.db.emit(
            "target_set",
            {
                "owner_id": owner_id,
                "team": team,
                "period": target.period,
                "amount": _money_text(target.amount),
                "set_by": caller.user_id,
                "set_by_name": caller.display_name,
            },
        )
        return TargetSchema().dump(target)

    @rpc(expected_exceptions=_READ)
    def list_targets(self, query: dict | None = None) -> list[dict]:
        """Targets the caller may see: a salesperson their own, a manager their team's (members'
        and the team's), an admin any; filters owner, team, period."""
        wanted = load(TargetsQuerySchema(), query or {})
        scope = domain.listing_scope(self.caller.require(), wanted.get("owner"), wanted.get("team"))
        found = select(Target)
        if scope.owner_id is not None:
            found = found.where(Target.owner_id == scope.owner_id)
        if scope.team is not None:
            found = found.where(Target.team == scope.team)
        if "period" in wanted:
            found = found.where(Target.period == wanted["period"])
        found = found.order_by(Target.period, Target.owner_id.is_(None), Target.owner_id)
        return TargetSchema(many=True).dump(self.db.session.scalars(found))

    # ---- forecast and funnel --------------------------------------------------------------------

    @rpc(expected_exceptions=_READ)
    def get_forecast(self, query: dict | None = None) -> dict:
        """The weighted forecast for a period (default: this month) with its per-stage breakdown,
        sample size, reliability, interval, target and gap: a salesperson's own, or for a manager
        the team's roll-up with every member (or one member with ``owner``)."""
        wanted = load(ReportQuerySchema(), query or {})
        scope = domain.report_scope(
            self.caller.require(), wanted.get("owner"), wanted.get("team"), self._team_of
        )
        today = self._today()
        report = reports.forecast_report(
            self.db.session,
            scope,
            wanted.get("period") or current_period(today),
            today,
            members=self._members(scope.team) if scope.is_team else None,
            min_sample=int(self.config.get("FORECAST_MIN_SAMPLE") or DEFAULT_MIN_SAMPLE),
            level=self._forecast_level,
        )
        return ForecastSchema().dump(report)

    @rpc(expected_exceptions=_READ)
    def get_funnel(self, query: dict | None = None) -> dict:
        """Open deals per stage with advice (kind, from_stage, to_stage, count, message); for a
        manager's team also each member's funnel and a per-stage comparison with the median."""
        wanted = load(ReportQuerySchema(), query or {})
        scope = domain.report_scope(
            self.caller.require(), wanted.get("owner"), wanted.get("team"), self._team_of
        )
        report = reports.funnel_report(
            self.db.session,
            scope,
            wanted.get("period") or current_period(self._today()),
            self._timezone,
            members=self._members(scope.team) if scope.is_team else None,
        )
        return FunnelSchema().dump(report)

    # ---- reactions to customers -----------------------------------------------------------------

    # Both handlers: the default SERVICE_POOL (one instance of pipeline handles each event), and
    # requeue_on_error because what can fail here is the database or a concurrent move of the same
    # deal (StaleDataError): both pass, and dropping the event would leave deals with the wrong
    # owner. A malformed payload is logged and acknowledged, not requeued forever.

    @event_handler("customers", "customer_transferred", requeue_on_error=True)
    @handle_once
    def on_customer_transferred(self, event: dict) -> None:
        """The customer's open deals follow the new owner (and team). Closed deals stay credited to
        whoever won or lost them. A deal whose stage the new team's set lacks lands on the nearest
        stage not above it."""
        data = event.get("data") or {}
        customer_id, to_owner_id = data.get("customer_id"), data.get("to_owner_id")
        if not isinstance(customer_id, int) or not isinstance(to_owner_id, int):
            log.error("customer_transferred without customer_id/to_owner_id: %s", event.get("event_id"))
            return
        team = data.get("team")
        session = self.db.session
        new_set = reports.current_stage_set(session, team)
        new_stages = reports.stages_of(new_set)
        now = self.clock.now()
        for opportunity in self._open_deals_of(customer_id):
            opportunity.owner_id = to_owner_id
            opportunity.updated_at = now
            if opportunity.team == team:
                continue
            opportunity.team = team
            from_stage = opportunity.stage
            if any(stage.key == from_stage and not stage.is_won for stage in new_stages):
                continue
            history = self._history(opportunity.id)
            entered_at = history[-1].probability if history else 0
            landing = domain.stage_after_team_change(from_stage, entered_at, new_stages)
            opportunity.stage = landing.key
            self._record_change(opportunity, "team_changed", from_stage, landing, new_set, None)
            self._emit_stage_changed(opportunity, from_stage, landing, new_set, None)
        self._flush()

    @event_handler("customers", "customer_abandoned", requeue_on_error=True)
    @handle_once
    def on_customer_abandoned(self, event: dict) -> None:
        """The customer's open deals end lost with the reason "abandoned"; emits ``opportunity_lost``
        for each."""
        customer_id = (event.get("data") or {}).get("customer_id")
        if not isinstance(customer_id, int):
            log.error("customer_abandoned without customer_id: %s", event.get("event_id"))
            return
        for opportunity in self._open_deals_of(customer_id):
            self._close(opportunity, LOST, domain.ABANDONED, None)
            self.db.emit("opportunity_lost", self._closed_event(opportunity, opportunity.stage))
        self._flush()

    # ---- helpers --------------------------------------------------------------------------------

    @property
    def _timezone(self) -> str:
        return str(self.config.get("TIMEZONE") or DEFAULT_TIMEZONE)

    @property
    def _forecast_level(self) -> float:
        return float(self.config.get("FORECAST_LEVEL") or DEFAULT_LEVEL)

    def _today(self) -> date:
        return domain.local_today(self.clock.now(), self._timezone)

    def _user(self, user_id: int, missing: type[InvalidInput] | type[NotFound] = NotFound) -> dict:
        user = self.accounts.get_users([user_id]).get(str(user_id))
        if user is None:
            raise missing(f"no user {user_id}", {"owner": ["no such user"]})
        return user

    def _team_of(self, user_id: int) -> str | None:
        return self._user(user_id).get("team")

    def _members(self, team: str | None) -> dict[int, str | None]:
        """The team's salespeople by id, with display names, from accounts."""
        if team is None:
            return {}
        return {
            user["id"]: user.get("display_name")
            for user in self.accounts.get_team(team)
            if user.get("role") == "sales"
        }

    def _name_of(self, user_id: int | None) -> str | None:
        """The display name of ``user_id`` when that is the caller (the token carries it)."""
        caller = self.caller.current
        return caller.display_name if caller is not None and caller.user_id == user_id else None

    def _visible(self, opportunity_id: int) -> Opportunity:
        caller = self.caller.require()
        if not isinstance(opportunity_id, int) or not 1 <= opportunity_id <= MAX_ID:
            raise OpportunityNotFound(f"no opportunity {opportunity_id}")  # no id the column can hold
        opportunity = self.db.session.get(Opportunity, opportunity_id)
        if opportunity is None or not caller.can_read(opportunity.owner_id, opportunity.team):
            raise OpportunityNotFound(f"no opportunity {opportunity_id}")
        return opportunity

    def _open_deals_of(self, customer_id: int) -> list[Opportunity]:
        return list(
            self.db.session.scalars(
                select(Opportunity)
                .where(Opportunity.customer_id == customer_id, Opportunity.status == OPEN)
                .order_by(Opportunity.id)
            )
        )

    def _history(self, opportunity_id: int) -> list[StageChange]:
        return list(
            self.db.session.scalars(
                select(StageChange)
                .where(StageChange.opportunity_id == opportunity_id)
                .order_by(StageChange.id)
            )
        )

    def _record_change(
        self,
        opportunity: Opportunity,
        kind: str,
        from_stage: str | None,
        stage: Stage,
        stage_set: StageSet,
        changed_by: int | None,
    ) -> StageChange:
        change = StageChange(
            opportunity_id=opportunity.id,
            kind=kind,
            from_stage=from_stage,
            to_stage=stage.key,
            probability=stage.probability,
            stage_set_id=stage_set.id,
            changed_by=changed_by,
            changed_at=self.clock.now(),
        )
        self.db.session.add(change)
        return change

    def _close(self, opportunity: Opportunity, status: str, reason: str, closed_by: int | None) -> None:
        now = self.clock.now()
        opportunity.status = status
        opportunity.close_reason = reason.strip()
        opportunity.closed_at = now
        opportunity.closed_by = closed_by
        opportunity.updated_at = now

    def _flush(self) -> None:
        try:
            self.db.session.flush()
        except StaleDataError as exc:
            raise ConcurrentChange("the deal was changed at the same moment; read it again") from exc

    def _event_base(self, opportunity: Opportunity) -> dict[str, Any]:
        return {
            "opportunity_id": opportunity.id,
            "customer_id": opportunity.customer_id,
            "owner_id": opportunity.owner_id,
            "team": opportunity.team,
            "amount": _money_text(opportunity.amount),
            "currency": opportunity.currency,
        }

    def _emit_stage_changed(
        self,
        opportunity: Opportunity,
        from_stage: str | None,
        stage: Stage,
        stage_set: StageSet,
        changed_by: int | None,
    ) -> None:
        self.db.emit(
            "opportunity_stage_changed",
            {
                **self._event_base(opportunity),
                "from_stage": from_stage,
                "to_stage": stage.key,
                "probability": stage.probability,
                "stage_set_version": stage_set.id,
                "changed_by": changed_by,
                "changed_by_name": self._name_of(changed_by),
            },
        )

    def _closed_event(self, opportunity: Opportunity, from_stage: str) -> dict[str, Any]:
        return {
            **self._event_base(opportunity),
            "reason": opportunity.close_reason,
            "stage": from_stage,
            "closed_by": opportunity.closed_by,
            "closed_by_name": self._name_of(opportunity.closed_by),
        }

    def _dump(self, opportunity: Opportunity, history: list[StageChange]) -> dict:
        dumped = OpportunitySchema(exclude=("history",)).dump(opportunity)
        dumped["history"] = StageChangeSchema(many=True).dump(history)
        return dumped


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None
