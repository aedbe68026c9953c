"""Rules added around entry, access, disputes, duplicates and giving up a customer."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crm_common.caller import Caller
from crm_common.errors import Conflict, Forbidden, InvalidInput
from customers import domain
from customers.exceptions import AlarmRequired, CustomerArchived, CustomerInPool, NotInPool, UnknownUser

SHANGHAI = ZoneInfo("Asia/Shanghai")
ADMIN = Caller(1, "admin", "admin")
WANG = Caller(10, "wang", "manager", "east")
LINA = Caller(11, "lina", "sales", "east")
ZHANG = Caller(12, "zhang", "sales", "east")
ZHAO = Caller(20, "zhao", "manager", "west")


# --- canonical fields -----------------------------------------------------------------------------


def test_fields_are_put_in_the_one_form_revisions_compare():
    fields = domain.prepare_fields(
        {
            "name": "  深圳市华为技术有限公司 ",
            "phone": "0755-2878 0808",
            "phones": ["+86 755 28780808", "13800138000"],
            "address": "",
            "birthday": "1987年9月15日",
            "next_visit_at": datetime(2024, 6, 1, 9, 30),
            "contacts": [{"name": " 王总", "title": None, "phone": "139 0013 9000", "decision_level": 5}],
        },
        "CN",
        SHANGHAI,
    )
    assert fields == {
        "name": "深圳市华为技术有限公司",
        "phones": ["+8675528780808", "+8613800138000"],
        "address": None,
        "birthday": "1987-09-15",
        "next_visit_at": "2024-06-01T01:30:00+00:00",
        "contacts": [{"name": "王总", "title": None, "phone": "+8613900139000", "decision_level": 5}],
    }


def test_every_invalid_field_is_reported_at_once():
    with pytest.raises(InvalidInput) as refused:
        domain.prepare_fields(
            {
                "name": "！！",
                "phones": ["12345"],
                "birthday": "02-30",
                "contacts": [{"name": "王", "phone": "1"}],
            },
            "CN",
            SHANGHAI,
        )
    assert set(refused.value.details) == {"name", "phones", "birthday", "contacts"}
    assert "phone" in refused.value.details["contacts"]["0"]


def test_a_moment_with_a_zone_keeps_it_and_one_without_is_local():
    aware = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
    assert domain.to_utc(aware, SHANGHAI) == aware
    assert domain.to_utc(datetime(2024, 6, 1, 9, 0), SHANGHAI) == aware - timedelta(hours=8)


def test_exact_keys_are_the_name_and_every_phone_contacts_included():
    phones = domain.all_phones(["+8613800138000"], [{"phone": "+8613900139000"}, {"phone": "+8613800138000"}])
    assert domain.exact_keys("华为技术", phones) == [
        ("name", "华为技术"),
        ("phone", "+8613800138000"),
        ("phone", "+8613900139000"),
    ]


# --- who may do what ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "owner_id", "team", "status", "readable"),
    [
        (LINA, 11, "east", "active", True),
        (ZHANG, 11, "east", "active", False),
        (WANG, 11, "east", "active", True),
        (ZHAO, 11, "east", "active", False),
        (ADMIN, 11, "east", "active", True),
        (LINA, None, "east", "pool", False),  # in the pool: take it first
        (WANG, None, "east", "pool", True),
        (LINA, 11, "east", "archived", False),
        (WANG, 11, "east", "archived", True),
    ],
)
def test_who_reads_a_customer_in_full(caller, owner_id, team, status, readable):
    assert domain.can_read_in_full(caller, owner_id, team, status) is readable


def test_listing_scope_follows_the_role():
    assert domain.listing_scope(ADMIN) == ("all", None)
    assert domain.listing_scope(WANG) == ("team", "east")
    assert domain.listing_scope(LINA) == ("own", 11)


def test_only_the_pools_team_takes_from_it_and_only_what_is_in_it():
    domain.check_may_take(ZHANG, "east", "pool")
    domain.check_may_take(WANG, "east", "pool")
    with pytest.raises(Forbidden):
        domain.check_may_take(ZHAO, "east", "pool")
    with pytest.raises(Forbidden):
        domain.check_may_take(ADMIN, "east", "pool")
    with pytest.raises(NotInPool):
        domain.check_may_take(ZHANG, "east", "active")


@pytest.mark.parametrize(
    ("caller", "owner_id", "status", "refusal"),
    [
        (ZHANG, 11, "active", None),
        (ZHAO, 11, "active", None),
        (LINA, 11, "active", Conflict),
        (ADMIN, 11, "active", Forbidden),
        (ZHANG, None, "pool", CustomerInPool),
        (ZHANG, 11, "archived", CustomerArchived),
    ],
)
def test_who_may_claim_a_customer(caller, owner_id, status, refusal):
    if refusal is None:
        domain.check_may_claim(caller, owner_id, status)
    else:
        with pytest.raises(refusal):
            domain.check_may_claim(caller, owner_id, status)


def test_a_manager_assigns_customers_within_the_team_only():
    lina = {"id": 11, "role": "sales", "team": "east", "active": True}
    domain.check_may_assign(WANG, lina, "assign customers")
    domain.check_may_assign(ADMIN, lina, "assign customers")
    domain.check_may_assign(LINA, lina, "import customers")
    with pytest.raises(Forbidden):
        domain.check_may_assign(ZHAO, lina, "assign customers")
    with pytest.raises(Forbidden):
        domain.check_may_assign(ZHANG, lina, "import customers")
    with pytest.raises(UnknownUser):
        domain.check_may_assign(WANG, None, "assign customers")
    with pytest.raises(InvalidInput):
        domain.check_may_assign(ADMIN, {"id": 1, "role": "admin", "team": None}, "assign customers")


# --- disputes -----------------------------------------------------------------------------------

SINCE = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


def test_the_owner_stands_with_the_most_senior_recorded_contact():
    contacts = [
        {"name": "采购李经理", "decision_level": 3},
        {"name": "刘总", "decision_level": 5},
        {"name": "前台", "decision_level": None},
    ]
    standing = domain.owner_standing(11, contacts, SINCE)
    assert (standing.contact_name, standing.decision_level, standing.entered_at) == ("刘总", 5, SINCE)


def test_an_owner_without_a_known_decision_maker_stands_lowest():
    standing = domain.owner_standing(11, [{"name": "前台", "decision_level": None}], SINCE)
    assert standing.decision_level == 1 and standing.contact_name == domain.NO_CONTACT


def test_the_manager_chooses_among_the_claimants_or_takes_the_proposal():
    owner = domain.owner_standing(11, [], SINCE)
    challenger = domain.Claimant(12, "刘总", 5, SINCE + timedelta(days=1))
    proposal = domain.propose_dispute_winner([owner, challenger])
    assert domain.choose_winner(proposal, [owner, challenger], None) is challenger
    assert domain.choose_winner(proposal, [owner, challenger], 11) is owner
    with pytest.raises(InvalidInput):
        domain.choose_winner(proposal, [owner, challenger], 99)


# --- giving up a customer ----------------------------------------------------------------------


def answered(customer_id=5, manager_answered=True):
    return {"alarm_id": 7, "customer_id": customer_id, "manager_answered": manager_answered}


def test_an_alarm_about_the_customer_answered_by_a_manager_allows_giving_it_up():
    domain.check_abandon_alarm(answered(), 5)


@pytest.mark.parametrize(
    ("alarm", "why"),
    [
        (None, "no such"),
        (answered(customer_id=6), "another customer"),
        (answered(manager_answered=False), "not answered"),
    ],
)
def test_any_other_alarm_is_refused(alarm, why):
    with pytest.raises(AlarmRequired, match=why.split()[0]):
        domain.check_abandon_alarm(alarm, 5)


# --- matches while typing ----------------------------------------------------------------------


def test_exact_matches_come_first_then_near_ones_by_score():
    candidates = [
        domain.StoredCustomer(1, "华为技术"),
        domain.StoredCustomer(2, "华为技术/北京分公司"),
        domain.StoredCustomer(3, "华为技术服务"),
        domain.StoredCustomer(4, "天成机械厂"),
    ]
    matches = domain.rank_matches("华为技术", [], {1: ["name"]}, candidates)
    assert [(m.customer_id, m.matched_on, m.exact) for m in matches] == [
        (1, ("name",), True),
        (2, ("similar_name",), False),
        (3, ("similar_name",), False),
    ]
    assert matches[1].score == 100.0 and "分支机构" in matches[1].reason


def test_a_phone_alone_finds_only_exact_matches():
    matches = domain.rank_matches(
        None, ["+8613800138000"], {9: ["phone"]}, [domain.StoredCustomer(1, "华为")]
    )
    assert [(m.customer_id, m.reason) for m in matches] == [(9, "电话相同")]


def test_suspects_of_a_customer_leave_the_customer_itself_out():
    me = domain.StoredCustomer(1, "宏达精密机械")
    found = domain.find_suspects(me, [me, domain.StoredCustomer(2, "宏达精密机械/苏州分厂")])
    assert [(suspect.customer_id, suspicion.score) for suspect, suspicion in found] == [(2, 100.0)]


def test_a_candidate_shares_two_name_keys_or_all_of_a_shorter_name():
    assert [domain.shared_keys_needed(n) for n in (0, 1, 2, 5)] == [1, 1, 2, 2]


def test_abbreviations_are_the_leading_parts_of_the_head_office_name():
    assert domain.abbreviation_keys("华为技术/北京分公司") == ["华为", "华为技", "华为技术"]
    assert domain.abbreviation_keys("acmetrading") == [
        "acmet",
        "acmetr",
        "acmetra",
        "acmetrad",
        "acmetradi",
        "acmetradin",
        "acmetrading",
    ]


def test_candidates_share_two_name_keys_or_a_phone_most_shared_first():
    postings = {
        "n:宏达": [1, 2, 3],
        "n:达鑫": [2, 3],
        "n:鑫机": [3],
        "p:+8613800138000": [9],
    }
    assert domain.choose_candidates(postings) == [9, 3, 2]
    assert domain.choose_candidates(postings, exclude_id=3) == [9, 2]
    assert domain.choose_candidates(postings, limit=2) == [9, 3]


def test_a_key_shared_by_too_many_customers_is_ignored():
    crowded = list(range(100, 400))
    postings = {"n:有限": crowded, "n:宏达": [1, 2], "n:达鑫": [2]}
    assert domain.choose_candidates(postings, max_postings=200) == [2]
    only_crowded = {"n:有限": crowded, "n:宏达": [7]}
    assert domain.choose_candidates(only_crowded, max_postings=200) == [
        7
    ]  # one informative key: one suffices
