"""An in-memory knowledge store for the use-case tests (tests/unit/test_knowledge_usecases.py).

It keeps domain objects in dicts and answers the use cases as :class:`knowledge.store.Store`
does; ``tests/service/test_knowledge_store_contract.py`` runs the same checks against it and the
real Store on a real database, so the two cannot drift apart. Search follows the match rule of
:mod:`knowledge.segment`: an entry having any query term matches, more terms first, then the more
useful, then the newer."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any

from knowledge.constants import MAX_ID, AlarmStatus
from knowledge.domain import Entry
from knowledge.domain_alarms import Alarm, AlarmScope, Answer
from knowledge.domain_search import relevance
from knowledge.exceptions import AlarmNotFound, AlreadyVoted, EntryNotFound
from knowledge.search import HIGHLIGHTED_FIELDS, Filters, FoundEntry, SearchPage, bounded_terms
from knowledge.segment import Segmenter


class FakeStore:
    def __init__(self, segmenter: Segmenter) -> None:
        self.segmenter = segmenter
        self.entries_by_id: dict[int, Entry] = {}
        self.versions_by_id: dict[int, list[dict[str, Any]]] = {}
        self.votes: set[tuple[int, int]] = set()
        self.voted_at: dict[tuple[int, int], datetime] = {}
        self.reads: list[tuple[datetime, str, int, int]] = []  # (when, event id, entry, reader)
        self.alarms_by_id: dict[int, Alarm] = {}
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._next_answer_id = 1

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        self.events.append((event_type, data))

    # --- entries

    def entry(self, entry_id: int, lock: bool = False) -> Entry:
        if entry_id > MAX_ID or entry_id not in self.entries_by_id:
            raise EntryNotFound(f"no knowledge entry {entry_id}", {"entry_id": entry_id})
        return dataclasses.replace(self.entries_by_id[entry_id])

    def add_entry(self, entry: Entry, now: datetime) -> Entry:
        entry_id = len(self.entries_by_id) + 1
        stored = dataclasses.replace(entry, entry_id=entry_id, version=1, created_at=now, updated_at=now)
        self.entries_by_id[entry_id] = stored
        self.versions_by_id[entry_id] = [self._version(stored, int(entry.author_id), now)]
        return dataclasses.replace(stored)

    def revise_entry(self, revised: Entry, editor_id: int, now: datetime) -> Entry:
        entry_id = int(revised.entry_id or 0)
        current = self.entry(entry_id)
        stored = dataclasses.replace(revised, version=current.version + 1, updated_at=now)
        self.entries_by_id[entry_id] = stored
        self.versions_by_id[entry_id].append(self._version(stored, editor_id, now))
        return dataclasses.replace(stored)

    def count_view(self, entry_id: int) -> Entry:
        return self._change(entry_id, views=self.entry(entry_id).views + 1)

    def record_read(self, entry_id: int, reader_id: int, event: dict[str, Any]) -> None:
        event_id = str(uuid.uuid4())
        self.emit("entry_read", event)
        self.reads.append((datetime.now(UTC), event_id, entry_id, reader_id))

    def reads_since(self, since: datetime, offset: int, limit: int) -> list[tuple[Entry, int, datetime, str]]:
        found = sorted(read for read in self.reads if read[0] >= since)
        return [
            (self.entry(e), reader, at, event_id)
            for at, event_id, e, reader in found[offset : offset + limit]
        ]

    def vote(self, entry_id: int, voter_id: int, now: datetime) -> Entry:
        entry = self.entry(entry_id)
        if (entry_id, voter_id) in self.votes:
            raise AlreadyVoted("you have already found this entry useful", {"entry_id": entry_id})
        self.votes.add((entry_id, voter_id))
        self.voted_at[(entry_id, voter_id)] = now
        return self._change(entry_id, useful_votes=entry.useful_votes + 1)

    def votes_since(self, since: datetime, offset: int, limit: int) -> list[tuple[Entry, int, datetime]]:
        found = sorted(
            (at, entry_id, voter_id) for (entry_id, voter_id), at in self.voted_at.items() if at >= since
        )
        return [(self.entry(e), voter, at) for at, e, voter in found[offset : offset + limit]]

    def entries_since(self, since: datetime, offset: int, limit: int) -> list[Entry]:
        found = sorted(
            (entry.created_at, entry_id)
            for entry_id, entry in self.entries_by_id.items()
            if entry.created_at is not None and entry.created_at >= since
        )
        return [self.entry(entry_id) for _at, entry_id in found[offset : offset + limit]]

    def set_pinned(self, entry_id: int, pinned: bool) -> Entry:
        return self._change(entry_id, pinned=pinned)

    def set_archived(self, entry_id: int, archived: bool, now: datetime) -> Entry:
        if self.entry(entry_id).archived == archived:
            return self.entry(entry_id)
        return self._change(entry_id, archived=archived, updated_at=now)

    def versions(self, entry_id: int) -> list[dict[str, Any]]:
        self.entry(entry_id)
        return [dict(version) for version in self.versions_by_id[entry_id]]

    def search(self, q: str | None, filters: Filters, offset: int, limit: int) -> SearchPage[Entry]:
        live = [
            entry
            for entry in self.entries_by_id.values()
            if not entry.archived
            and (filters.kind is None or entry.kind.value == filters.kind)
            and (filters.tag is None or filters.tag in entry.tags)
        ]
        terms: list[str] = []
        if q and q.strip():
            terms = bounded_terms(self.segmenter.query_terms(q))
            scored = [(relevance(terms, self._terms(entry)), entry) for entry in live]
            hits = [(score, entry) for score, entry in scored if score > 0]
        else:
            hits = [(0, entry) for entry in live]
        hits.sort(key=lambda hit: (-hit[0], -hit[1].useful_votes, -int(hit[1].entry_id or 0)))
        page = hits[offset : offset + limit]
        items = [
            FoundEntry(
                dataclasses.replace(entry),
                score,
                {name: self.segmenter.highlight(getattr(entry, name), terms) for name in HIGHLIGHTED_FIELDS},
            )
            for score, entry in page
        ]
        return SearchPage(terms, items, offset, limit, has_more=len(hits) > offset + limit)

    def entry_candidates(self, title: str, limit: int) -> list[tuple[Entry, frozenset[str]]]:
        found = self.search(title, Filters(), 0, limit).items
        return [(item.entry, frozenset(self._terms(item.entry))) for item in found]

    def onboarding_candidates(self, per_tag: int) -> list[Entry]:
        return [self.entry(entry_id) for entry_id in sorted(self.entries_by_id)]

    # --- alarms

    def alarm(self, alarm_id: int, lock: bool = False) -> Alarm:
        if alarm_id > MAX_ID or alarm_id not in self.alarms_by_id:
            raise AlarmNotFound(f"no alarm {alarm_id}", {"alarm_id": alarm_id})
        stored = self.alarms_by_id[alarm_id]
        return dataclasses.replace(stored, answers=list(stored.answers))

    def add_alarm(self, alarm: Alarm) -> Alarm:
        alarm_id = len(self.alarms_by_id) + 1
        self.alarms_by_id[alarm_id] = dataclasses.replace(alarm, alarm_id=alarm_id, answers=[])
        return self.alarm(alarm_id)

    def add_answer(self, alarm: Alarm, answer: Answer) -> Answer:
        stored = dataclasses.replace(answer, answer_id=self._next_answer_id, alarm_id=alarm.alarm_id)
        self._next_answer_id += 1
        current = self.alarms_by_id[int(alarm.alarm_id or 0)]
        current.answers.append(stored)
        current.status = alarm.status
        return stored

    def save_resolution(
        self, alarm: Alarm, published: Entry | None, now: datetime
    ) -> tuple[Alarm, Entry | None]:
        current = self.alarms_by_id[int(alarm.alarm_id or 0)]
        entry = None
        if published is not None:
            accepted = next((a for a in current.answers if a.answer_id == alarm.accepted_answer_id), None)
            author_name = accepted.author_name if accepted else str(published.author_id)
            entry = self.add_entry(dataclasses.replace(published, author_name=author_name), now)
        current.status = alarm.status
        current.accepted_answer_id = alarm.accepted_answer_id
        current.resolved_at = alarm.resolved_at
        current.entry_id = entry.entry_id if entry else None
        return self.alarm(int(alarm.alarm_id or 0)), entry

    def alarms(self, scope: AlarmScope, status: str | None = None) -> list[Alarm]:
        found = [
            self.alarm(alarm_id)
            for alarm_id, alarm in self.alarms_by_id.items()
            if (scope.raised_by is None or alarm.raiser_id == scope.raised_by)
            and (scope.team is None or alarm.team == scope.team)
            and (
                status is None
                or (status == "unresolved" and alarm.status is not AlarmStatus.RESOLVED)
                or alarm.status.value == status
            )
        ]
        return sorted(found, key=lambda alarm: (alarm.raised_at, alarm.alarm_id or 0), reverse=True)

    def alarm_candidates(
        self, alarm: Alarm, title_terms: list[str], limit: int
    ) -> list[tuple[Alarm, frozenset[str]]]:
        wanted = set(bounded_terms(title_terms))
        found = []
        for alarm_id in sorted(self.alarms_by_id, reverse=True):
            other = self.alarms_by_id[alarm_id]
            terms = frozenset(self.segmenter.index_terms(f"{other.title}\n{other.problem}").split())
            if alarm_id != alarm.alarm_id and other.team == alarm.team and wanted & terms:
                found.append((dataclasses.replace(other, answers=[]), terms))
        return found[:limit]

    # --- helpers

    def _change(self, entry_id: int, **changes: Any) -> Entry:
        self.entries_by_id[entry_id] = dataclasses.replace(self.entry(entry_id), **changes)
        return self.entry(entry_id)

    def _terms(self, entry: Entry) -> list[str]:
        return self.segmenter.index_terms(entry.searchable_text()).split()

    @staticmethod
    def _version(entry: Entry, editor_id: int, now: datetime) -> dict[str, Any]:
        return {
            "version": entry.version,
            "title": entry.title,
            "problem": entry.problem,
            "solution": entry.solution,
            "tags": list(entry.tags),
            "edited_by": editor_id,
            "edited_at": now,
        }
