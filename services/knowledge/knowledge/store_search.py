"""The full-text index in the database (see :mod:`knowledge.search` for what it holds and how
it ranks): keeping it in step on SQLite, reading ranked pages on either backend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from knowledge.domain_search import SearchRow, rank, relevance
from knowledge.models import Entry
from knowledge.search import (
    HIGHLIGHTED_FIELDS,
    ID_MASK,
    KEY_SHIFT,
    Filters,
    FoundEntry,
    Hit,
    SearchPage,
    bounded_terms,
    fts5_query,
    pg_tsquery,
    search_key,
    term_groups,
)
from knowledge.segment import Segmenter

# PostgreSQL: how many of the most useful entries a level looks at before asking the GIN index
WALK_BUDGET = 1000


class SearchIndex:
    """Reads and writes the full-text index through one session (either backend)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"

    # --- keeping the index in step (SQLite; PostgreSQL's generated column follows by itself)

    def put_entry(self, entry: Entry, previous_votes: int | None = None) -> None:
        """Index ``entry`` as it is now (flushed); ``previous_votes``: its votes when it was
        indexed last, None for a new or unarchived entry."""
        if self.postgres:
            return
        if previous_votes is not None:
            self.drop_entry(entry.id, previous_votes)
        self.session.execute(
            text("INSERT INTO entry_search (rowid, terms, facets) VALUES (:key, :terms, :facets)"),
            {"key": search_key(entry.id, entry.useful_votes), "terms": entry.terms, "facets": entry.facets},
        )

    def drop_entry(self, entry_id: int, useful_votes: int) -> None:
        """Take an entry out of the index (archived, or about to be re-indexed)."""
        if self.postgres:
            return
        self.session.execute(
            text("DELETE FROM entry_search WHERE rowid = :key"), {"key": search_key(entry_id, useful_votes)}
        )

    def put_alarm(self, alarm_id: int, terms: str) -> None:
        if self.postgres:
            return
        self.session.execute(
            text("INSERT INTO alarm_search (rowid, terms) VALUES (:id, :terms)"),
            {"id": alarm_id, "terms": terms},
        )

    # --- reading

    def search(self, terms: Sequence[str], filters: Filters, offset: int, limit: int) -> list[Hit]:
        """Ranked hits ``offset`` … ``offset + limit`` (one more if there are more, for paging)."""
        terms = bounded_terms(terms)
        if not terms:
            return []
        wanted = offset + limit + 1
        facets = filters.tokens()
        most_useful = self._matching(term_groups(terms, 1), facets, wanted)
        if len(terms) == 1:
            return [Hit(entry_id, 1) for entry_id in most_useful[offset:]]
        if len(most_useful) < wanted:
            # that is every match: rank them here instead of asking the index level by level
            return self._ranked(most_useful, terms)[offset:]
        found: dict[int, int] = {}
        for level in range(len(terms), 0, -1):
            # A level's query also returns the higher levels, all of which are already found.
            level_ids = (
                most_useful if level == 1 else self._matching(term_groups(terms, level), facets, wanted)
            )
            for entry_id in level_ids:
                found.setdefault(entry_id, level)
                if len(found) == wanted:
                    break
            if len(found) >= wanted:
                break
        return [Hit(entry_id, level) for entry_id, level in found.items()][offset:]

    def listing(self, filters: Filters, offset: int, limit: int) -> list[int]:
        """Entry ids without a query, the most useful first; one more than ``limit`` if any."""
        facets = filters.tokens()
        if facets:
            return self._matching([], facets, offset + limit + 1)[offset:]
        rows = self.session.execute(
            text(
                "SELECT e.id FROM entries e WHERE e.archived = :no "
                "ORDER BY e.useful_votes DESC, e.id DESC LIMIT :limit OFFSET :offset"
            ),
            {"no": False, "limit": limit + 1, "offset": offset},
        )
        return [row[0] for row in rows]

    def alarm_candidates(
        self, terms: Sequence[str], team: str | None, exclude_id: int | None, limit: int
    ) -> list[int]:
        """Ids of the team's alarms sharing a query term, newest first."""
        terms = bounded_terms(terms)
        if not terms:
            return []
        params: dict[str, Any] = {"team": team, "exclude": exclude_id or 0, "limit": limit}
        if self.postgres:
            sql = (
                "SELECT a.id FROM alarms a WHERE a.terms_tsv @@ to_tsquery('simple', :q) "
                "AND a.team = :team AND a.id <> :exclude ORDER BY a.id DESC LIMIT :limit"
            )
            params["q"] = pg_tsquery(term_groups(terms, 1), [])
        else:
            sql = (
                "SELECT s.rowid FROM alarm_search s CROSS JOIN alarms a "
                "WHERE s.alarm_search MATCH :q AND a.id = s.rowid AND a.team = :team "
                "AND a.id <> :exclude ORDER BY s.rowid DESC LIMIT :limit"
            )
            params["q"] = fts5_query(term_groups(terms, 1), [])
        return [row[0] for row in self.session.execute(text(sql), params)]

    def _ranked(self, entry_ids: list[int], terms: Sequence[str]) -> list[Hit]:
        """``entry_ids`` (in usefulness order) by relevance; usefulness order kept for ties."""
        found = self.session.execute(select(Entry.id, Entry.terms).where(Entry.id.in_(entry_ids)))
        stored: dict[int, str] = {entry_id: entry_terms for entry_id, entry_terms in found}
        rows = [SearchRow(entry_id, relevance(terms, stored[entry_id])) for entry_id in entry_ids]
        return [Hit(int(row.entry_id), int(row.relevance)) for row in rank(rows)]

    def _matching(self, groups: list[tuple[str, ...]], facets: list[str], limit: int) -> list[int]:
        """The ``limit`` most useful live entries having all terms of one of ``groups`` (any
        entry if there are none) and every facet token."""
        params: dict[str, Any] = {"limit": limit, "no": False}
        if not self.postgres:
            # CROSS JOIN keeps FTS5 the outer loop: its rowid order serves the ORDER BY and
            # the scan stops at the LIMIT.
            params.update(q=fts5_query(groups, facets), mask=ID_MASK)
            rows = self.session.execute(
                text(
                    "SELECT s.rowid FROM entry_search s CROSS JOIN entries e "
                    "WHERE s.entry_search MATCH :q AND e.id = (s.rowid & :mask) AND e.archived = :no "
                    "ORDER BY s.rowid DESC LIMIT :limit"
                ),
                params,
            )
            return [row[0] & ID_MASK for row in rows]
        params.update(q=pg_tsquery(groups, facets), budget=max(WALK_BUDGET, 2 * limit))
        # The most useful entries first: enough for common terms, and cheap.
        walked = self.session.execute(
            text(
                "SELECT e.id FROM (SELECT e.id, e.useful_votes, e.terms_tsv FROM entries e "
                "WHERE e.archived = :no ORDER BY e.useful_votes DESC, e.id DESC LIMIT :budget) AS e "
                "WHERE e.terms_tsv @@ to_tsquery('simple', :q) "
                "ORDER BY e.useful_votes DESC, e.id DESC LIMIT :limit"
            ),
            params,
        ).all()
        if len(walked) == limit:
            return [row[0] for row in walked]
        # Rare terms: short posting lists. "+ 0" keeps the planner off the usefulness index,
        # which it would walk again when it takes rare or correlated terms for common ones.
        rows = self.session.execute(
            text(
                "SELECT e.id FROM entries e WHERE e.archived = :no "
                "AND e.terms_tsv @@ to_tsquery('simple', :q) "
                "ORDER BY e.useful_votes + 0 DESC, e.id DESC LIMIT :limit"
            ),
            params,
        )
        return [row[0] for row in rows]


def rebuild_sqlite_index(connection: Connection) -> None:
    """Fill the SQLite FTS5 tables from ``entries`` and ``alarms``, a statement each (after a
    bulk load, or to repair them)."""
    connection.execute(text("DELETE FROM entry_search"))
    connection.execute(
        text(
            "INSERT INTO entry_search (rowid, terms, facets) "
            "SELECT (useful_votes << :shift) | id, terms, facets FROM entries WHERE archived = :no"
        ),
        {"shift": KEY_SHIFT, "no": False},
    )
    connection.execute(text("DELETE FROM alarm_search"))
    connection.execute(text("INSERT INTO alarm_search (rowid, terms) SELECT id, terms FROM alarms"))
    # one b-tree per table instead of the many segments a bulk insert leaves
    connection.execute(text("INSERT INTO entry_search (entry_search) VALUES ('optimize')"))
    connection.execute(text("INSERT INTO alarm_search (alarm_search) VALUES ('optimize')"))


def find_entries(
    session: Session, segmenter: Segmenter, q: str | None, filters: Filters, offset: int, limit: int
) -> SearchPage[Entry]:
    """One page of entries for ``q``, ranked, with highlights; without ``q``, of all entries,
    the most useful first. A query with no searchable term (only stopwords) finds nothing."""
    index = SearchIndex(session)
    terms: list[str] = []
    if q and q.strip():
        terms = bounded_terms(segmenter.query_terms(q))
        hits = index.search(terms, filters, offset, limit)
    else:
        hits = [Hit(entry_id, 0) for entry_id in index.listing(filters, offset, limit)]
    page = hits[:limit]
    rows = {
        entry.id: entry
        for entry in session.scalars(select(Entry).where(Entry.id.in_([h.entry_id for h in page])))
    }
    items = [
        FoundEntry(
            rows[hit.entry_id],
            hit.relevance,
            {
                name: segmenter.highlight(getattr(rows[hit.entry_id], name), terms)
                for name in HIGHLIGHTED_FIELDS
            },
        )
        for hit in page
    ]
    return SearchPage(terms, items, offset, limit, has_more=len(hits) > limit)
