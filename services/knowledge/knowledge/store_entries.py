"""Entries in the database: versions, tags, votes, the search index kept in step (a mixin of
:class:`knowledge.store.Store`). Takes and gives :class:`knowledge.domain.Entry` objects."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_common.db import UnitOfWork
from knowledge.constants import MAX_ID, EntryKind
from knowledge.domain import Entry
from knowledge.exceptions import AlreadyVoted, EntryNotFound
from knowledge.models import Entry as EntryRow
from knowledge.models import EntryRead, EntryTag, EntryVersion, EntryVote
from knowledge.search import Filters, SearchPage, entry_facets
from knowledge.segment import Segmenter
from knowledge.store_search import SearchIndex, find_entries


class EntriesStore:
    uow: UnitOfWork
    session: Session
    segmenter: Segmenter
    index: SearchIndex

    def entry(self, entry_id: int, lock: bool = False) -> Entry:
        """The entry ``entry_id`` (``lock``: for update, until the transaction ends); EntryNotFound."""
        return entry_of(self._entry_row(entry_id, lock))

    def add_entry(self, entry: Entry, now: datetime) -> Entry:
        """Store a new entry as version 1 (credited to ``entry.author_name``) and index it."""
        row = EntryRow(
            kind=entry.kind.value,
            author_id=entry.author_id,
            author_name=entry.author_name,
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
        return entry_of(row)

    def revise_entry(self, revised: Entry, editor_id: int, now: datetime) -> Entry:
        """Make ``revised`` the entry's next version, the old ones kept, and re-index it."""
        row = self._entry_row(int(revised.entry_id or 0))
        self._write_version(row, revised, now)
        self._replace_tags(row, revised.tags)
        self.session.add(self._version_row(row, editor_id, now))
        self.session.flush()
        if not row.archived:
            self.index.put_entry(row, previous_votes=row.useful_votes)
        return entry_of(row)

    def count_view(self, entry_id: int) -> Entry:
        row = self._entry_row(entry_id)
        row.views = EntryRow.views + 1
        self.session.flush()
        self.session.refresh(row, ["views"])
        return entry_of(row)

    def record_read(self, entry_id: int, reader_id: int, event: dict[str, Any]) -> None:
        """Emit ``entry_read`` (``event``: its data) and keep its row of ``entry_reads`` under the
        event's id, in this transaction: the row and the event are one fact."""
        envelope = self.uow.emit("entry_read", event)
        self.session.add(
            EntryRead(
                event_id=envelope["event_id"],
                entry_id=entry_id,
                reader_id=reader_id,
                read_at=datetime.fromisoformat(envelope["occurred_at"]),
            )
        )

    def vote(self, entry_id: int, voter_id: int, now: datetime) -> Entry:
        """One useful vote of ``voter_id``; AlreadyVoted for a second one."""
        row = self._entry_row(entry_id)
        already = self.session.get(EntryVote, (row.id, voter_id))
        if already is not None:
            raise AlreadyVoted("you have already found this entry useful", {"entry_id": row.id})
        self.session.add(EntryVote(entry_id=row.id, user_id=voter_id, voted_at=now))
        previous_votes = row.useful_votes
        row.useful_votes = EntryRow.useful_votes + 1
        try:
            self.session.flush()
        except IntegrityError as exc:  # the same vote, at the same moment, from another worker
            raise AlreadyVoted("you have already found this entry useful", {"entry_id": row.id}) from exc
        self.session.refresh(row, ["useful_votes"])
        if not row.archived:
            self.index.put_entry(row, previous_votes=previous_votes)
        return entry_of(row)

    def set_pinned(self, entry_id: int, pinned: bool) -> Entry:
        row = self._entry_row(entry_id, lock=True)
        row.pinned = pinned
        self.session.flush()
        return entry_of(row)

    def set_archived(self, entry_id: int, archived: bool, now: datetime) -> Entry:
        row = self._entry_row(entry_id, lock=True)
        if row.archived == archived:
            return entry_of(row)
        row.archived = archived
        row.updated_at = now
        self.session.flush()
        if archived:
            self.index.drop_entry(row.id, row.useful_votes)
        else:
            self.index.put_entry(row)
        return entry_of(row)

    def versions(self, entry_id: int) -> list[dict[str, Any]]:
        """Every version of an entry, the first one first; EntryNotFound."""
        self._entry_row(entry_id)
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

    def search(self, q: str | None, filters: Filters, offset: int, limit: int) -> SearchPage[Entry]:
        """One ranked page of live entries for ``q`` (see :mod:`knowledge.store_search`)."""
        page = find_entries(self.session, self.segmenter, q, filters, offset, limit)
        return page.map(entry_of)

    def entry_candidates(self, title: str, limit: int) -> list[tuple[Entry, frozenset[str]]]:
        """The entries found by ``title`` (at most ``limit``, best first), each with its index terms."""
        found = find_entries(self.session, self.segmenter, title, Filters(), 0, limit).items
        return [(entry_of(item.entry), frozenset(item.entry.terms.split())) for item in found]

    def onboarding_candidates(self, per_tag: int) -> list[Entry]:
        """Every pinned live entry and the best few of each tag: enough rows for
        :func:`knowledge.domain.onboarding` to pick ``per_tag`` of each tag, in id order."""
        pinned = list(
            self.session.scalars(select(EntryRow).where(EntryRow.pinned == True, EntryRow.archived == False))  # noqa: E712
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
                    order_by=(EntryRow.useful_votes.desc(), EntryRow.views.desc(), EntryRow.id),
                )
                .label("place"),
            )
            .join(EntryRow, and_(EntryRow.id == EntryTag.entry_id, EntryRow.archived == False))  # noqa: E712
            .subquery()
        )
        best_ids = select(ranked.c.entry_id).where(ranked.c.place <= best_of_tag)
        best = self.session.scalars(select(EntryRow).where(EntryRow.id.in_(best_ids)))
        rows = {row.id: row for row in [*pinned, *best]}
        return [entry_of(row) for row in sorted(rows.values(), key=lambda row: row.id)]

    # --- helpers

    def votes_since(self, since: datetime, offset: int, limit: int) -> list[tuple[Entry, int, datetime]]:
        """Useful votes cast from ``since`` on, oldest first: (the entry, the voter, when)."""
        rows = self.session.execute(
            select(EntryRow, EntryVote.user_id, EntryVote.voted_at)
            .join(EntryVote, EntryVote.entry_id == EntryRow.id)
            .where(EntryVote.voted_at >= since)
            .order_by(EntryVote.voted_at, EntryVote.entry_id, EntryVote.user_id)
            .offset(offset)
            .limit(limit)
        )
        return [(entry_of(row), voter_id, voted_at) for row, voter_id, voted_at in rows]

    def reads_since(self, since: datetime, offset: int, limit: int) -> list[tuple[Entry, int, datetime, str]]:
        """Reads from ``since`` on, oldest first: (the entry, the reader, when, the event's id)."""
        rows = self.session.execute(
            select(EntryRow, EntryRead.reader_id, EntryRead.read_at, EntryRead.event_id)
            .join(EntryRead, EntryRead.entry_id == EntryRow.id)
            .where(EntryRead.read_at >= since)
            .order_by(EntryRead.read_at, EntryRead.event_id)
            .offset(offset)
            .limit(limit)
        )
        return [(entry_of(row), reader, at, event_id) for row, reader, at, event_id in rows]

    def entries_since(self, since: datetime, offset: int, limit: int) -> list[Entry]:
        """Entries written from ``since`` on, archived ones too, oldest first."""
        rows = self.session.scalars(
            select(EntryRow)
            .where(EntryRow.created_at >= since)
            .order_by(EntryRow.created_at, EntryRow.id)
            .offset(offset)
            .limit(limit)
        )
        return [entry_of(row) for row in rows]

    def _entry_row(self, entry_id: int, lock: bool = False) -> EntryRow:
        query = select(EntryRow).where(EntryRow.id == entry_id)
        if lock:
            query = query.with_for_update()
        row = self.session.scalar(query) if entry_id <= MAX_ID else None
        if row is None:
            raise EntryNotFound(f"no knowledge entry {entry_id}", {"entry_id": entry_id})
        return row

    def _write_version(self, row: EntryRow, entry: Entry, now: datetime) -> None:
        row.title = entry.title
        row.problem = entry.problem
        row.solution = entry.solution
        row.tags = json.dumps(list(entry.tags), ensure_ascii=False)
        row.terms = self.segmenter.index_terms(entry.searchable_text())
        row.facets = entry_facets(entry.kind.value, entry.tags)
        row.version = (row.version or 0) + 1
        row.updated_at = now

    def _version_row(self, row: EntryRow, editor_id: int, now: datetime) -> EntryVersion:
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

    def _replace_tags(self, row: EntryRow, tags: tuple[str, ...]) -> None:
        current = set(self.session.scalars(select(EntryTag.tag).where(EntryTag.entry_id == row.id)))
        for tag in current - set(tags):
            self.session.delete(self.session.get(EntryTag, (row.id, tag)))
        for tag in set(tags) - current:
            self.session.add(EntryTag(entry_id=row.id, tag=tag))


def entry_of(row: EntryRow) -> Entry:
    return Entry(
        kind=EntryKind(row.kind),
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
        author_name=row.author_name,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
