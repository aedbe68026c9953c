"""Search ranking rules: the match rule's relevance, result order, and which entries or past
alarms a new alarm resembles (BM25-lite). Plain Python, like :mod:`knowledge.domain`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, TypeVar

from knowledge.domain import EntityId


def relevance(query_terms: Iterable[str], entry_terms: Iterable[str] | str) -> int:
    """How many distinct query terms the entry has: the match rule's relevance.

    ``entry_terms`` is a set of terms or the stored space-joined index column.
    An entry matches a query when this is at least 1 (OR over query terms).
    """
    if isinstance(entry_terms, str):
        entry_terms = entry_terms.split()
    return len(set(query_terms) & set(entry_terms))


class Rankable(Protocol):
    @property
    def relevance(self) -> float: ...

    @property
    def useful_votes(self) -> int: ...


RankableT = TypeVar("RankableT", bound=Rankable)


@dataclass(frozen=True)
class SearchRow:
    """One search hit; any object with ``relevance`` and ``useful_votes`` will do."""

    entry_id: EntityId
    relevance: float
    useful_votes: int = 0


def rank(rows: Iterable[RankableT]) -> list[RankableT]:
    """Rows ordered by relevance (higher first), then useful votes; else input order.

    Relevance must grow with the match: matched-term count, ``ts_rank``, or FTS5's
    ``-bm25()`` (bm25 itself is lower-is-better).
    """
    return sorted(rows, key=lambda row: (-row.relevance, -row.useful_votes))


class Candidate(NamedTuple):
    """Something a new alarm may resemble: an entry or a past alarm."""

    candidate_id: EntityId
    terms: frozenset[str] | set[str]
    usefulness: int = 0


@dataclass(frozen=True)
class Suggestion:
    candidate_id: EntityId
    score: float
    matched_terms: tuple[str, ...]
    usefulness: int


_BM25_K1 = 1.2
_BM25_B = 0.75


def similar(
    query_terms: Iterable[str],
    candidates: Sequence[Candidate | tuple[EntityId, Iterable[str], int]],
    limit: int = 5,
) -> list[Suggestion]:
    """The ``limit`` candidates most like the query, best first; none without overlap.

    Score: BM25 with each term counted once ("BM25-lite"): rare shared terms weigh
    more than common ones (嫌贵 beats 客户), long candidates are damped. Equal scores
    go to the more useful candidate, then to the earlier one.
    """
    wanted = set(query_terms)
    pool = [Candidate(cid, frozenset(terms), usefulness) for cid, terms, usefulness in candidates]
    if not wanted or not pool or limit <= 0:
        return []
    average_length = sum(len(c.terms) for c in pool) / len(pool) or 1.0
    containing = {term: sum(term in c.terms for c in pool) for term in wanted}
    idf = {term: math.log(1 + (len(pool) - n + 0.5) / (n + 0.5)) for term, n in containing.items()}
    ordered_query = list(dict.fromkeys(query_terms))
    suggestions = []
    for candidate in pool:
        matched = tuple(term for term in ordered_query if term in candidate.terms)
        if not matched:
            continue
        damping = 1 - _BM25_B + _BM25_B * len(candidate.terms) / average_length
        weight = (_BM25_K1 + 1) / (1 + _BM25_K1 * damping)
        score = sum(idf[term] for term in matched) * weight
        suggestions.append(Suggestion(candidate.candidate_id, round(score, 6), matched, candidate.usefulness))
    suggestions.sort(key=lambda s: (-s.score, -s.usefulness))
    return suggestions[:limit]
