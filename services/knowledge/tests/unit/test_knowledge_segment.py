"""Segmentation for search: what a query finds, and what the index column holds."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge.domain_search import SearchRow, rank, relevance
from knowledge.segment import SALES_TERMS_PATH, Segmenter, default_segmenter

PRICE_OBJECTION = "客户觉得价格太贵、嫌贵怎么办：先认同，再讲清楚性价比和售后，不急着让价。"
REFERRAL = "老客户转介绍：成交后一周内回访，请老客户介绍同行。"
TIERED_PRICING = "用阶梯报价应对采购压价：量越大单价越低。"
SAMPLES = "寄样之后三天内跟进，问清楚样品测试结果。"


@pytest.fixture(scope="module")
def segmenter() -> Segmenter:
    return default_segmenter()


def finds(segmenter: Segmenter, query: str, text: str) -> bool:
    """The service's match rule: OR over the query terms."""
    return relevance(segmenter.query_terms(query), segmenter.index_terms(text)) > 0


def search(segmenter: Segmenter, query: str, texts: dict[str, str]) -> list[str]:
    """Names of the matching texts, ranked the way the service ranks them."""
    terms = segmenter.query_terms(query)
    rows = [SearchRow(name, relevance(terms, segmenter.index_terms(text))) for name, text in texts.items()]
    return [str(row.entry_id) for row in rank(rows) if row.relevance > 0]


def test_query_for_quotation_finds_entry_about_tiered_quotation(segmenter: Segmenter) -> None:
    assert finds(segmenter, "报价", "我们的阶梯报价方案")


def test_query_for_price_finds_entry_about_price_objection(segmenter: Segmenter) -> None:
    assert finds(segmenter, "价格", "如何处理价格异议")


def test_customer_finds_it_too_expensive_finds_how_the_team_handled_it(segmenter: Segmenter) -> None:
    assert finds(segmenter, "客户嫌贵", PRICE_OBJECTION)


def test_price_objection_entry_ranks_above_entries_that_only_share_customer(
    segmenter: Segmenter,
) -> None:
    texts = {"referral": REFERRAL, "price": PRICE_OBJECTION, "samples": SAMPLES}

    assert search(segmenter, "客户嫌贵", texts)[0] == "price"


def test_sqlite_fts5_or_match_over_index_terms_finds_the_price_objection(
    segmenter: Segmenter,
) -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE entry_index USING fts5(terms)")
    texts = [REFERRAL, PRICE_OBJECTION, TIERED_PRICING, SAMPLES]
    for rowid, text in enumerate(texts, 1):
        db.execute(
            "INSERT INTO entry_index(rowid, terms) VALUES (?, ?)", (rowid, segmenter.index_terms(text))
        )

    def fts5(query: str) -> set[int]:
        match = " OR ".join(f'"{term}"' for term in segmenter.query_terms(query))
        rows = db.execute("SELECT rowid FROM entry_index WHERE entry_index MATCH ?", (match,))
        return {rowid for (rowid,) in rows}

    assert 2 in fts5("客户嫌贵")
    assert fts5("报价") == {3}
    assert fts5("样品") == {4}


def test_compound_is_indexed_whole_and_in_parts(segmenter: Segmenter) -> None:
    terms = segmenter.index_terms("阶梯报价").split()

    assert {"阶梯", "报价", "阶梯报价"} <= set(terms)


def test_every_sales_term_is_kept_as_one_word(segmenter: Segmenter) -> None:
    words = [line.split()[0] for line in SALES_TERMS_PATH.read_text("utf-8").splitlines() if line.strip()]

    split_apart = [word for word in words if word not in segmenter.index_terms(word).split()]

    assert split_apart == []


def test_sales_dictionary_has_at_least_150_terms_with_frequencies() -> None:
    lines = [line for line in SALES_TERMS_PATH.read_text("utf-8").splitlines() if line.strip()]
    words = [line.split()[0] for line in lines]

    assert len(lines) >= 150
    assert all(line.split()[1].isdigit() and int(line.split()[1]) > 0 for line in lines)
    assert len(set(words)) == len(words)
    assert {"嫌贵", "价格异议", "阶梯报价", "撞单", "困难报警", "转介绍", "账期"} <= set(words)


def test_unknown_name_is_cut_alike_in_query_and_document(segmenter: Segmenter) -> None:
    assert finds(segmenter, "李总", "李总说再考虑一下")
    assert finds(segmenter, "鑫达五金", "我们拜访了鑫达五金有限公司")


@pytest.mark.parametrize("query", ["", "   ", "的了吗", "The and of", "，。！？……", "我们怎么办"])
def test_query_of_only_stopwords_or_punctuation_has_no_terms(segmenter: Segmenter, query: str) -> None:
    assert segmenter.query_terms(query) == []


def test_stopwords_do_not_reach_the_index(segmenter: Segmenter) -> None:
    terms = segmenter.index_terms("这是我们的报价 and the price").split()

    assert terms == ["报价", "price"]


def test_query_terms_are_deduplicated_in_typed_order(segmenter: Segmenter) -> None:
    assert segmenter.query_terms("回款 账期 回款") == ["回款", "账期"]


def test_english_is_lowercased_and_plurals_are_stemmed(segmenter: Segmenter) -> None:
    assert segmenter.index_terms("Prices COMPANIES Business Status") == "price company business status"
    assert finds(segmenter, "price", "Our PRICES went up")
    assert finds(segmenter, "discounts", "volume discount")


def test_single_english_letters_are_dropped_but_numbers_kept(segmenter: Segmenter) -> None:
    assert segmenter.index_terms("B x 30 天") == "30 天"


def test_full_width_and_accented_letters_are_folded(segmenter: Segmenter) -> None:
    assert finds(segmenter, "crm", "我们的ＣＲＭ系统")
    assert segmenter.query_terms("Café") == ["cafe"]


def test_punctuation_splits_terms_instead_of_joining_them(segmenter: Segmenter) -> None:
    terms = segmenter.index_terms("C++/e-mail, 3.5% <b>bold</b> 报价单《V2》").split()

    assert terms == ["mail", "3", "5", "bold", "报价", "价单", "报价单", "v2"]


# Realistic CRM text: common Chinese characters, ASCII, full-width forms, CJK punctuation, accents.
crm_text = st.text(
    alphabet=st.sampled_from(
        list("客户价格太贵嫌报阶梯议让回款账期样品决策采购经理老转介绍拜访跟进成交签约竞试用")
        + list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        + list(" \n\t.,;:!?-_+#&%/'\"<>()[]{}@$*=~|\\")
        + list("，。、；：！？（）《》【】“”…—ＡＢＣ１２３éüñçÅß")
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(crm_text)
def test_each_index_term_is_one_sqlite_fts5_token(text: str) -> None:
    terms = default_segmenter().index_terms(text).split()
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE entry_index USING fts5(terms)")
    db.execute("CREATE VIRTUAL TABLE vocabulary USING fts5vocab(entry_index, row)")
    db.execute("INSERT INTO entry_index(terms) VALUES (?)", (" ".join(terms),))

    tokens = {term for (term,) in db.execute("SELECT term FROM vocabulary")}

    assert tokens == set(terms)
    assert all(term.isalnum() for term in terms)


@settings(max_examples=300, deadline=None)
@given(crm_text)
def test_a_text_used_as_query_finds_itself(text: str) -> None:
    segmenter = default_segmenter()

    assert set(segmenter.query_terms(text)) <= set(segmenter.index_terms(text).split())


def test_process_builds_one_segmenter() -> None:
    assert default_segmenter() is default_segmenter()


def test_dictionary_cache_goes_to_the_given_directory(tmp_path: Path) -> None:
    segmenter = Segmenter(cache_dir=tmp_path)

    assert (tmp_path / "jieba.cache").is_file()
    assert segmenter.query_terms("客户嫌贵") == ["客户", "嫌贵"]
