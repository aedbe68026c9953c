"""The full-text index of entries and alarms, in the service's own database.

What is indexed: an entry's segmented text (``terms``, from :meth:`Segmenter.index_terms`)
and its *facets* (``facets``: one opaque token per kind and per tag, see :func:`facet_token`),
so a search filtered by kind or tag is a single index query, not a filter after it.

- PostgreSQL: ``terms_tsv``, a generated ``to_tsvector('simple', terms || ' ' || facets)``
  column with a GIN index (on ``alarms``: over ``terms``). The database keeps it in step.
- SQLite: FTS5 tables ``entry_search(terms, facets)`` and ``alarm_search(terms)``
  (``detail=none``: only "which documents have the term" is needed), kept in step by
  :class:`SearchIndex` on every write. An entry's FTS5 rowid is its *search key*
  ``useful_votes << 32 | id`` (:func:`search_key`), so FTS5 yields matches in usefulness
  order and stops after one page.

Ranking (the contract in :mod:`knowledge.segment`): relevance is the number of distinct query
terms an entry has; useful votes break ties, then the newer entry. Nothing counts all matches:

1. Ask for the most useful page of entries having any query term (level 1). Fewer than a page
   means that is every match: rank those by relevance and stop.
2. Otherwise read the order level by level — entries having all n terms, then n-1, … — each
   level one index query ordered by usefulness with a LIMIT, until the page is full.

A level query costs about the same at 10k and 100k entries: SQLite walks FTS5 matches in
rowid order and stops at the LIMIT; PostgreSQL walks the most useful entries (an index in
usefulness order) checking the tsvector, and only if too few of those match — rare terms —
asks the GIN index, whose posting lists are then short.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from knowledge.domain import SearchRow, rank, relevance
from knowledge.models import Entry
from knowledge.segment import Segmenter

# Longer queries keep their first terms: the levels are k-of-n term combinations.
MAX_QUERY_TERMS = 6
# PostgreSQL: how many of the most useful entries a level looks at before asking the GIN index
WALK_BUDGET = 1000
KEY_SHIFT = 32
ID_MASK = (1 << KEY_SHIFT) - 1
HIGHLIGHTED_FIELDS = ("title", "problem", "solution")

# Objects created by the migration outside the SQLAlchemy models (for Alembic to leave alone).
INDEX_TABLE_PREFIXES = ("entry_search", "alarm_search")
INDEX_COLUMNS = ("terms_tsv",)


@dataclass(frozen=True)
class Filters:
    """Which entries a search or listing covers: one kind and/or one tag (normalised)."""

    kind: str | None = None
    tag: str | None = None

    def tokens(self) -> list[str]:
        wanted = [("kind", self.kind), ("tag", self.tag)]
        return [facet_token(name, value) for name, value in wanted if value]


@dataclass(frozen=True)
class Hit:
    """One ranked search result: the entry and how many query terms it has."""

    entry_id: int
    relevance: int


@dataclass(frozen=True)
class FoundEntry:
    """An entry on a result page, how many query terms it has and its highlighted snippets."""

    entry: Entry
    relevance: int
    highlights: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchPage:
    terms: list[str]
    items: list[FoundEntry]
    offset: int
    limit: int
    has_more: bool


def facet_token(name: str, value: str) -> str:
    """One index token for ``name=value`` (a kind, a tag): letters and digits only, so one
    token for both backends, and no word anybody types."""
    return "f" + hashlib.blake2b(f"{name}={value}".encode(), digest_size=10).hexdigest()


def entry_facets(kind: str, tags: Iterable[str]) -> str:
    """The ``facets`` column of an entry of ``kind`` with ``tags``."""
    return " ".join([facet_token("kind", kind), *(facet_token("tag", tag) for tag in tags)])


def search_key(entry_id: int, useful_votes: int) -> int:
    """An entry's SQLite FTS5 rowid: FTS5 order (rowid descending) is usefulness order."""
    return (useful_votes << KEY_SHIFT) | entry_id


def bounded_terms(terms: Iterable[str]) -> list[str]:
    """The distinct query terms, in typed order, at most :data:`MAX_QUERY_TERMS`."""
    return list(dict.fromkeys(terms))[:MAX_QUERY_TERMS]


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
        most_useful = self._matching(_groups(terms, 1), facets, wanted)
        if len(terms) == 1:
            return [Hit(entry_id, 1) for entry_id in most_useful[offset:]]
        if len(most_useful) < wanted:
            # that is every match: rank them here instead of asking the index level by level
            return self._ranked(most_useful, terms)[offset:]
        found: dict[int, int] = {}
        for level in range(len(terms), 0, -1):
            # A level's query also returns the higher levels, all of which are already found.
            level_ids = most_useful if level == 1 else self._matching(_groups(terms, level), facets, wanted)
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
            params["q"] = _tsquery(_groups(terms, 1), [])
        else:
            sql = (
                "SELECT s.rowid FROM alarm_search s CROSS JOIN alarms a "
                "WHERE s.alarm_search MATCH :q AND a.id = s.rowid AND a.team = :team "
                "AND a.id <> :exclude ORDER BY s.rowid DESC LIMIT :limit"
            )
            params["q"] = _fts5_query(_groups(terms, 1), [])
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
            params.update(q=_fts5_query(groups, facets), mask=ID_MASK)
            rows = self.session.execute(
                text(
                    "SELECT s.rowid FROM entry_search s CROSS JOIN entries e "
                    "WHERE s.entry_search MATCH :q AND e.id = (s.rowid & :mask) AND e.archived = :no "
                    "ORDER BY s.rowid DESC LIMIT :limit"
                ),
                params,
            )
            return [row[0] & ID_MASK for row in rows]
        params.update(q=_tsquery(groups, facets), budget=max(WALK_BUDGET, 2 * limit))
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


def _groups(terms: Sequence[str], level: int) -> list[tuple[str, ...]]:
    """The term combinations of which an entry of relevance >= ``level`` has at least one."""
    return list(combinations(terms, level))


def _tsquery(groups: list[tuple[str, ...]], facets: list[str]) -> str:
    """``((a & b) | (a & c)) & f1``: a PostgreSQL tsquery (terms are letters and digits only)."""
    parts = []
    if groups:
        parts.append("(" + " | ".join("(" + " & ".join(group) + ")" for group in groups) + ")")
    parts.extend(facets)
    return " & ".join(parts)


def _fts5_query(groups: list[tuple[str, ...]], facets: list[str]) -> str:
    """``(("a" AND "b") OR ("a" AND "c")) AND "f1"``: an FTS5 query."""
    parts = []
    if groups:
        parts.append(
            "("
            + " OR ".join("(" + " AND ".join(f'"{term}"' for term in group) + ")" for group in groups)
            + ")"
        )
    parts.extend(f'"{token}"' for token in facets)
    return " AND ".join(parts)


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
) -> SearchPage:
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
