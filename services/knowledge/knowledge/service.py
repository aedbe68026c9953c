"""Knowledge: entries of team experience, their search, and difficulty alarms (困难报警)."""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc

from crm_common.clock import Clock
from crm_common.db import Database
from crm_common.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from crm_common.identity import CallerIdentity
from crm_common.service import HealthCheck
from crm_common.validation import load
from knowledge import domain
from knowledge.dependencies import Customers, Directory, SegmenterProvider
from knowledge.exceptions import AlarmNotFound, refusals_as_errors
from knowledge.models import Alarm, Base
from knowledge.schemas import (
    AlarmAnsweredSchema,
    AlarmDetailSchema,
    AlarmForAbandonSchema,
    AlarmListQuerySchema,
    AlarmRaisedSchema,
    AlarmResolvedSchema,
    AlarmSchema,
    AnswerSchema,
    ArchiveSchema,
    EntryEditSchema,
    EntryPublishedSchema,
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
    StaleQuerySchema,
)
from knowledge.search import Filters
from knowledge.store import KnowledgeStore, alarm_view, answer_view, domain_alarm, domain_entry, entry_view

USER_ERRORS = (Unauthenticated, InvalidInput, Forbidden, NotFound, Conflict)


class KnowledgeService(HealthCheck):
    name = "knowledge"

    db = Database(Base.metadata)
    caller = CallerIdentity()
    clock = Clock()
    segmenter = SegmenterProvider()
    people = Directory()
    customers = Customers()

    # --- entries

    @rpc(expected_exceptions=USER_ERRORS)
    @refusals_as_errors
    def create_entry(self, payload: dict[str, Any]) -> dict:
        """Write a knowledge entry (version 1) as the caller; emits ``entry_published``.
        InvalidInput (invalid_kind, invalid_tags, blank_field)."""
        caller = self.caller.require()
        entry = domain.new_entry(caller, **load(NewEntrySchema(), payload))
        row = self._store.add_entry(entry, self.people.name_of(caller), self.clock.now())
        self.db.emit("entry_published", EntryPublishedSchema().dump(row))
        return EntrySchema().dump(entry_view(row))

    @rpc(expected_exceptions=USER_ERRORS)
    @refusals_as_errors
    def search_entries(self, query: dict[str, Any]) -> dict:
        """``{q, terms, items, offset, limit, has_more}``: entries having any term of ``q``,
        those with more of its terms first, the more useful first among equals, each with
        highlights; without ``q`` every live entry, the most useful first. Filters: kind, tag."""
        self.caller.require()
        wanted = load(SearchQuerySchema(), query)
        tags = domain.normalise_tags([wanted["tag"] or ""])
        filters = Filters(kind=wanted["kind"], tag=tags[0] if tags else None)
        result = self._store.search(wanted["q"], filters, wanted["offset"], wanted["limit"])
        return SearchResultSchema().dump(result)

    @rpc(expected_exceptions=USER_ERRORS)
    def get_entry(self, entry_id: int) -> dict:
        """One entry, counted as a view. EntryNotFound."""
        self.caller.require()
        row = self._store.entry(entry_id)
        self._store.count_view(row)
        return EntrySchema().dump(entry_view(row))

    @rpc(expected_exceptions=USER_ERRORS)
    @refusals_as_errors
    def edit_entry(self, entry_id: int, payload: dict[str, Any]) -> dict:
        """The author's new version of an entry (every version kept). NotAuthor (403),
        EntryNotFound, InvalidInput."""
        caller = self.caller.require()
        changes = load(EntryEditSchema(), payload)
        row = self._store.entry(entry_id, lock=True)
        revised = domain.revise_entry(domain_entry(row), caller, **changes)
        self._store.revise_entry(row, revised, caller.user_id, self.clock.now())
        return EntrySchema().dump(entry_view(row))

    @rpc(expected_exceptions=USER_ERRORS)
    def entry_versions(self, entry_id: int) -> list[dict]:
        """Every version of an entry, the first one first. EntryNotFound."""
        self.caller.require()
        self._store.entry(entry_id)
        return EntryVersionSchema(many=True).dump(self._store.versions(entry_id))

    @rpc(expected_exceptions=USER_ERRORS)
    @refusals_as_errors
    def vote_entry(self, entry_id: int) -> dict:
        """The caller finds the entry useful: one vote per person. OwnEntry (403) for the
        author, AlreadyVoted (409) for a second vote, EntryNotFound."""
        caller = self.caller.require()
        row = self._store.entry(entry_id, lock=True)
        domain.ensure_may_vote(domain_entry(row), caller)
        self._store.vote(row, caller.user_id, self.clock.now())
        return EntrySchema().dump(entry_view(row))

    @rpc(expected_exceptions=USER_ERRORS)
    @refusals_as_errors
    def pin_entry(self, entry_id: int, payload: dict[str, Any] | None = None) -> dict:
        """Pin (or with ``{"pinned": false}`` unpin) an entry for onboarding. NotManager (403)."""
        caller = self.caller.require()
        pinned = load(PinSchema(), payload or {})["pinned"]
        domain.ensure_may_curate(caller)
        row = self._store.entry(entry_id, lock=True)
        row.pinned = pinned
        return EntrySchema().dump(entry_view(row))

    @rpc(expected_exceptions=USER_ERRORS)
    @refusals_as_errors
    def archive_entry(self, entry_id: int, payload: dict[str, Any] | None = None) -> dict:
        """Archive a stale entry (gone from search and onboarding; still readable), or bring it
        back with ``{"archived": false}``. NotManager (403)."""
        caller = self.caller.require()
        archived = load(ArchiveSchema(), payload or {})["archived"]
        domain.ensure_may_curate(caller)
        row = self._store.entry(entry_id, lock=True)
        self._store.set_archived(row, archived, self.clock.now())
        return EntrySchema().dump(entry_view(row))

    @rpc(expected_exceptions=USER_ERRORS)
    def onboarding(self, query: dict[str, Any] | None = None) -> dict:
        """What a newcomer reads first: ``{items: [{reason, tag, entry}]}``, pinned entries
        first, then the ``per_tag`` most useful entries of each tag."""
        self.caller.require()
        per_tag = load(OnboardingQuerySchema(), query or {})["per_tag"]
        return OnboardingSchema().dump({"items": self._store.onboarding(per_tag)})

    # --- difficulty alarms

    @rpc(expected_exceptions=USER_ERRORS)
    @refusals_as_errors
    def raise_alarm(self, payload: dict[str, Any]) -> dict:
        """Raise a difficulty alarm for the caller's team, optionally about one of the caller's
        customers; answers with the alarm, similar entries and similar past alarms. Emits
        ``alarm_raised``. NotInTeam (403) without a team; the customers service's NotFound /
        Forbidden for a customer the caller may not see."""
        caller = self.caller.require()
        wanted = load(NewAlarmSchema(), payload)
        alarm = domain.raise_alarm(
            caller, wanted["title"], wanted["problem"], self.clock.now(), wanted["customer_id"]
        )
        customer_name = self.customers.name_of(alarm.customer_id) if alarm.customer_id else None
        row = self._store.add_alarm(alarm, self.people.name_of(caller), customer_name)
        self.db.emit("alarm_raised", AlarmRaisedSchema().dump(row))
        return AlarmDetailSchema().dump(self._alarm_detail(row, []))

    @rpc(expected_exceptions=USER_ERRORS)
    @refusals_as_errors
    def answer_alarm(self, alarm_id: int, payload: dict[str, Any]) -> dict:
        """A team member's answer (flagged ``by_manager`` for the team's manager); emits
        ``alarm_answered``. NotInTeam (403), AlarmNotOpen (409) once resolved, AlarmNotFound."""
        caller = self.caller.require()
        body = load(NewAnswerSchema(), payload)["body"]
        row, alarm = self._visible_alarm(alarm_id, caller, lock=True)
        answer = alarm.answer(caller, body, self.clock.now())
        answer_row = self._store.add_answer(row, alarm, answer, self.people.name_of(caller))
        self.db.emit("alarm_answered", AlarmAnsweredSchema().dump(answer_row))
        return AnswerSchema().dump(answer_view(answer_row))

    @rpc(expected_exceptions=USER_ERRORS)
    @refusals_as_errors
    def resolve_alarm(self, alarm_id: int, payload: dict[str, Any]) -> dict:
        """The raiser accepts one of the alarm's answers and, with ``publish``, publishes it as
        a knowledge entry linked to the alarm. Emits ``alarm_resolved`` (and ``entry_published``).
        NotRaiser (403), AlarmNotOpen (409), AnswerNotOfAlarm (409), AlarmNotFound."""
        caller = self.caller.require()
        wanted = load(ResolveSchema(), payload)
        row, alarm = self._visible_alarm(alarm_id, caller, lock=True)
        accepted = alarm.resolve(caller, wanted["answer_id"], self.clock.now())
        published = domain.entry_from_answer(alarm, accepted, wanted["tags"]) if wanted["publish"] else None
        entry_row = self._store.save_resolution(row, alarm, published, self.clock.now())
        self.db.emit("alarm_resolved", AlarmResolvedSchema().dump(row))
        if entry_row is not None:
            self.db.emit("entry_published", EntryPublishedSchema().dump(entry_row))
        resolved = alarm_view(row, self._store.answers_of([row.id])[row.id])
        return ResolvedAlarmSchema().dump({**resolved, "entry": entry_view(entry_row) if entry_row else None})

    @rpc(expected_exceptions=USER_ERRORS)
    def get_alarm(self, alarm_id: int) -> dict:
        """An alarm with its answers, similar entries and similar past alarms, for its raiser,
        the team and admins; AlarmNotFound for anyone else."""
        row, _alarm = self._visible_alarm(alarm_id, self.caller.require())
        return AlarmDetailSchema().dump(self._alarm_detail(row, self._store.answers_of([row.id])[row.id]))

    @rpc(expected_exceptions=USER_ERRORS)
    def list_alarms(self, query: dict[str, Any] | None = None) -> list[dict]:
        """Alarms, newest first: a salesperson's own (``scope=team``: the team's), a manager's
        team's, every alarm for an admin; optionally of one ``status``."""
        caller = self.caller.require()
        wanted = load(AlarmListQuerySchema(), query or {})
        rows = self._store.alarms(domain.alarm_scope(caller, wanted["scope"]), wanted["status"])
        answers = self._store.answers_of([row.id for row in rows])
        return AlarmSchema(many=True).dump([alarm_view(row, answers[row.id]) for row in rows])

    @rpc(expected_exceptions=USER_ERRORS)
    @refusals_as_errors
    def stale_alarms(self, query: dict[str, Any] | None = None) -> list[dict]:
        """The team's alarms still unresolved ``days`` (default 3) days after they were raised,
        oldest first, for its manager (admins: every team). NotManager (403)."""
        caller = self.caller.require()
        days = load(StaleQuerySchema(), query or {})["days"]
        rows = self._store.alarms(domain.stale_scope(caller), "unresolved")
        answers = self._store.answers_of([row.id for row in rows])
        pairs = [(domain_alarm(row, answers[row.id]), row) for row in rows]
        row_of = {id(alarm): row for alarm, row in pairs}
        stale = domain.stale_alarms([alarm for alarm, _row in pairs], self.clock.now(), days)
        return AlarmSchema(many=True).dump(
            [alarm_view(row_of[id(alarm)], answers[row_of[id(alarm)].id]) for alarm in stale]
        )

    @rpc(expected_exceptions=(NotFound,))
    def alarm_for_abandon(self, alarm_id: int) -> dict:
        """For the customers service's abandon rule (system call, no caller check):
        ``{alarm_id, customer_id, raised_by, team, status, manager_answered}``. AlarmNotFound."""
        row = self._store.alarm(alarm_id)
        alarm = domain_alarm(row, self._store.answers_of([row.id])[row.id])
        return AlarmForAbandonSchema().dump(
            {
                "alarm_id": row.id,
                "customer_id": row.customer_id,
                "raised_by": row.raised_by,
                "team": row.team,
                "status": row.status,
                "manager_answered": alarm.manager_answered,
            }
        )

    # --- helpers

    @property
    def _store(self) -> KnowledgeStore:
        return KnowledgeStore(self.db.session, self.segmenter)

    def _visible_alarm(self, alarm_id: int, caller: Any, lock: bool = False) -> tuple[Alarm, domain.Alarm]:
        store = self._store
        row = store.alarm(alarm_id, lock=lock)
        alarm = domain_alarm(row, store.answers_of([row.id])[row.id])
        if not domain.alarm_visible_to(alarm, caller):
            raise AlarmNotFound(f"no alarm {alarm_id}", {"alarm_id": alarm_id})
        return row, alarm

    def _alarm_detail(self, row: Alarm, answers: list) -> dict:
        store = self._store
        alarm_terms = self.segmenter.query_terms(f"{row.title}\n{row.problem}")
        return {
            **alarm_view(row, answers),
            "answers": [answer_view(answer) for answer in answers],
            "similar_entries": store.similar_entries(row.title, alarm_terms),
            "similar_alarms": store.similar_alarms(row, alarm_terms),
        }
