"""Knowledge: entries of team experience, their search, and difficulty alarms (困难报警).

Knowledge is the template of the one service shape; a newcomer finds every service laid out so:

- ``service.py``      entrypoints only: validate (``schemas``) → one use case → dump
- ``usecases_*.py``   use cases as plain functions of (store, caller, request, clock, clients):
                      ``usecases_entries``, ``usecases_search``, ``usecases_alarms``
- ``store.py``        all SQL, one ``Store`` per worker (mixins ``store_entries``, ``store_alarms``,
                      ``store_search``), giving and taking domain objects
- ``domain*.py``      the rules, plain Python (``domain``, ``domain_search``, ``domain_alarms``)
- ``schemas.py``, ``exceptions.py``, ``constants.py``: leaf modules, the only ones others import
- tests: ``tests/unit`` (rules, and use cases on ``tests/fakes.py``'s FakeStore), ``tests/service``
  (the real service; ``test_knowledge_store_contract.py`` holds the fake to the real Store)."""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc

from crm_common.clock import Clock
from crm_common.db import Database
from crm_common.directory import Directory
from crm_common.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from crm_common.idempotency import idempotent
from crm_common.identity import CallerIdentity
from crm_common.service import HealthCheck
from crm_common.validation import load
from knowledge import usecases_alarms as alarms
from knowledge import usecases_entries as entries
from knowledge.dependencies import Customers, SegmenterProvider
from knowledge.models import Base
from knowledge.schemas import (
    AlarmDetailSchema,
    AlarmForAbandonSchema,
    AlarmListQuerySchema,
    AlarmSchema,
    AnswerSchema,
    ArchiveSchema,
    EntryEditSchema,
    EntrySchema,
    EntryVersionSchema,
    NewAlarmSchema,
    NewAnswerSchema,
    NewEntrySchema,
    OnboardingQuerySchema,
    OnboardingSchema,
    PinSchema,
    ResolvedAlarmSchema,
    ResolveSchema,
    SearchQuerySchema,
    SearchResultSchema,
    SinceQuerySchema,
    StaleQuerySchema,
)
from knowledge.store import Store
from knowledge.usecases_search import search_entries

USER_ERRORS = (Unauthenticated, InvalidInput, Forbidden, NotFound, Conflict)
# a name is a label stored with entries, alarms and answers: none of them waits long for it
NAME_LOOKUP_SECONDS = 2.0


class KnowledgeService(HealthCheck):
    name = "knowledge"

    db = Database(Base.metadata)
    caller = CallerIdentity()
    clock = Clock()
    segmenter = SegmenterProvider()
    people = Directory(timeout_seconds=NAME_LOOKUP_SECONDS)
    customers = Customers()

    @property
    def store(self) -> Store:
        return Store(self.db, self.segmenter)

    # --- entries

    @rpc(expected_exceptions=USER_ERRORS)
    @idempotent
    def create_entry(self, payload: dict[str, Any]) -> dict:
        """Write a knowledge entry (version 1) as the caller; emits ``entry_published``.
        InvalidInput (invalid_kind, invalid_tags, blank_field); for a ``customer_id`` the caller
        may not read, the customers service's CustomerNotFound (404) / NotYourCustomer (403)."""
        caller = self.caller.require()
        data = load(NewEntrySchema(), payload)
        entry = entries.create_entry(
            self.store, caller, data, clock=self.clock, people=self.people, customers=self.customers
        )
        return EntrySchema().dump(entry)

    @rpc(expected_exceptions=USER_ERRORS)
    def search_entries(self, query: dict[str, Any]) -> dict:
        """``{q, terms, items, offset, limit, has_more}``: entries having any term of ``q``,
        those with more of its terms first, the more useful first among equals, each with
        highlights; without ``q`` every live entry, the most useful first. Filters: kind, tag."""
        self.caller.require()
        return SearchResultSchema().dump(search_entries(self.store, load(SearchQuerySchema(), query)))

    @rpc(expected_exceptions=USER_ERRORS)
    def get_entry(self, entry_id: int) -> dict:
        """One entry, counted as a view. EntryNotFound."""
        caller = self.caller.require()
        return EntrySchema().dump(entries.read_entry(self.store, entry_id, caller))

    @rpc(expected_exceptions=USER_ERRORS)
    @idempotent
    def edit_entry(self, entry_id: int, payload: dict[str, Any]) -> dict:
        """The author's new version of an entry (every version kept). NotAuthor (403),
        EntryNotFound, InvalidInput."""
        caller = self.caller.require()
        changes = load(EntryEditSchema(), payload)
        return EntrySchema().dump(entries.edit_entry(self.store, caller, entry_id, changes, clock=self.clock))

    @rpc(expected_exceptions=USER_ERRORS)
    def entry_versions(self, entry_id: int) -> list[dict]:
        """Every version of an entry, the first one first. EntryNotFound."""
        self.caller.require()
        return EntryVersionSchema(many=True).dump(entries.entry_versions(self.store, entry_id))

    @rpc(expected_exceptions=USER_ERRORS)
    @idempotent
    def vote_entry(self, entry_id: int) -> dict:
        """The caller finds the entry useful: one vote per person. OwnEntry (403) for the
        author, AlreadyVoted (409) for a second vote, EntryNotFound."""
        caller = self.caller.require()
        return EntrySchema().dump(entries.vote_entry(self.store, caller, entry_id, clock=self.clock))

    @rpc(expected_exceptions=USER_ERRORS)
    @idempotent
    def pin_entry(self, entry_id: int, payload: dict[str, Any] | None = None) -> dict:
        """Pin (or with ``{"pinned": false}`` unpin) an entry for onboarding. NotManager (403)."""
        caller = self.caller.require()
        pinned = load(PinSchema(), payload or {})["pinned"]
        return EntrySchema().dump(entries.pin_entry(self.store, caller, entry_id, pinned))

    @rpc(expected_exceptions=USER_ERRORS)
    @idempotent
    def archive_entry(self, entry_id: int, payload: dict[str, Any] | None = None) -> dict:
        """Archive a stale entry (gone from search and onboarding; still readable), or bring it
        back with ``{"archived": false}``. NotManager (403)."""
        caller = self.caller.require()
        archived = load(ArchiveSchema(), payload or {})["archived"]
        return EntrySchema().dump(
            entries.archive_entry(self.store, caller, entry_id, archived, clock=self.clock)
        )

    @rpc(expected_exceptions=USER_ERRORS)
    def onboarding(self, query: dict[str, Any] | None = None) -> dict:
        """What a newcomer reads first: ``{items: [{reason, tag, entry}]}``, pinned entries
        first, then the ``per_tag`` most useful entries of each tag."""
        self.caller.require()
        per_tag = load(OnboardingQuerySchema(), query or {})["per_tag"]
        return OnboardingSchema().dump(entries.onboarding(self.store, per_tag))

    # --- difficulty alarms

    @rpc(expected_exceptions=USER_ERRORS)
    @idempotent
    def raise_alarm(self, payload: dict[str, Any]) -> dict:
        """Raise a difficulty alarm for the caller's team, optionally about one of the caller's
        customers; answers with the alarm, similar entries and similar past alarms. Emits
        ``alarm_raised``. NotInTeam (403) without a team; the customers service's NotFound /
        Forbidden for a customer the caller may not see."""
        caller = self.caller.require()
        data = load(NewAlarmSchema(), payload)
        raised = alarms.raise_alarm(
            self.store,
            caller,
            data,
            clock=self.clock,
            people=self.people,
            customers=self.customers,
            segmenter=self.segmenter,
        )
        return AlarmDetailSchema().dump(raised)

    @rpc(expected_exceptions=USER_ERRORS)
    @idempotent
    def answer_alarm(self, alarm_id: int, payload: dict[str, Any]) -> dict:
        """A team member's answer (flagged ``by_manager`` for the team's manager); emits
        ``alarm_answered``. NotInTeam (403), AlarmNotOpen (409) once resolved, AlarmNotFound."""
        caller = self.caller.require()
        body = load(NewAnswerSchema(), payload)["body"]
        answer = alarms.answer_alarm(self.store, caller, alarm_id, body, clock=self.clock, people=self.people)
        return AnswerSchema().dump(answer)

    @rpc(expected_exceptions=USER_ERRORS)
    @idempotent
    def resolve_alarm(self, alarm_id: int, payload: dict[str, Any]) -> dict:
        """The raiser accepts one of the alarm's answers and, with ``publish``, publishes it as
        a knowledge entry linked to the alarm. Emits ``alarm_resolved`` (and ``entry_published``).
        NotRaiser (403), AlarmNotOpen (409), AnswerNotOfAlarm (409), AlarmNotFound."""
        caller = self.caller.require()
        data = load(ResolveSchema(), payload)
        return ResolvedAlarmSchema().dump(
            alarms.resolve_alarm(self.store, caller, alarm_id, data, clock=self.clock)
        )

    @rpc(expected_exceptions=USER_ERRORS)
    def get_alarm(self, alarm_id: int) -> dict:
        """An alarm with its answers, similar entries and similar past alarms, for its raiser,
        the team and admins; AlarmNotFound for anyone else."""
        caller = self.caller.require()
        return AlarmDetailSchema().dump(
            alarms.read_alarm(self.store, caller, alarm_id, segmenter=self.segmenter)
        )

    @rpc(expected_exceptions=USER_ERRORS)
    def list_alarms(self, query: dict[str, Any] | None = None) -> list[dict]:
        """Alarms, newest first: a salesperson's own (``scope=team``: the team's), a manager's
        team's, every alarm for an admin; optionally of one ``status``."""
        caller = self.caller.require()
        wanted = load(AlarmListQuerySchema(), query or {})
        return AlarmSchema(many=True).dump(
            alarms.list_alarms(self.store, caller, wanted["scope"], wanted["status"])
        )

    @rpc(expected_exceptions=USER_ERRORS)
    def stale_alarms(self, query: dict[str, Any] | None = None) -> list[dict]:
        """The team's alarms still unresolved ``days`` (default 3) days after they were raised,
        oldest first, for its manager (admins: every team). NotManager (403)."""
        caller = self.caller.require()
        days = load(StaleQuerySchema(), query or {})["days"]
        return AlarmSchema(many=True).dump(alarms.stale_alarms(self.store, caller, days, clock=self.clock))

    @rpc(expected_exceptions=USER_ERRORS)
    def votes_since(self, query: dict[str, Any]) -> list[dict]:
        """For the appraisal's replay (a system call, or an admin): ``{since, offset, limit}`` →
        the useful votes cast from ``since`` on, oldest first, as ``entry_voted`` said them."""
        wanted = load(SinceQuerySchema(), query)
        return entries.votes_since(self.store, self.caller.current, wanted)

    @rpc(expected_exceptions=USER_ERRORS)
    def reads_since(self, query: dict[str, Any]) -> list[dict]:
        """For the appraisal's replay (a system call, or an admin): ``{since, offset, limit}`` →
        the reads of entries by others than their authors from ``since`` on, oldest first, as
        ``entry_read`` said them, with the event's id and ``read_at``."""
        wanted = load(SinceQuerySchema(), query)
        return entries.reads_since(self.store, self.caller.current, wanted)

    @rpc(expected_exceptions=USER_ERRORS)
    def entries_since(self, query: dict[str, Any]) -> list[dict]:
        """For the appraisal's replay (a system call, or an admin): ``{since, offset, limit}`` →
        every entry written from ``since`` on, archived ones too, oldest first."""
        wanted = load(SinceQuerySchema(), query)
        return entries.entries_since(self.store, self.caller.current, wanted)

    @rpc(expected_exceptions=(NotFound,))
    def alarm_for_abandon(self, alarm_id: int) -> dict:
        """For the customers service's abandon rule (system call, no caller check):
        ``{alarm_id, customer_id, raised_by, team, status, manager_answered}``. AlarmNotFound."""
        return AlarmForAbandonSchema().dump(alarms.alarm_for_abandon(self.store, alarm_id))
