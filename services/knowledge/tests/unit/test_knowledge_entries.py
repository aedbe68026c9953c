"""Knowledge entries: kinds, tags, editing rights, ranking, similar cases, onboarding."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from knowledge.constants import MAX_TAG_LENGTH, EntryKind
from knowledge.domain import (
    Entry,
    ensure_may_curate,
    new_entry,
    normalise_tags,
    onboarding,
    parse_kind,
    revise_entry,
)
from knowledge.domain_search import Candidate, SearchRow, rank, relevance, similar
from knowledge.exceptions import BlankField, InvalidKind, InvalidTags, NotAuthor, NotManager


@dataclass(frozen=True)
class Member:
    user_id: int
    role: str = "sales"
    team: str | None = "east"


WANG = Member(1)
LI = Member(2)
ZHAO_MANAGER = Member(9, role="manager")


def entry(
    title: str, useful: int = 0, tags: tuple[str, ...] = (), pinned: bool = False, archived: bool = False
) -> Entry:
    return Entry(
        EntryKind.SOLUTION,
        title,
        "",
        "…",
        1,
        tags=tags,
        useful_votes=useful,
        pinned=pinned,
        archived=archived,
    )


# --- kinds and tags


def test_entry_kinds_are_solution_success_story_and_faq() -> None:
    assert [parse_kind(k) for k in ("solution", "success_story", "faq")] == list(EntryKind)


def test_unknown_kind_is_refused_with_code_invalid_kind() -> None:
    with pytest.raises(InvalidKind) as refused:
        parse_kind("gossip")

    assert refused.value.code == "invalid_kind"
    assert "faq" in refused.value.details["allowed"]


def test_tags_are_stripped_folded_and_deduplicated_in_order() -> None:
    tags = [" VIP ", "vip", "ＶＩＰ", "价格  异议", "", "  ", "回款"]

    assert normalise_tags(tags) == ("vip", "价格 异议", "回款")


def test_ten_tags_are_accepted_and_eleven_refused() -> None:
    assert len(normalise_tags([f"tag{i}" for i in range(10)])) == 10

    with pytest.raises(InvalidTags) as refused:
        normalise_tags([f"tag{i}" for i in range(11)])
    assert refused.value.code == "invalid_tags"


def test_duplicates_do_not_count_towards_the_tag_limit() -> None:
    assert len(normalise_tags([f"tag{i % 10}" for i in range(30)])) == 10


def test_tag_of_thirty_characters_is_accepted_and_longer_refused() -> None:
    assert normalise_tags(["a" * MAX_TAG_LENGTH]) == ("a" * 30,)

    with pytest.raises(InvalidTags) as refused:
        normalise_tags(["a" * 31])
    assert refused.value.details["too_long"] == ["a" * 31]


def test_a_bare_string_is_not_taken_for_a_list_of_tags() -> None:
    with pytest.raises(InvalidTags):
        normalise_tags("价格,回款")


# --- writing and editing


def test_new_entry_is_credited_to_its_author_and_team() -> None:
    written = new_entry(WANG, "faq", "  客户嫌贵怎么办 ", "客户说太贵", "先认同再讲价值", tags=["价格"])

    assert (written.author_id, written.team, written.kind, written.title) == (
        1,
        "east",
        "faq",
        "客户嫌贵怎么办",
    )
    assert written.tags == ("价格",)


@pytest.mark.parametrize(("title", "solution"), [("", "先认同"), ("  ", "先认同"), ("嫌贵", " \n")])
def test_entry_without_title_or_solution_is_refused(title: str, solution: str) -> None:
    with pytest.raises(BlankField) as refused:
        new_entry(WANG, "solution", title, "", solution)

    assert refused.value.code == "blank_field"


def test_author_revises_an_entry_into_a_new_version() -> None:
    first = new_entry(WANG, "solution", "嫌贵", "", "先认同")

    second = revise_entry(first, WANG, solution="先认同，再讲售后", tags=["价格"])

    assert (second.solution, second.tags) == ("先认同，再讲售后", ("价格",))
    assert (first.solution, first.tags) == ("先认同", ())


def test_colleague_may_not_edit_someone_elses_entry() -> None:
    with pytest.raises(NotAuthor) as refused:
        revise_entry(new_entry(WANG, "solution", "嫌贵", "", "先认同"), LI, title="改")

    assert refused.value.code == "not_author"


def test_only_managers_pin_or_archive() -> None:
    ensure_may_curate(ZHAO_MANAGER)
    ensure_may_curate(Member(7, role="admin"))

    with pytest.raises(NotManager) as refused:
        ensure_may_curate(WANG)
    assert refused.value.code == "not_manager"


def test_searchable_text_covers_title_problem_solution_and_tags() -> None:
    written = new_entry(WANG, "solution", "标题", "问题", "办法", tags=["标签"], industry="五金")

    assert written.searchable_text().split("\n") == ["标题", "问题", "办法", "标签", "五金"]


# --- search ranking


def test_relevance_counts_distinct_query_terms_the_entry_has() -> None:
    assert relevance(["客户", "嫌贵", "砍价"], "客户 价格 嫌贵 嫌贵") == 2
    assert relevance(["账期"], {"客户"}) == 0


def test_more_relevant_entry_comes_first_and_useful_votes_break_ties() -> None:
    rows = [
        SearchRow("a", 1, useful_votes=50),
        SearchRow("b", 2, 0),
        SearchRow("c", 2, 7),
        SearchRow("d", 1, 3),
    ]

    assert [row.entry_id for row in rank(rows)] == ["c", "b", "a", "d"]


# --- similar cases when an alarm is raised


def test_rare_shared_term_outweighs_a_common_one() -> None:
    candidates = [
        Candidate("referral", {"客户", "老客户", "转介绍"}),
        Candidate("price", {"价格", "嫌贵", "让价"}),
        Candidate("visit", {"客户", "拜访"}),
    ]

    suggested = similar(["客户", "嫌贵"], candidates)

    assert suggested[0].candidate_id == "price"
    assert suggested[0].matched_terms == ("嫌贵",)


def test_more_shared_terms_score_higher() -> None:
    candidates = [Candidate(1, {"嫌贵"}), Candidate(2, {"嫌贵", "让价"})]

    assert [s.candidate_id for s in similar(["嫌贵", "让价"], candidates)] == [2, 1]


def test_equally_similar_candidates_are_ordered_by_usefulness() -> None:
    candidates = [Candidate(1, {"回款"}, 2), Candidate(2, {"回款"}, 9), Candidate(3, {"回款"}, 5)]

    assert [s.candidate_id for s in similar(["回款"], candidates)] == [2, 3, 1]


def test_candidates_without_shared_terms_are_not_suggested() -> None:
    assert similar(["账期"], [Candidate(1, {"样品"}), Candidate(2, {"拜访"})]) == []


def test_no_query_terms_suggest_nothing() -> None:
    assert similar([], [Candidate(1, {"样品"})]) == []


def test_at_most_limit_suggestions_and_plain_tuples_are_accepted() -> None:
    candidates = [(i, {"样品", f"t{i}"}, i) for i in range(8)]

    suggested = similar(["样品"], candidates, limit=3)

    assert [s.candidate_id for s in suggested] == [7, 6, 5]


# --- onboarding


def test_pinned_entries_come_first_then_the_most_useful_per_tag() -> None:
    pinned = entry("公司介绍", useful=0, pinned=True)
    price_best = entry("嫌贵", useful=30, tags=("价格",))
    price_other = entry("让价", useful=3, tags=("价格",))
    visit_best = entry("拜访", useful=10, tags=("拜访",))

    items = onboarding([price_other, visit_best, pinned, price_best])

    assert [(item.entry.title, item.reason, item.tag) for item in items] == [
        ("公司介绍", "pinned", None),
        ("嫌贵", "most_useful", "价格"),
        ("拜访", "most_useful", "拜访"),
    ]


def test_archived_entries_are_not_shown_to_newcomers() -> None:
    items = onboarding(
        [entry("旧", useful=99, tags=("价格",), archived=True, pinned=True), entry("新", 1, ("价格",))]
    )

    assert [item.entry.title for item in items] == ["新"]


def test_an_entry_is_listed_once_even_if_best_in_two_tags() -> None:
    both = entry("嫌贵与回款", useful=50, tags=("价格", "回款"))
    second = entry("催款", useful=5, tags=("回款",))

    items = onboarding([both, second])

    assert [(item.entry.title, item.tag) for item in items] == [("嫌贵与回款", "价格"), ("催款", "回款")]


def test_several_entries_per_tag_on_request() -> None:
    entries = [entry(f"价格{i}", useful=i, tags=("价格",)) for i in range(5)]

    assert [item.entry.title for item in onboarding(entries, per_tag=3)] == ["价格4", "价格3", "价格2"]
