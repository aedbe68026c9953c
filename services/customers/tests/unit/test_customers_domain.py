"""Business rules: disputes, referrals, fuzzy duplicates, amendments, birthdays."""

from datetime import datetime, timedelta

import pytest

from customers.domain import (
    MAX_CANDIDATE_KEYS,
    MAX_NAME_KEYS,
    Birthday,
    Claimant,
    InvalidBirthday,
    InvalidDecisionLevel,
    NothingToAmend,
    UnknownAmendmentField,
    apply_amendment,
    assess_duplicate,
    candidate_keys,
    is_suspected_duplicate,
    parse_birthday,
    propose_dispute_winner,
    referral_tree,
    similarity,
    validate_decision_level,
    would_create_cycle,
)
from customers.normalize import normalize_company_name

MONDAY = datetime(2024, 3, 4, 9, 0)


def claimant(salesperson, level, minutes_after_monday=0, contact="王总"):
    return Claimant(salesperson, contact, level, MONDAY + timedelta(minutes=minutes_after_monday))


# --- disputes ---------------------------------------------------------------------------------


def test_challenger_with_more_senior_contact_is_proposed_as_winner():
    owner = claimant("zhang", 3, contact="采购李经理")
    challenger = claimant("wang", 5, minutes_after_monday=600, contact="刘总")
    proposal = propose_dispute_winner([owner, challenger])
    assert proposal.winner is challenger
    assert "刘总" in proposal.reason and "5" in proposal.reason


def test_owner_keeps_the_customer_when_the_contact_is_more_senior():
    owner = claimant("zhang", 4)
    proposal = propose_dispute_winner([owner, claimant("wang", 2, 60), claimant("li", 3, 30)])
    assert proposal.winner is owner


def test_tie_in_decision_level_goes_to_the_first_entered():
    late_owner_listed_first = claimant("zhang", 4, minutes_after_monday=90)
    early = claimant("wang", 4, minutes_after_monday=10)
    proposal = propose_dispute_winner([late_owner_listed_first, early])
    assert proposal.winner is early
    assert "先录入" in proposal.reason and "2024-03-04 09:10" in proposal.reason


def test_complete_tie_keeps_the_order_given_owner_first():
    owner, challenger = claimant("zhang", 4), claimant("wang", 4)
    assert propose_dispute_winner([owner, challenger]).winner is owner


def test_dispute_without_claimants_is_refused():
    with pytest.raises(ValueError):
        propose_dispute_winner([])


@pytest.mark.parametrize("level", [0, 6, -1, 2.5, "3", True, None])
def test_decision_level_outside_one_to_five_is_refused(level):
    with pytest.raises(InvalidDecisionLevel):
        validate_decision_level(level)
    with pytest.raises(InvalidDecisionLevel):
        Claimant("zhang", "王总", level, MONDAY)


@pytest.mark.parametrize("level", [1, 3, 5])
def test_decision_levels_one_to_five_are_accepted(level):
    assert validate_decision_level(level) == level


# --- referral tree --------------------------------------------------------------------------------


def lookups(referred_by):
    """children_of and parent_of over a {customer: referrer} mapping."""

    def children_of(customer_id):
        return sorted(child for child, parent in referred_by.items() if parent == customer_id)

    return children_of, referred_by.get


def test_referral_tree_shows_who_was_referred_below_and_the_chain_above():
    children_of, parent_of = lookups({2: 1, 3: 2, 4: 2, 5: 3, 1: 10, 10: 11})
    view = referral_tree(2, children_of, parent_of).as_dict()
    assert view == {
        "customer_id": 2,
        "children": [
            {
                "customer_id": 3,
                "children": [{"customer_id": 5, "children": [], "truncated": False}],
                "truncated": False,
            },
            {"customer_id": 4, "children": [], "truncated": False},
        ],
        "truncated": False,
        "referrers": [1, 10, 11],
        "referrers_truncated": False,
        "cycle_detected": False,
    }


def test_referral_tree_is_cut_at_the_depth_limit_and_says_so():
    chain = {n + 1: n for n in range(1, 20)}  # 1 ← 2 ← 3 ← … ← 20
    children_of, parent_of = lookups(chain)
    view = referral_tree(10, children_of, parent_of, max_depth=3)
    deepest = view.tree.children[0].children[0].children[0]
    assert deepest.customer_id == 13
    assert deepest.truncated is True and deepest.children == []
    assert view.referrers == [9, 8, 7]
    assert view.referrers_truncated is True


def test_referral_tree_reaching_the_top_is_not_truncated():
    children_of, parent_of = lookups({2: 1, 3: 2})
    view = referral_tree(3, children_of, parent_of, max_depth=2)
    assert view.referrers == [2, 1]
    assert view.referrers_truncated is False
    assert view.tree.truncated is False


def test_referral_tree_survives_a_cycle_in_stored_links():
    children_of, parent_of = lookups({1: 3, 2: 1, 3: 2})  # 1 → 2 → 3 → 1
    view = referral_tree(1, children_of, parent_of, max_depth=10)
    assert view.cycle_detected is True
    assert view.tree.children[0].customer_id == 2
    assert view.tree.children[0].children[0].children == []  # 3 does not lead back to 1
    assert view.referrers == [3, 2]


def test_referral_tree_depth_must_be_positive():
    children_of, parent_of = lookups({})
    with pytest.raises(ValueError):
        referral_tree(1, children_of, parent_of, max_depth=0)


def test_referring_a_customer_to_someone_it_referred_would_create_a_cycle():
    _children_of, parent_of = lookups({2: 1, 3: 2})  # 1 referred 2, 2 referred 3
    assert would_create_cycle(1, 3, parent_of) is True
    assert would_create_cycle(1, 1, parent_of) is True
    assert would_create_cycle(3, 1, parent_of) is False
    assert would_create_cycle(4, 3, parent_of) is False


def test_cycle_check_terminates_on_an_already_broken_chain():
    _children_of, parent_of = lookups({2: 3, 3: 2})
    assert would_create_cycle(1, 2, parent_of) is False


# --- fuzzy duplicates -----------------------------------------------------------------------------


def key(name):
    return normalize_company_name(name)


def test_branch_office_is_not_blocked_but_is_suspected():
    head, branch = key("华为技术有限公司"), key("华为技术有限公司北京分公司")
    assert head != branch
    suspicion = assess_duplicate(branch, head)
    assert suspicion is not None
    assert suspicion.score == 100
    assert "分支机构" in suspicion.reason


def test_two_branches_of_one_company_are_suspected():
    beijing, shanghai = key("华为技术有限公司北京分公司"), key("华为技术有限公司上海分公司")
    assert is_suspected_duplicate(similarity(beijing, shanghai))


def test_typo_in_a_name_is_suspected_with_its_similarity():
    suspicion = assess_duplicate(key("阿里巴巴网络技术有限公司"), key("阿里巳巴网络技术有限公司"))
    assert suspicion is not None
    assert suspicion.reason == "名称相似 88%"


def test_a_typo_by_a_homophone_is_suspected_as_such():
    suspicion = assess_duplicate(key("阿里巴巴网络技术有限公司"), key("阿理巴巴网络技术有限公司"))
    assert suspicion is not None
    assert suspicion.reason.startswith("同音")


def test_abbreviation_of_a_name_is_suspected():
    suspicion = assess_duplicate(key("华为"), key("深圳市华为技术有限公司"))
    assert suspicion is not None
    assert suspicion.reason == "名称包含（华为）"


def test_same_phone_is_suspected_whatever_the_names():
    suspicion = assess_duplicate(
        key("鑫源贸易"), key("天成机械"), ["+8613800138000"], ["+8613800138000", "+861012345678"]
    )
    assert suspicion is not None
    assert suspicion.score == 100
    assert suspicion.reason == "同一电话 +8613800138000"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("华为技术有限公司", "荣耀终端有限公司"),
        ("海尔集团", "海信集团"),
        ("鑫源贸易有限公司", "鑫达贸易有限公司"),
        ("长城汽车", "长安汽车"),
        ("Starbucks", "Star Trading"),
    ],
)
def test_different_companies_are_not_suspected(first, second):
    assert assess_duplicate(key(first), key(second)) is None
    assert not is_suspected_duplicate(similarity(key(first), key(second)))


def test_suspicion_threshold_is_inclusive_and_configurable():
    assert is_suspected_duplicate(85)
    assert not is_suspected_duplicate(84.9)
    assert is_suspected_duplicate(70, threshold=70)


def test_similar_names_share_a_candidate_key():
    for first, second in [
        ("阿里巴巴网络技术有限公司", "阿理巴巴网络技术有限公司"),
        ("华为", "华为技术有限公司"),
        ("华为技术有限公司北京分公司", "华为技术有限公司"),
        ("Acme Trading Co., Ltd.", "Acme Tradeing Ltd"),
    ]:
        assert candidate_keys(key(first)) & candidate_keys(key(second)), (first, second)


def test_candidate_keys_are_bounded_for_a_long_name():
    forty_distinct_characters = "".join(chr(0x4E00 + i * 7) for i in range(40))
    keys = candidate_keys(forty_distinct_characters, ["+8613800138000"])
    assert len(keys) <= MAX_CANDIDATE_KEYS + 1
    assert len([k for k in keys if k.startswith("n:") and not k.startswith("n:~")]) == MAX_NAME_KEYS


def test_candidate_keys_skip_common_industry_words_and_add_phones():
    keys = candidate_keys(key("鑫源电子科技有限公司"), ["+8613800138000"])
    assert "n:科技" not in keys and "n:电子" not in keys
    assert {"n:鑫源", "n:源电", "p:+8613800138000"} <= keys


def test_a_name_made_only_of_common_words_is_its_own_candidate_key():
    assert candidate_keys(key("上海贸易有限公司")) >= {"n:上海"}
    assert {k for k in candidate_keys("科技") if k.startswith("n:")} == {"n:科技"}


# --- amendments -------------------------------------------------------------------------------


CURRENT = {
    "id": 7,
    "owner": "zhang",
    "name": "华为技术有限公司",
    "phones": ["+8613800138000"],
    "address": "深圳市龙岗区",
    "contacts": [{"name": "王总", "title": "总经理", "phone": None, "decision_level": 5}],
}


def test_approved_amendment_gives_a_new_revision_and_keeps_the_old_one():
    revision = apply_amendment(CURRENT, {"address": "深圳市南山区", "industry": "通信"})
    assert revision["address"] == "深圳市南山区"
    assert revision["industry"] == "通信"
    assert revision["owner"] == "zhang"
    assert CURRENT["address"] == "深圳市龙岗区"
    assert "industry" not in CURRENT


def test_amended_revision_does_not_share_lists_with_the_old_one():
    revision = apply_amendment(CURRENT, {"address": "深圳市南山区"})
    revision["contacts"][0]["decision_level"] = 1
    assert CURRENT["contacts"][0]["decision_level"] == 5


def test_amendment_of_owner_or_unknown_fields_is_refused_naming_them():
    with pytest.raises(UnknownAmendmentField) as caught:
        apply_amendment(CURRENT, {"owner": "wang", "address": "x", "colour": "red"})
    assert caught.value.fields == ["colour", "owner"]
    assert isinstance(caught.value, ValueError)


def test_amendment_that_changes_nothing_is_refused():
    with pytest.raises(NothingToAmend):
        apply_amendment(CURRENT, {"address": "深圳市龙岗区", "phones": ["+8613800138000"]})
    with pytest.raises(NothingToAmend):
        apply_amendment(CURRENT, {})


@pytest.mark.parametrize(
    "field",
    [
        "name",
        "phones",
        "address",
        "industry",
        "birthday",
        "next_visit_at",
        "next_visit_contact",
        "referred_by",
        "contacts",
    ],
)
def test_every_documented_field_can_be_amended(field):
    assert apply_amendment(CURRENT, {field: "新值"})[field] == "新值"


# --- birthdays ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "birthday"),
    [
        ("05-03", Birthday(5, 3)),
        ("1990-05-03", Birthday(5, 3, 1990)),
        ("02-29", Birthday(2, 29)),
        ("2000-02-29", Birthday(2, 29, 2000)),
        ("1990/5/3", Birthday(5, 3, 1990)),
        ("1990年5月3日", Birthday(5, 3, 1990)),
        ("5月3日", Birthday(5, 3)),
        ("１２－３１", Birthday(12, 31)),
    ],
)
def test_birthday_is_parsed_with_year_optional(text, birthday):
    assert parse_birthday(text) == birthday


@pytest.mark.parametrize(
    "text", ["", "13-01", "02-30", "2023-02-29", "04-31", "1990-05", "May 3", "0000-01-01", "1-2-3"]
)
def test_birthday_that_does_not_exist_is_refused(text):
    with pytest.raises(InvalidBirthday):
        parse_birthday(text)


def test_birthday_reads_back_as_month_day_with_optional_year():
    assert str(parse_birthday("5-3")) == "05-03"
    assert str(parse_birthday("1990-5-3")) == "1990-05-03"
