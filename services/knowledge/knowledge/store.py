"""Between the tables and the domain: domain objects loaded from rows, written back to rows
(the search index kept in step), and the plain dicts the schemas dump."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from knowledge import domain
from knowledge.exceptions import AlarmNotFound, AlreadyVoted, EntryNotFound
from knowledge.models import Alarm, AlarmAnswer, Entry, EntryTag, EntryVersion, EntryVote
from knowledge.search import Filters, SearchIndex, entry_facets, find_entries
from knowledge.segment import Segmenter

# how many entries (found through the alarm's title) are compared with a new alarm
SIMILAR_CANDIDATES = 50
SIMILAR_SHOWN = 5
MAX_ID = 2**31 - 1  # ids are 32-bit integers: a larger one names nothing (and PostgreSQL refuses it)


class KnowledgeStore:
    """The knowledge tables through one worker's session."""

    def __init__(self, session: Session, segmenter: Segmenter) -> None:
        self.session = session
        self.segmenter = segmenter
        self.index = SearchIndex(session)

    # --- entries

    def entry(self, entry_id: int, lock: bool = False) -> Entry:
        query = select(Entry).where(Entry.id == entry_id)
        if lock:
            query = query.with_for_update()
        row = self.session.scalar(query) if entry_id <= MAX_ID else None
        if row is None:
            raise EntryNotFound(f"no knowledge entry {entry_id}", {"entry_id": entry_id})
        return row

    def add_entry(self, entry: domain.Entry, author_name: str, now: datetime) -> Entry:
        """Store a new entry as version 1 and index it."""
        row = Entry(
            kind=entry.kind.value,
            author_id=entry.author_id,
            author_name=author_name,
            team=entry.team,
            customer_id=entry.customer_id,
            industry=entry.industry,
            source_alarm_id=entry.source_alarm_id,
            version=0,
            views=0,
            useful_votes=0,
            pinned=False,
            archived=False,
            created_at=now,
        )
        self._write_version(row, entry, now)
        self.session.add(row)
        self.session.flush()
        self._replace_tags(row, entry.tags)
        self.session.add(self._version_row(row, int(entry.author_id), now))
        self.index.put_entry(row)
        return row

    def revise_entry(self, row: Entry, revised: domain.Entry, editor_id: int, now: datetime) -> Entry:
        """Make ``revised`` the entry's next version, the old ones kept, and re-index it."""
        self._write_version(row, revised, now)
        self._replace_tags(row, revised.tags)
        self.session.add(self._version_row(row, editor_id, now))
        self.session.flush()
        if not row.archived:
            self.index.put_entry(row, previous_votes=row.useful_votes)
        return row

    def count_view(self, row: Entry) -> None:
        row.views = Entry.views + 1
        self.session.flush()
        self.session.refresh(row, ["views"])

    def vote(self, row: Entry, voter_id: int, now: datetime) -> None:
        """One useful vote of ``voter_id``; AlreadyVoted for a second one."""
        already = self.session.get(EntryVote, (row.id, voter_id))
        if already is not None:
            raise AlreadyVoted("you have already found this entry useful", {"entry_id": row.id})
        self.session.add(EntryVote(entry_id=row.id, user_id=voter_id, voted_at=now))
        previous_votes = row.useful_votes
        row.useful_votes = Entry.useful_votes + 1
        try:
            self.session.flush()
        except IntegrityError as exc:  # the same vote, at the same moment, from another worker
            raise AlreadyVoted("you have already found this entry useful", {"entry_id": row.id}) from exc
        self.session.refresh(row, ["useful_votes"])
        if not row.archived:
            self.index.put_entry(row, previous_votes=previous_votes)

    def set_archived(self, row: Entry, archived: bool, now: datetime) -> None:
        if row.archived == archived:
            return
        row.archived = archived
        row.updated_at = now
        self.session.flush()
        if archived:
            self.index.drop_entry(row.id, row.useful_votes)
        else:
            self.index.put_entry(row)

    def versions(self, entry_id: int) -> list[dict[str, Any]]:
        rows = self.session.scalars(
            select(EntryVersion).where(EntryVersion.entry_id == entry_id).order_by(EntryVersion.version)
        )
        return [
            {
                "version": row.version,
                "title": row.title,
                "problem": row.problem,
                "solution": row.solution,
                "tags": json.loads(row.tags),
                "edited_by": row.edited_by,
                "edited_at": row.edited_at,
            }
            for row in rows
        ]

    def search(self, q: str | None, filters: Filters, offset: int, limit: int) -> dict[str, Any]:
        page = find_entries(self.session, self.segmenter, q, filters, offset, limit)
        return {
            "q": q,
            "terms": page.terms,
            "items": [
                {**entry_view(item.entry), "relevance": item.relevance, "highlights": item.highlights}
                for item in page.items
            ],
            "offset": page.offset,
            "limit": page.limit,
            "has_more": page.has_more,
        }

    def onboarding(self, per_tag: int) -> list[dict[str, Any]]:
        """Pinned entries, then the most useful per tag (:func:`domain.onboarding`), read from
        just enough rows: every pinned entry and the best few of each tag."""
        pinned = list(
            self.session.scalars(select(Entry).where(Entry.pinned == True, Entry.archived == False))  # noqa: E712
        )
        tag_count = self.session.scalar(select(func.count(func.distinct(EntryTag.tag)))) or 0
        # a tag's turn can skip at most the pinned entries and those listed for earlier tags
        best_of_tag = per_tag * (tag_count + 1) + len(pinned)
        ranked = (
            select(
                EntryTag.entry_id,
                func.row_number()
                .over(
                    partition_by=EntryTag.tag,
                    order_by=(Entry.useful_votes.desc(), Entry.views.desc(), Entry.id),
                )
                .label("place"),
            )
            .join(Entry, and_(Entry.id == EntryTag.entry_id, Entry.archived == False))  # noqa: E712
            .subquery()
        )
        best_ids = select(ranked.c.entry_id).where(ranked.c.place <= best_of_tag)
        best = self.session.scalars(select(Entry).where(Entry.id.in_(best_ids)))
        rows = {row.id: row for row in [*pinned, *best]}
        entries = {row.id: domain_entry(row) for row in sorted(rows.values(), key=lambda row: row.id)}
        row_of = {id(entry): rows[entry_id] for entry_id, entry in entries.items()}
        items = domain.onboarding(entries.values(), per_tag=per_tag)
        return [
            {"reason": item.reason, "tag": item.tag, "entry": entry_view(row_of[id(item.entry)])}
            for item in items
        ]

    def similar_entries(self, title: str, alarm_terms: list[str]) -> list[dict[str, Any]]:
        """The entries most like an alarm: found by its title, compared on its whole text."""
        found = find_entries(self.session, self.segmenter, title, Filters(), 0, SIMILAR_CANDIDATES).items
        candidates = [
            domain.Candidate(item.entry.id, frozenset(item.entry.terms.split()), item.entry.useful_votes)
            for item in found
        ]
        rows = {item.entry.id: item.entry for item in found}
        return [
            {
                "id": suggestion.candidate_id,
                "kind": rows[int(suggestion.candidate_id)].kind,
                "title": rows[int(suggestion.candidate_id)].title,
                "useful_votes": rows[int(suggestion.candidate_id)].useful_votes,
                "score": suggestion.score,
                "matched_terms": list(suggestion.matched_terms),
            }
            for suggestion in domain.similar(alarm_terms, candidates, limit=SIMILAR_SHOWN)
        ]

    # --- alarms

    def alarm(self, alarm_id: int, lock: bool = False) -> Alarm:
        query = select(Alarm).where(Alarm.id == alarm_id)
        if lock:
            query = query.with_for_update()
        row = self.session.scalar(query) if alarm_id <= MAX_ID else None
        if row is None:
            raise AlarmNotFound(f"no alarm {alarm_id}", {"alarm_id": alarm_id})
        return row

    def add_alarm(self, alarm: domain.Alarm, raised_by_name: str, customer_name: str | None) -> Alarm:
        row = Alarm(
            title=alarm.title,
            problem=alarm.problem,
            customer_id=alarm.customer_id,
            customer_name=customer_name,
            raised_by=alarm.raiser_id,
            raised_by_name=raised_by_name,
            team=alarm.team,
            status=alarm.status.value,
            terms=self.segmenter.index_terms(f"{alarm.title}\n{alarm.problem}"),
            raised_at=alarm.raised_at,
        )
        self.session.add(row)
        self.session.flush()
        self.index.put_alarm(row.id, row.terms)
        return row

    def add_answer(
        self, row: Alarm, alarm: domain.Alarm, answer: domain.Answer, author_name: str
    ) -> AlarmAnswer:
        answer_row = AlarmAnswer(
            alarm=row,
            author_id=answer.author_id,
            author_name=author_name,
            body=answer.body,
            by_manager=answer.by_manager,
            answered_at=answer.answered_at,
        )
        self.session.add(answer_row)
        row.status = alarm.status.value
        self.session.flush()
        return answer_row

    def save_resolution(
        self, row: Alarm, alarm: domain.Alarm, published: domain.Entry | None, now: datetime
    ) -> Entry | None:
        """Record that ``alarm`` is resolved and store the entry published from it, if any
        (credited by name to the accepted answer's author)."""
        entry_row = None
        if published is not None:
            accepted = self.session.get(AlarmAnswer, alarm.accepted_answer_id)
            author_name = accepted.author_name if accepted else str(published.author_id)
            entry_row = self.add_entry(published, author_name, now)
        row.status = alarm.status.value
        row.accepted_answer_id = int(alarm.accepted_answer_id) if alarm.accepted_answer_id else None
        row.resolved_at = alarm.resolved_at
        row.entry_id = entry_row.id if entry_row else None
        self.session.flush()
        return entry_row

    def alarms(self, scope: domain.AlarmScope, status: str | None = None) -> list[Alarm]:
        """The alarms in ``scope``, newest first; only unresolved ones for ``status="unresolved"``."""
        query = select(Alarm).order_by(Alarm.raised_at.desc(), Alarm.id.desc())
        if scope.raised_by is not None:
            query = query.where(Alarm.raised_by == scope.raised_by)
        if scope.team is not None:
            query = query.where(Alarm.team == scope.team)
        if status == "unresolved":
            query = query.where(Alarm.status != domain.AlarmStatus.RESOLVED.value)
        elif status:
            query = query.where(Alarm.status == status)
        return list(self.session.scalars(query))

    def answers_of(self, alarm_ids: list[int]) -> dict[int, list[AlarmAnswer]]:
        answers: dict[int, list[AlarmAnswer]] = {alarm_id: [] for alarm_id in alarm_ids}
        rows = self.session.scalars(
            select(AlarmAnswer).where(AlarmAnswer.alarm_id.in_(alarm_ids)).order_by(AlarmAnswer.id)
        )
        for row in rows:
            answers[row.alarm_id].append(row)
        return answers

    def similar_alarms(self, row: Alarm, alarm_terms: list[str]) -> list[dict[str, Any]]:
        """Past alarms of the team most like ``row``, resolved ones first among equals."""
        title_terms = self.segmenter.query_terms(row.title)
        ids = self.index.alarm_candidates(title_terms, row.team, row.id, limit=SIMILAR_CANDIDATES * 2)
        if not ids:
            return []
        rows = {alarm.id: alarm for alarm in self.session.scalars(select(Alarm).where(Alarm.id.in_(ids)))}
        candidates = [
            domain.Candidate(
                alarm_id,
                frozenset(rows[alarm_id].terms.split()),
                1 if rows[alarm_id].status == domain.AlarmStatus.RESOLVED.value else 0,
            )
            for alarm_id in ids
        ]
        return [
            {
                "id": suggestion.candidate_id,
                "title": rows[int(suggestion.candidate_id)].title,
                "status": rows[int(suggestion.candidate_id)].status,
                "entry_id": rows[int(suggestion.candidate_id)].entry_id,
                "raised_at": rows[int(suggestion.candidate_id)].raised_at,
                "score": suggestion.score,
                "matched_terms": list(suggestion.matched_terms),
            }
            for suggestion in domain.similar(alarm_terms, candidates, limit=SIMILAR_SHOWN)
        ]

    # --- helpers

    def _write_version(self, row: Entry, entry: domain.Entry, now: datetime) -> None:
        row.title = entry.title
        row.problem = entry.problem
        row.solution = entry.solution
        row.tags = json.dumps(list(entry.tags), ensure_ascii=False)
        row.terms = self.segmenter.index_terms(entry.searchable_text())
        row.facets = entry_facets(entry.kind.value, entry.tags)
        row.version = (row.version or 0) + 1
        row.updated_at = now

    def _version_row(self, row: Entry, editor_id: int, now: datetime) -> EntryVersion:
        return EntryVersion(
            entry_id=row.id,
            version=row.version,
            title=row.title,
            problem=row.problem,
            solution=row.solution,
            tags=row.tags,
            edited_by=editor_id,
            edited_at=now,
        )

    def _replace_tags(self, row: Entry, tags: tuple[str, ...]) -> None:
        current = set(self.session.scalars(select(EntryTag.tag).where(EntryTag.entry_id == row.id)))
        for tag in current - set(tags):
            self.session.delete(self.session.get(EntryTag, (row.id, tag)))
        for tag in set(tags) - current:
            self.session.add(EntryTag(entry_id=row.id, tag=tag))


# --- rows → domain objects and views


def domain_entry(row: Entry) -> domain.Entry:
    return domain.Entry(
        kind=domain.EntryKind(row.kind),
        title=row.title,
        problem=row.problem,
        solution=row.solution,
        author_id=row.author_id,
        team=row.team,
        tags=tuple(json.loads(row.tags)),
        entry_id=row.id,
        customer_id=row.customer_id,
        industry=row.industry,
        source_alarm_id=row.source_alarm_id,
        views=row.views,
        useful_votes=row.useful_votes,
        pinned=row.pinned,
        archived=row.archived,
    )


def domain_alarm(row: Alarm, answers: list[AlarmAnswer]) -> domain.Alarm:
    return domain.Alarm(
        raiser_id=row.raised_by,
        team=row.team,
        title=row.title,
        problem=row.problem,
        raised_at=row.raised_at,
        customer_id=row.customer_id,
        alarm_id=row.id,
        status=domain.AlarmStatus(row.status),
        answers=[
            domain.Answer(
                author_id=answer.author_id,
                body=answer.body,
                by_manager=answer.by_manager,
                answered_at=answer.answered_at,
                answer_id=answer.id,
            )
            for answer in answers
        ],
        accepted_answer_id=row.accepted_answer_id,
        resolved_at=row.resolved_at,
    )


def entry_view(row: Entry) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "title": row.title,
        "problem": row.problem,
        "solution": row.solution,
        "tags": json.loads(row.tags),
        "author_id": row.author_id,
        "author_name": row.author_name,
        "team": row.team,
        "customer_id": row.customer_id,
        "industry": row.industry,
        "alarm_id": row.source_alarm_id,
        "version": row.version,
        "views": row.views,
        "useful_votes": row.useful_votes,
        "pinned": row.pinned,
        "archived": row.archived,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def alarm_view(row: Alarm, answers: list[AlarmAnswer]) -> dict[str, Any]:
    alarm = domain_alarm(row, answers)
    return {
        "id": row.id,
        "title": row.title,
        "problem": row.problem,
        "customer_id": row.customer_id,
        "customer_name": row.customer_name,
        "raised_by": row.raised_by,
        "raised_by_name": row.raised_by_name,
        "team": row.team,
        "status": row.status,
        "manager_answered": alarm.manager_answered,
        "accepted_answer_id": row.accepted_answer_id,
        "entry_id": row.entry_id,
        "raised_at": row.raised_at,
        "resolved_at": row.resolved_at,
        "answer_count": len(answers),
    }


def answer_view(row: AlarmAnswer) -> dict[str, Any]:
    return {
        "id": row.id,
        "alarm_id": row.alarm_id,
        "author_id": row.author_id,
        "author_name": row.author_name,
        "body": row.body,
        "by_manager": row.by_manager,
        "answered_at": row.answered_at,
    }
