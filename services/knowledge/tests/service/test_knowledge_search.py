"""Entries and their search through the real service and database (SQLite FTS5, PostgreSQL GIN)."""

import pytest

from crm_common.errors import InvalidInput
from knowledge.exceptions import AlreadyVoted, EntryNotFound, NotAuthor, NotManager, OwnEntry


def entry(title, solution="先认同客户的感受，再讲清楚产品的价值", kind="solution", problem="", tags=()):
    return {"kind": kind, "title": title, "problem": problem, "solution": solution, "tags": list(tags)}


def titles(result):
    return [item["title"] for item in result["items"]]


def test_quotation_finds_the_entry_about_tiered_quotation(as_user, users):
    with as_user(users.wang) as service:
        service.create_entry(entry("大客户要阶梯报价", "按采购量分三档给价，量大从优"))
        service.create_entry(entry("回款慢怎么催", "每周电话回访，约财务当面对账"))

        found = service.search_entries({"q": "报价"})

    assert titles(found) == ["大客户要阶梯报价"]
    assert found["items"][0]["highlights"]["title"] == "大客户要阶梯<mark>报价</mark>"


def test_price_finds_the_price_objection_entry(as_user, users):
    with as_user(users.wang) as service:
        service.create_entry(entry("如何处理价格异议", "先认同，再把竞品的隐性成本算清楚", tags=["谈判"]))
        service.create_entry(entry("展会上怎么开场", "先问客户今年的采购计划"))

        found = service.search_entries({"q": "价格"})

    assert titles(found) == ["如何处理价格异议"]
    assert found["terms"] == ["价格"]


def test_entries_with_more_query_terms_come_first_and_useful_votes_break_ties(as_user, users):
    with as_user(users.wang) as service:
        only_customer = service.create_entry(entry("客户不回微信", "换个时间打电话"))
        plain = service.create_entry(entry("客户嫌贵", "讲清楚性价比"))
        useful = service.create_entry(entry("客户嫌贵不签合同", "给出阶梯报价"))
    with as_user(users.lina) as service:
        service.vote_entry(useful["id"])
        found = service.search_entries({"q": "客户嫌贵"})

    assert [item["id"] for item in found["items"]] == [useful["id"], plain["id"], only_customer["id"]]
    assert [item["relevance"] for item in found["items"]] == [2, 2, 1]


def test_a_vote_moves_an_entry_up_among_equals(as_user, users):
    with as_user(users.wang) as service:
        first = service.create_entry(entry("报价后客户说再考虑", "三天后回访"))
        second = service.create_entry(entry("报价后客户没有回音", "请经理出面拜访"))
    with as_user(users.lina) as service:
        before = [item["id"] for item in service.search_entries({"q": "报价"})["items"]]
        service.vote_entry(first["id"])
        after = [item["id"] for item in service.search_entries({"q": "报价"})["items"]]

    assert before == [second["id"], first["id"]]  # newer first while votes are equal
    assert after == [first["id"], second["id"]]


def test_search_filters_by_kind_and_tag(as_user, users):
    with as_user(users.wang) as service:
        service.create_entry(entry("报价太高被拒", tags=["价格异议"]))
        service.create_entry(entry("阶梯报价拿下大单", kind="success_story", tags=["价格异议", "大客户"]))
        service.create_entry(entry("报价单怎么写", kind="faq", tags=["新人培训"]))

        stories = service.search_entries({"q": "报价", "kind": "success_story"})
        price_objections = service.search_entries({"q": "报价", "tag": " 价格异议 "})
        big_customers = service.search_entries({"tag": "大客户"})

    assert titles(stories) == ["阶梯报价拿下大单"]
    assert sorted(titles(price_objections)) == ["报价太高被拒", "阶梯报价拿下大单"]
    assert titles(big_customers) == ["阶梯报价拿下大单"]


def test_results_come_in_pages(as_user, users):
    with as_user(users.wang) as service:
        for number in range(5):
            service.create_entry(entry(f"回款第{number}招"))

        first = service.search_entries({"q": "回款", "limit": 2})
        last = service.search_entries({"q": "回款", "limit": 2, "offset": 4})

    assert len(first["items"]) == 2 and first["has_more"] is True
    assert len(last["items"]) == 1 and last["has_more"] is False


@pytest.mark.parametrize("walk_budget", [1000, 1], ids=["walk", "index"])
def test_paging_through_a_search_keeps_the_ranked_order(as_user, users, monkeypatch, walk_budget):
    # PostgreSQL: with a budget of 1 most pages come from the GIN index, not the usefulness walk
    monkeypatch.setattr("knowledge.store_search.WALK_BUDGET", walk_budget)
    with as_user(users.wang) as service:
        written = [
            service.create_entry(entry(title, "先认同，再讲价值"))
            for title in ("客户嫌贵", "客户说太贵", "嫌贵不签", "客户嫌贵不签单", "回款慢", "客户不回微信")
        ]
    for voter, voted in ((users.lina, 1), (users.zhang, 1), (users.chen, 2), (users.lina, 5)):
        with as_user(voter) as service:
            service.vote_entry(written[voted]["id"])
    with as_user(users.lina) as service:
        whole = service.search_entries({"q": "客户嫌贵"})
        pages = [service.search_entries({"q": "客户嫌贵", "limit": 1, "offset": n}) for n in range(6)]

    paged = [(item["title"], item["relevance"]) for page in pages for item in page["items"]]
    assert paged == [(item["title"], item["relevance"]) for item in whole["items"]]
    assert paged == [
        ("客户嫌贵不签单", 2),
        ("客户嫌贵", 2),
        ("客户说太贵", 1),
        ("客户不回微信", 1),
        ("嫌贵不签", 1),
    ]
    assert [page["has_more"] for page in pages] == [True, True, True, True, False, False]


def test_a_query_of_stopwords_finds_nothing_and_no_query_lists_the_most_useful(as_user, users):
    with as_user(users.wang) as service:
        service.create_entry(entry("客户嫌贵怎么办"))
        voted = service.create_entry(entry("回款慢"))
    with as_user(users.lina) as service:
        service.vote_entry(voted["id"])
        nothing = service.search_entries({"q": "怎么办？"})
        everything = service.search_entries({})

    assert nothing["items"] == [] and nothing["terms"] == []
    assert titles(everything) == ["回款慢", "客户嫌贵怎么办"]


def test_author_edits_into_a_new_version_and_search_follows(as_user, users):
    with as_user(users.lina) as service:
        written = service.create_entry(entry("客户嫌贵", "送样试用", tags=["试用"]))
        edited = service.edit_entry(written["id"], {"solution": "给出分期付款方案", "tags": ["回款"]})

        versions = service.entry_versions(written["id"])
        by_new_word = service.search_entries({"q": "分期付款"})
        by_old_word = service.search_entries({"q": "送样"})
        by_old_tag = service.search_entries({"tag": "试用"})

    assert edited["version"] == 2 and edited["tags"] == ["回款"]
    assert [(v["version"], v["solution"]) for v in versions] == [(1, "送样试用"), (2, "给出分期付款方案")]
    assert titles(by_new_word) == ["客户嫌贵"]
    assert by_old_word["items"] == [] and by_old_tag["items"] == []


def test_a_colleague_may_not_edit_someone_elses_entry(as_user, users):
    with as_user(users.lina) as service:
        written = service.create_entry(entry("客户嫌贵"))
    with as_user(users.zhang) as service, pytest.raises(NotAuthor) as refused:
        service.edit_entry(written["id"], {"title": "改掉"})
    assert refused.value.code == "not_author"


def test_reading_an_entry_counts_a_view(as_user, users):
    with as_user(users.wang) as service:
        written = service.create_entry(entry("客户嫌贵"))
    with as_user(users.lina) as service:
        service.get_entry(written["id"])
        seen = service.get_entry(written["id"])
        with pytest.raises(EntryNotFound):
            service.get_entry(written["id"] + 100)
    assert seen["views"] == 2


def test_useful_vote_counts_once_and_never_from_the_author(as_user, users):
    with as_user(users.wang) as service:
        written = service.create_entry(entry("客户嫌贵"))
        with pytest.raises(OwnEntry):
            service.vote_entry(written["id"])
    with as_user(users.lina) as service:
        voted = service.vote_entry(written["id"])
        with pytest.raises(AlreadyVoted) as refused:
            service.vote_entry(written["id"])

    assert voted["useful_votes"] == 1
    assert refused.value.code == "already_voted"


def test_a_salesperson_may_neither_pin_nor_archive(as_user, users):
    with as_user(users.lina) as service:
        written = service.create_entry(entry("客户嫌贵"))
        with pytest.raises(NotManager) as refused_pin:
            service.pin_entry(written["id"])
        with pytest.raises(NotManager):
            service.archive_entry(written["id"])
    assert refused_pin.value.code == "not_manager"


def test_an_archived_entry_leaves_search_until_it_is_brought_back(as_user, users):
    with as_user(users.lina) as service:
        written = service.create_entry(entry("客户嫌贵"))
    with as_user(users.wang) as service:
        archived = service.archive_entry(written["id"])
        while_archived = service.search_entries({"q": "嫌贵"})
        still_readable = service.get_entry(written["id"])
        service.archive_entry(written["id"], {"archived": False})
        back = service.search_entries({"q": "嫌贵"})

    assert archived["archived"] is True and still_readable["title"] == "客户嫌贵"
    assert while_archived["items"] == []
    assert titles(back) == ["客户嫌贵"]


def test_onboarding_lists_pinned_entries_then_the_most_useful_per_tag(as_user, users):
    with as_user(users.wang) as service:
        pinned = service.create_entry(entry("新人第一周做什么", tags=["新人培训"]))
        price_best = service.create_entry(entry("嫌贵的三种回答", tags=["价格异议"]))
        service.create_entry(entry("嫌贵时别急着降价", tags=["价格异议"]))
        payment = service.create_entry(entry("回款三步", tags=["回款"]))
        stale = service.create_entry(entry("旧的报价单模板", tags=["回款"]))
        service.pin_entry(pinned["id"])
        service.archive_entry(stale["id"])
    with as_user(users.lina) as service:
        service.vote_entry(price_best["id"])
        service.vote_entry(stale["id"])
        guide = service.onboarding({})

    assert [(item["reason"], item["tag"], item["entry"]["id"]) for item in guide["items"]] == [
        ("pinned", None, pinned["id"]),
        ("most_useful", "价格异议", price_best["id"]),
        ("most_useful", "回款", payment["id"]),
    ]


def test_invalid_entries_are_refused_with_field_details(as_user, users):
    with as_user(users.lina) as service:
        with pytest.raises(InvalidInput) as wrong_kind:
            service.create_entry(entry("客户嫌贵", kind="gossip"))
        with pytest.raises(InvalidInput) as blank:
            service.create_entry(entry("   "))
        with pytest.raises(InvalidInput) as too_many_tags:
            service.create_entry(entry("客户嫌贵", tags=[f"t{n}" for n in range(11)]))

    assert "kind" in wrong_kind.value.details
    assert blank.value.code == "blank_field"
    assert too_many_tags.value.code == "invalid_tags"


def test_entry_published_is_emitted_for_a_new_entry(as_user, users, events):
    with as_user(users.wang) as service:
        written = service.create_entry(entry("客户嫌贵", tags=["价格异议"]))

    published = events.wait_for("entry_published", entry_id=written["id"])
    assert published["data"]["kind"] == "solution" and published["data"]["tags"] == ["价格异议"]
    assert published["data"]["author_id"] == users.wang["id"] and published["data"]["alarm_id"] is None
    assert written["author_name"] == "王经理"
