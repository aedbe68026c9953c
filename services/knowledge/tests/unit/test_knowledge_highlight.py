"""Search result snippets: hits marked, everything else escaped, around the first hit."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge.segment import ELLIPSIS, Segmenter, default_segmenter


@pytest.fixture(scope="module")
def segmenter() -> Segmenter:
    return default_segmenter()


def visible(snippet: str) -> str:
    """What the reader sees: marks removed, entities decoded."""
    return html.unescape(snippet.replace("<mark>", "").replace("</mark>", ""))


def test_chinese_term_is_marked_inside_a_compound(segmenter: Segmenter) -> None:
    snippet = segmenter.highlight("我们的阶梯报价方案", segmenter.query_terms("报价"))

    assert snippet == "我们的阶梯<mark>报价</mark>方案"


def test_script_in_entry_text_is_escaped_not_executed(segmenter: Segmenter) -> None:
    text = '<script>alert("x")</script> 报价 & <b>折扣</b>'

    snippet = segmenter.highlight(text, segmenter.query_terms("报价"))

    assert "<script" not in snippet and "<b>" not in snippet
    assert snippet == (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; <mark>报价</mark> &amp; &lt;b&gt;折扣&lt;/b&gt;"
    )


def test_overlapping_terms_make_one_mark(segmenter: Segmenter) -> None:
    snippet = segmenter.highlight("用阶梯报价应对压价", segmenter.query_terms("阶梯报价"))

    assert snippet == "用<mark>阶梯报价</mark>应对压价"


def test_english_terms_mark_whole_words_including_plurals(segmenter: Segmenter) -> None:
    snippet = segmenter.highlight("Our Prices and contracts", segmenter.query_terms("price act"))

    assert snippet == "Our <mark>Prices</mark> and contracts"


def test_full_width_text_is_marked_for_an_ascii_query(segmenter: Segmenter) -> None:
    assert segmenter.highlight("新ＣＲＭ系统", ["crm"]) == "新<mark>ＣＲＭ</mark>系统"


def test_long_text_is_cut_around_the_first_hit(segmenter: Segmenter) -> None:
    text = "前言" * 80 + "客户嫌贵时，先认同再塑造价值。" + "后记" * 80

    snippet = segmenter.highlight(text, segmenter.query_terms("嫌贵"), max_len=60)

    assert snippet.startswith(ELLIPSIS) and snippet.endswith(ELLIPSIS)
    assert "<mark>嫌贵</mark>" in snippet
    assert len(visible(snippet)) == 60


def test_text_without_a_hit_gives_its_beginning(segmenter: Segmenter) -> None:
    text = "寄样之后三天内跟进。" * 20

    snippet = segmenter.highlight(text, segmenter.query_terms("账期"), max_len=20)

    assert snippet == text[:19] + ELLIPSIS


def test_whitespace_and_line_breaks_are_collapsed(segmenter: Segmenter) -> None:
    assert segmenter.highlight("回款\n\n   很慢", ["回款"]) == "<mark>回款</mark> 很慢"


def test_snippet_length_below_three_is_refused(segmenter: Segmenter) -> None:
    with pytest.raises(ValueError):
        segmenter.highlight("报价", ["报价"], max_len=2)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("报价阶梯客户嫌贵<>&\"' \nabc")), max_size=300),
    query=st.text(alphabet=st.sampled_from(list("报价阶梯客户嫌贵abc ")), max_size=6),
    max_len=st.integers(min_value=3, max_value=150),
)
def test_snippet_is_a_short_escaped_piece_of_the_text(text: str, query: str, max_len: int) -> None:
    segmenter = default_segmenter()

    snippet = segmenter.highlight(text, segmenter.query_terms(query), max_len)

    shown = visible(snippet)
    assert len(shown) <= max_len
    assert shown.strip(ELLIPSIS) in " ".join(text.split())
    assert re.sub(r"</?mark>", "", snippet).count("<") == 0
