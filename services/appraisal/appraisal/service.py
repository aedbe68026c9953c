"""Appraisal (绩效考核): scorecards per person and period from the evidence other services publish.

Entrypoints only: validate (:mod:`appraisal.schemas`) → one use case
(:mod:`appraisal.usecases_schemes`, :mod:`appraisal.usecases_scorecards`,
:mod:`appraisal.usecases_evidence`) on a :class:`appraisal.store.Store` → dump."""

from __future__ import annotations

from typing import Any

from nameko.dependency_providers import Config
from nameko.rpc import rpc

from appraisal import usecases_evidence as evidence
from appraisal import usecases_schemes as schemes
from appraisal import usecases_scorecards as cards
from appraisal.models import Base
from appraisal.schemas import (
    ComputeSchema,
    DisputeSchema,
    EvidenceQuerySchema,
    EvidenceSchema,
    MyCardsQuerySchema,
    NoteSchema,
    ReviewSchema,
    SchemeInputSchema,
    SchemeSchema,
    ScorecardSchema,
    ScoresSchema,
    TeamCardsQuerySchema,
    TeamQuerySchema,
)
from appraisal.store import Store
from crm_common.clock import Clock
from crm_common.db import Database
from crm_common.directory import Directory
from crm_common.errors import (
    Conflict,
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
from crm_common.localtime import zone
from crm_common.service import HealthCheck
from crm_common.validation import load

USER_ERRORS = (
    Unauthenticated,
    InvalidInput,
    Forbidden,
    NotFound,
    Conflict,
    ServiceUnavailable,
    ServiceTimeout,
)


class AppraisalService(HealthCheck):
    name = "appraisal"

    db = Database(Base.metadata)
    caller = CallerIdentity()
    clock = Clock()
    config = Config()
    people = Directory()

    @property
    def store(self) -> Store:
        return Store(self.db)

    # --- schemes

    @rpc(expected_exceptions=USER_ERRORS)
    def get_scheme(self, query: dict[str, Any] | None = None) -> dict:
        """The team's scheme (the caller's team by default; ``default`` true until one is set)."""
        team = load(TeamQuerySchema(), query or {})["team"]
        return SchemeSchema().dump(schemes.get_scheme(self.store, self.caller.require(), team))

    @rpc(expected_exceptions=USER_ERRORS)
    @idempotent
    def set_scheme(self, payload: dict[str, Any]) -> dict:
        """Replace the team's scheme (its manager, an admin). InvalidScheme (400) naming every
        problem: weights not summing to 100, a share outside 0–100, an unknown metric …"""
        wanted = load(SchemeInputSchema(), payload)
        return SchemeSchema().dump(
            schemes.set_scheme(self.store, self.caller.require(), wanted, clock=self.clock)
        )

    # --- scorecards

    @rpc(expected_exceptions=USER_ERRORS)
    @idempotent
    def compute_scorecards(self, payload: dict[str, Any]) -> list[dict]:
        """Compute or refresh the team's draft scorecards for a period (its manager, an admin);
        PeriodInFuture (400) for a period not begun. The team's cards, ranked."""
        wanted = load(ComputeSchema(), payload)
        found = cards.compute_scorecards(
            self.store,
            self.caller.require(),
            wanted,
            clock=self.clock,
            people=self.people,
            zone=zone(self.config),
        )
        return ScorecardSchema(many=True).dump(found)

    @rpc(expected_exceptions=USER_ERRORS)
    def team_scorecards(self, query: dict[str, Any]) -> list[dict]:
        """The team's scorecards of a period, best first, with ranks (its manager, an admin)."""
        wanted = load(TeamCardsQuerySchema(), query)
        return ScorecardSchema(many=True).dump(
            cards.team_scorecards(self.store, self.caller.require(), wanted)
        )

    @rpc(expected_exceptions=USER_ERRORS)
    def my_scorecards(self, query: dict[str, Any] | None = None) -> list[dict]:
        """The caller's own published scorecards, newest period first."""
        period = load(MyCardsQuerySchema(), query or {})["period"]
        return ScorecardSchema(many=True).dump(cards.my_scorecards(self.store, self.caller.require(), period))

    @rpc(expected_exceptions=USER_ERRORS)
    def get_scorecard(self, scorecard_id: int) -> dict:
        """One scorecard with its notes; ScorecardNotFound unless the caller may see it."""
        return ScorecardSchema().dump(cards.get_scorecard(self.store, self.caller.require(), scorecard_id))

    @rpc(expected_exceptions=USER_ERRORS)
    def scorecard_evidence(self, scorecard_id: int, query: dict[str, Any] | None = None) -> list[dict]:
        """The evidence behind a scorecard (or one ``metric`` of it), newest first."""
        wanted = load(EvidenceQuerySchema(), query or {})
        found = cards.evidence(self.store, self.caller.require(), scorecard_id, wanted)
        return EvidenceSchema(many=True).dump(found)

    @rpc(expected_exceptions=USER_ERRORS)
    @idempotent
    def set_manager_scores(self, scorecard_id: int, payload: dict[str, Any]) -> dict:
        """The manager's score (0–100) and comment for indicators of a draft; InvalidScore."""
        wanted = load(ScoresSchema(), payload)
        return ScorecardSchema().dump(
            cards.set_manager_scores(self.store, self.caller.require(), scorecard_id, wanted)
        )

    @rpc(expected_exceptions=USER_ERRORS)
    @idempotent
    def publish_scorecard(self, scorecard_id: int) -> dict:
        """Publish a draft to its employee (ScoresMissing until scored); emits ``scorecard_published``."""
        return ScorecardSchema().dump(
            cards.publish(self.store, self.caller.require(), scorecard_id, clock=self.clock)
        )

    @rpc(expected_exceptions=USER_ERRORS)
    @idempotent
    def acknowledge_scorecard(self, scorecard_id: int) -> dict:
        """The employee accepts it; emits ``scorecard_acknowledged``."""
        return ScorecardSchema().dump(
            cards.acknowledge(self.store, self.caller.require(), scorecard_id, clock=self.clock)
        )

    @rpc(expected_exceptions=USER_ERRORS)
    @idempotent
    def dispute_scorecard(self, scorecard_id: int, payload: dict[str, Any]) -> dict:
        """The employee disputes it with a reason; emits ``scorecard_disputed``."""
        reason = load(DisputeSchema(), payload)["reason"]
        return ScorecardSchema().dump(
            cards.dispute(self.store, self.caller.require(), scorecard_id, reason, clock=self.clock)
        )

    @rpc(expected_exceptions=USER_ERRORS)
    @idempotent
    def review_scorecard(self, scorecard_id: int, payload: dict[str, Any]) -> dict:
        """The scorer's manager or an admin settles a dispute; emits ``scorecard_reviewed``."""
        wanted = load(ReviewSchema(), payload)
        return ScorecardSchema().dump(
            cards.review(
                self.store, self.caller.require(), scorecard_id, wanted, clock=self.clock, people=self.people
            )
        )

    @rpc(expected_exceptions=USER_ERRORS)
    @idempotent
    def add_interview_note(self, scorecard_id: int, payload: dict[str, Any]) -> dict:
        """The manager's notes of the appraisal interview (面谈) on a published scorecard."""
        body = load(NoteSchema(), payload)["body"]
        return ScorecardSchema().dump(
            cards.add_interview_note(
                self.store, self.caller.require(), scorecard_id, body, clock=self.clock, people=self.people
            )
        )

    # --- evidence from the bus: each handler once per event_id; a payload it cannot read is logged
    # and acknowledged (retrying would not help); a database error is retried, then dead-lettered.

    def _record(self, source: str, event: dict) -> None:
        evidence.record(self.store, source, event, zone=zone(self.config))

    @event_handler("pipeline", "opportunity_won")
    @handle_once
    def on_opportunity_won(self, event: dict) -> None:
        self._record("pipeline", event)

    @event_handler("pipeline", "opportunity_lost")
    @handle_once
    def on_opportunity_lost(self, event: dict) -> None:
        self._record("pipeline", event)

    @event_handler("pipeline", "target_set")
    @handle_once
    def on_target_set(self, event: dict) -> None:
        evidence.record_target(self.store, event)

    @event_handler("customers", "customer_created")
    @handle_once
    def on_customer_created(self, event: dict) -> None:
        self._record("customers", event)

    @event_handler("notify", "reminder_due")
    @handle_once
    def on_reminder_due(self, event: dict) -> None:
        self._record("notify", event)

    @event_handler("notify", "reminder_escalated")
    @handle_once
    def on_reminder_escalated(self, event: dict) -> None:
        self._record("notify", event)

    @event_handler("knowledge", "alarm_raised")
    @handle_once
    def on_alarm_raised(self, event: dict) -> None:
        self._record("knowledge", event)

    @event_handler("knowledge", "alarm_answered")
    @handle_once
    def on_alarm_answered(self, event: dict) -> None:
        self._record("knowledge", event)

    @event_handler("knowledge", "alarm_resolved")
    @handle_once
    def on_alarm_resolved(self, event: dict) -> None:
        self._record("knowledge", event)

    @event_handler("knowledge", "entry_published")
    @handle_once
    def on_entry_published(self, event: dict) -> None:
        self._record("knowledge", event)

    @event_handler("customers", "followup_recorded")
    @handle_once
    def on_followup_recorded(self, event: dict) -> None:
        self._record("customers", event)

    @event_handler("notify", "reminder_acknowledged")
    @handle_once
    def on_reminder_acknowledged(self, event: dict) -> None:
        self._record("notify", event)

    @event_handler("knowledge", "entry_voted")
    @handle_once
    def on_entry_voted(self, event: dict) -> None:
        self._record("knowledge", event)

    @event_handler("knowledge", "entry_read")
    @handle_once
    def on_entry_read(self, event: dict) -> None:
        self._record("knowledge", event)
