"""The full-text index of entries and alarms: what it holds and how queries are built (no SQL
here: :mod:`knowledge.store_search` reads and writes the index).

What is indexed: an entry's segmented text (``terms``, from :meth:`Segmenter.index_terms`)
and its *facets* (``facets``: one opaque token per kind and per tag, see :func:`facet_token`),
so a search filtered by kind or tag is a single index query, not a filter after it.

- PostgreSQL: ``terms_tsv``, a generated ``to_tsvector('simple', terms || ' ' || facets)``
  column with a GIN index (on ``alarms``: over ``terms``). The database keeps it in step.
- SQLite: FTS5 tables ``entry_search(terms, facets)`` and ``alarm_search(terms)``
  (``detail=none``: only "which documents have the term" is needed), kept in step by
  :class:`knowledge.store_search.SearchIndex` on every write. An entry's FTS5 rowid is its *search key*
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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Generic, TypeVar

# Longer queries keep their first terms: the levels are k-of-n term combinations.
MAX_QUERY_TERMS = 6
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


EntryT = TypeVar("EntryT")
OtherT = TypeVar("OtherT")


@dataclass(frozen=True)
class FoundEntry(Generic[EntryT]):
    """An entry on a result page, how many query terms it has and its highlighted snippets."""

    entry: EntryT
    relevance: int
    highlights: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchPage(Generic[EntryT]):
    terms: list[str]
    items: list[FoundEntry[EntryT]]
    offset: int
    limit: int
    has_more: bool

    def map(self, convert: Callable[[EntryT], OtherT]) -> SearchPage[OtherT]:
        """The same page with each entry converted (a table row to a domain entry)."""
        items = [FoundEntry(convert(item.entry), item.relevance, item.highlights) for item in self.items]
        return SearchPage(self.terms, items, self.offset, self.limit, self.has_more)


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


def term_groups(terms: Sequence[str], level: int) -> list[tuple[str, ...]]:
    """The term combinations of which an entry of relevance >= ``level`` has at least one."""
    return list(combinations(terms, level))


def pg_tsquery(groups: list[tuple[str, ...]], facets: list[str]) -> str:
    """``((a & b) | (a & c)) & f1``: a PostgreSQL tsquery (terms are letters and digits only)."""
    parts = []
    if groups:
        parts.append("(" + " | ".join("(" + " & ".join(group) + ")" for group in groups) + ")")
    parts.extend(facets)
    return " & ".join(parts)


def fts5_query(groups: list[tuple[str, ...]], facets: list[str]) -> str:
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
