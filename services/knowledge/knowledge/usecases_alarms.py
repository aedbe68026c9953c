"""Use cases of difficulty alarms (困难报警): raise, answer, resolve (publishing the accepted answer
as an entry), read and list them, and the facts customers' abandon rule asks for.

Plain functions, as in :mod:`knowledge.usecases_entries`; the segmenter cuts an alarm's text
to find the entries and past alarms it resembles."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from crm_common.caller import Caller
from knowledge import domain_alarms
from knowledge.constants import AlarmStatus
from knowledge.domain_alarms import Alarm, Answer
from knowledge.domain_search import Candidate, similar
from knowledge.exceptions import AlarmNotFound
from knowledge.schemas import AlarmAnsweredSchema, AlarmRaisedSchema, AlarmResolvedSchema
from knowledge.segment import Segmenter
from knowledge.store import Store
from knowledge.usecases_entries import Clock, CustomerNames, People, entry_view, publish_entry

# how many entries (found through the alarm's title) are compared with a new alarm
SIMILAR_CANDIDATES = 50
SIMILAR_SHOWN = 5


def raise_alarm(
    store: Store,
    caller: Caller,
    data: dict[str, Any],
    *,
    clock: Clock,
    people: People,
    customers: CustomerNames,
    segmenter: Segmenter,
) -> dict[str, Any]:
    """A new alarm of the caller's team, optionally about a customer the caller may read;
    publishes ``alarm_raised``. Answers with the alarm, similar entries and similar past alarms."""
    alarm = domain_alarms.raise_alarm(
        caller, data["title"], data["problem"], clock.now(), data["customer_id"]
    )
    alarm.customer_name = customers.name_of(int(alarm.customer_id)) if alarm.customer_id else None
    alarm.raised_by_name = people.name_of(caller)
    stored = store.add_alarm(alarm)
    store.emit("alarm_raised", AlarmRaisedSchema().dump(alarm_view(stored)))
    return alarm_detail(store, segmenter, stored)


def answer_alarm(
    store: Store, caller: Caller, alarm_id: int, body: str, *, clock: Clock, people: People
) -> dict[str, Any]:
    """A team member's answer (``by_manager`` for a manager's); publishes ``alarm_answered``."""
    alarm = visible_alarm(store, caller, alarm_id, lock=True)
    answer = alarm.answer(caller, body, clock.now())
    stored = store.add_answer(alarm, dataclasses.replace(answer, author_name=people.name_of(caller)))
    facts = {
        **answer_view(stored),
        "team": alarm.team,
        "raised_by": alarm.raiser_id,
        "customer_id": alarm.customer_id,
    }
    store.emit("alarm_answered", AlarmAnsweredSchema().dump(facts))
    return answer_view(stored)


def resolve_alarm(
    store: Store, caller: Caller, alarm_id: int, data: dict[str, Any], *, clock: Clock
) -> dict[str, Any]:
    """The raiser accepts one answer and, with ``publish``, publishes it as an entry linked to
    the alarm; publishes ``alarm_resolved`` (and ``entry_published``)."""
    now = clock.now()
    alarm = visible_alarm(store, caller, alarm_id, lock=True)
    accepted = alarm.resolve(caller, data["answer_id"], now)
    published = domain_alarms.entry_from_answer(alarm, accepted, data["tags"]) if data["publish"] else None
    resolved, entry = store.save_resolution(alarm, published, now)
    resolution = {**alarm_view(resolved), "answered_by": accepted.author_id}
    store.emit("alarm_resolved", AlarmResolvedSchema().dump(resolution))
    if entry is not None:
        publish_entry(store, entry)
    return {**alarm_view(resolved), "entry": entry_view(entry) if entry else None}


def read_alarm(store: Store, caller: Caller, alarm_id: int, *, segmenter: Segmenter) -> dict[str, Any]:
    """An alarm with its answers, similar entries and similar past alarms."""
    return alarm_detail(store, segmenter, visible_alarm(store, caller, alarm_id))


def list_alarms(
    store: Store, caller: Caller, scope: Literal["mine", "team"] | None, status: str | None
) -> list[dict[str, Any]]:
    """The alarms the caller lists (:func:`knowledge.domain_alarms.alarm_scope`), newest first."""
    wanted = domain_alarms.alarm_scope(caller, scope)
    return [alarm_view(alarm) for alarm in store.alarms(wanted, status)]


def stale_alarms(store: Store, caller: Caller, days: int, *, clock: Clock) -> list[dict[str, Any]]:
    """The team's alarms still unresolved ``days`` days after they were raised, oldest first."""
    unresolved = store.alarms(domain_alarms.stale_scope(caller), "unresolved")
    return [alarm_view(alarm) for alarm in domain_alarms.stale_alarms(unresolved, clock.now(), days)]


def alarm_for_abandon(store: Store, alarm_id: int) -> dict[str, Any]:
    """What customers' abandon rule asks of an alarm: its customer, team, raiser, status and
    whether a manager of the team answered it."""
    alarm = store.alarm(alarm_id)
    return {
        "alarm_id": alarm.alarm_id,
        "customer_id": alarm.customer_id,
        "raised_by": alarm.raiser_id,
        "team": alarm.team,
        "status": alarm.status.value,
        "manager_answered": alarm.manager_answered,
    }


def visible_alarm(store: Store, caller: Caller, alarm_id: int, lock: bool = False) -> Alarm:
    """The alarm, if the caller may see it; AlarmNotFound otherwise (as if there were none)."""
    alarm = store.alarm(alarm_id, lock=lock)
    if not domain_alarms.alarm_visible_to(alarm, caller):
        raise AlarmNotFound(f"no alarm {alarm_id}", {"alarm_id": alarm_id})
    return alarm


def alarm_detail(store: Store, segmenter: Segmenter, alarm: Alarm) -> dict[str, Any]:
    alarm_terms = segmenter.query_terms(f"{alarm.title}\n{alarm.problem}")
    return {
        **alarm_view(alarm),
        "answers": [answer_view(answer) for answer in alarm.answers],
        "similar_entries": similar_entries(store, alarm, alarm_terms),
        "similar_alarms": similar_alarms(store, segmenter, alarm, alarm_terms),
    }


def similar_entries(store: Store, alarm: Alarm, alarm_terms: list[str]) -> list[dict[str, Any]]:
    """The entries most like an alarm: found by its title, compared on its whole text."""
    found = store.entry_candidates(alarm.title, SIMILAR_CANDIDATES)
    entries = {entry.entry_id: entry for entry, _terms in found}
    candidates = [Candidate(entry.entry_id or 0, terms, entry.useful_votes) for entry, terms in found]
    return [
        {
            "id": suggestion.candidate_id,
            "kind": entries[suggestion.candidate_id].kind.value,
            "title": entries[suggestion.candidate_id].title,
            "useful_votes": entries[suggestion.candidate_id].useful_votes,
            "score": suggestion.score,
            "matched_terms": list(suggestion.matched_terms),
        }
        for suggestion in similar(alarm_terms, candidates, limit=SIMILAR_SHOWN)
    ]


def similar_alarms(
    store: Store, segmenter: Segmenter, alarm: Alarm, alarm_terms: list[str]
) -> list[dict[str, Any]]:
    """Past alarms of the team most like ``alarm``, resolved ones first among equals."""
    found = store.alarm_candidates(alarm, segmenter.query_terms(alarm.title), SIMILAR_CANDIDATES * 2)
    alarms = {other.alarm_id: other for other, _terms in found}
    candidates = [
        Candidate(other.alarm_id or 0, terms, 1 if other.status is AlarmStatus.RESOLVED else 0)
        for other, terms in found
    ]
    return [
        {
            "id": suggestion.candidate_id,
            "title": alarms[suggestion.candidate_id].title,
            "status": alarms[suggestion.candidate_id].status.value,
            "entry_id": alarms[suggestion.candidate_id].entry_id,
            "raised_at": alarms[suggestion.candidate_id].raised_at,
            "score": suggestion.score,
            "matched_terms": list(suggestion.matched_terms),
        }
        for suggestion in similar(alarm_terms, candidates, limit=SIMILAR_SHOWN)
    ]


def alarm_view(alarm: Alarm) -> dict[str, Any]:
    """What :class:`knowledge.schemas.AlarmSchema` dumps."""
    return {
        "id": alarm.alarm_id,
        "title": alarm.title,
        "problem": alarm.problem,
        "customer_id": alarm.customer_id,
        "customer_name": alarm.customer_name,
        "raised_by": alarm.raiser_id,
        "raised_by_name": alarm.raised_by_name,
        "team": alarm.team,
        "status": alarm.status.value,
        "manager_answered": alarm.manager_answered,
        "accepted_answer_id": alarm.accepted_answer_id,
        "entry_id": alarm.entry_id,
        "raised_at": alarm.raised_at,
        "resolved_at": alarm.resolved_at,
        "answer_count": len(alarm.answers),
    }


def answer_view(answer: Answer) -> dict[str, Any]:
    """What :class:`knowledge.schemas.AnswerSchema` dumps."""
    return {
        "id": answer.answer_id,
        "alarm_id": answer.alarm_id,
        "author_id": answer.author_id,
        "author_name": answer.author_name,
        "body": answer.body,
        "by_manager": answer.by_manager,
        "answered_at": answer.answered_at,
    }
