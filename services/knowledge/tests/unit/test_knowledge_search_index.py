"""The pieces of the search index that need no database: query building, facets, search keys."""

from __future__ import annotations

import sqlite3

import pytest

from knowledge.search import (
    ID_MASK,
    MAX_QUERY_TERMS,
    Filters,
    bounded_terms,
    entry_facets,
    facet_token,
    fts5_query,
    pg_tsquery,
    search_key,
    term_groups,
)


def test_a_level_asks_for_every_combination_of_that_many_terms() -> None:
    assert term_groups(["客户", "嫌贵", "竞品"], 2) == [("客户", "嫌贵"), ("客户", "竞品"), ("嫌贵", "竞品")]
    assert term_groups(["客户", "嫌贵"], 1) == [("客户",), ("嫌贵",)]


def test_postgres_query_ors_the_combinations_and_ands_the_facets() -> None:
    query = pg_tsquery(term_groups(["客户", "嫌贵"], 1), [facet_token("kind", "faq")])

    assert query == f"((客户) | (嫌贵)) & {facet_token('kind', 'faq')}"


def test_fts5_query_quotes_every_term() -> None:
    assert fts5_query(term_groups(["a1", "报价"], 2), []) == '(("a1" AND "报价"))'
    assert fts5_query([], ["f1", "f2"]) == '"f1" AND "f2"'


def test_fts5_levels_match_exactly_the_entries_with_that_many_terms() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE s USING fts5(terms, facets, detail=none)")
    documents = {1: "客户 嫌贵", 2: "客户 回款", 3: "嫌贵 竞品 客户", 4: "展会"}
    db.executemany("INSERT INTO s (rowid, terms, facets) VALUES (?, ?, '')", documents.items())
    terms = ["客户", "嫌贵", "竞品"]

    def level(k: int) -> set[int]:
        rows = db.execute("SELECT rowid FROM s WHERE s MATCH ?", (fts5_query(term_groups(terms, k), []),))
        return {row[0] for row in rows}

    assert (level(3), level(2), level(1)) == ({3}, {1, 3}, {1, 2, 3})


def test_facets_are_single_opaque_tokens_per_kind_and_tag() -> None:
    token = facet_token("tag", "价格 异议")

    assert token.isalnum() and token.isascii() and token.startswith("f")
    assert token != facet_token("tag", "价格异议") != facet_token("kind", "价格异议")
    assert entry_facets("faq", ("回款",)).split() == [facet_token("kind", "faq"), facet_token("tag", "回款")]
    assert Filters(kind="faq", tag="回款").tokens() == entry_facets("faq", ("回款",)).split()
    assert Filters().tokens() == []


@pytest.mark.parametrize(("entry_id", "votes"), [(1, 0), (ID_MASK, 0), (7, 1), (2**31 - 1, 10_000)])
def test_search_key_orders_by_votes_and_gives_the_entry_back(entry_id: int, votes: int) -> None:
    key = search_key(entry_id, votes)

    assert key & ID_MASK == entry_id
    assert search_key(1, votes + 1) > key
    assert key < 2**63  # an SQLite rowid


def test_long_queries_keep_their_first_distinct_terms() -> None:
    terms = ["客户", "客户", *[f"t{n}" for n in range(10)]]

    assert bounded_terms(terms) == ["客户", "t0", "t1", "t2", "t3", "t4"][:MAX_QUERY_TERMS]
