"""Appraisal rules with numbers checked by hand (the arithmetic is written out beside each)."""

from datetime import date
from decimal import Decimal as D

import pytest

from appraisal import domain
from appraisal.constants import DEFAULT_SCHEME, State
from appraisal.domain import Facts, ManagerScore
from appraisal.exceptions import InvalidPeriod, InvalidScheme, InvalidScore, PeriodInFuture, WrongState

LI = Facts(
    won_amount=D("120000"),
    won=3,
    lost=1,
    customers_created=5,
    answers_for_colleagues=2,
    answers_accepted=1,
    entries_published=2,
    entries_from_alarms=1,
    reminders_due=4,
    reminders_escalated=1,
    target=D("100000"),
)
SCORES = {
    "attainment": ManagerScore(D(80), "签约稳定"),
    "teamwork": ManagerScore(D(70), "ok"),
    "innovation": ManagerScore(D(60), "ok"),
    "knowledge": ManagerScore(D(90), "ok"),
    "leadership": ManagerScore(D(75), "ok"),
}


def test_periods_are_quarters_or_years_in_local_days():
    q3 = domain.parse_period("2026-Q3")
    assert (q3.start, q3.end) == (date(2026, 7, 1), date(2026, 9, 30))
    year = domain.parse_period("2026")
    assert (year.start, year.end) == (date(2026, 1, 1), date(2026, 12, 31))
    assert domain.parse_period("2026-Q1").end == date(2026, 3, 31)
    for bad in ("2026-Q5", "2026-07", "26", "", "2026Q1", "2300"):
        with pytest.raises(InvalidPeriod):
            domain.parse_period(bad)


def test_a_period_that_has_not_started_is_refused_the_current_one_is_not():
    domain.require_not_future(domain.parse_period("2026-Q4"), date(2026, 10, 1))
    with pytest.raises(PeriodInFuture) as refused:
        domain.require_not_future(domain.parse_period("2027-Q1"), date(2026, 12, 31))
    assert refused.value.code == "period_in_future"


def test_the_target_of_a_quarter_is_its_own_or_its_months_and_a_year_sums_its_quarters():
    targets = {"2026-Q1": D(300), "2026-04": D(50), "2026-05": D(70), "2026-10": D(10)}
    assert domain.period_target(domain.parse_period("2026-Q1"), targets) == D(300)
    assert domain.period_target(domain.parse_period("2026-Q2"), targets) == D(120)  # 50 + 70
    assert domain.period_target(domain.parse_period("2026-Q3"), targets) is None
    assert domain.period_target(domain.parse_period("2026"), targets) == D(430)  # 300 + 120 + 10


def test_the_default_scheme_is_the_departments_five_indicators():
    scheme = domain.default_scheme()
    assert [(i.name, i.weight) for i in scheme.indicators] == [
        ("目标达成", 40),
        ("团队协作", 20),
        ("创新与解决问题", 20),
        ("专业知识", 10),
        ("领导力", 10),
    ]
    assert domain.scheme_from_data(domain.scheme_data(scheme)) == scheme


def test_a_bad_scheme_names_every_problem():
    bad = [dict(i) for i in DEFAULT_SCHEME]
    bad[0] = {**bad[0], "weight": 50, "manager_share": 120}
    bad[1] = {**bad[1], "metrics": [{"metric": "golf", "par": "0", "weight": 1}]}
    bad[2] = {**bad[2], "metrics": [], "manager_share": 40}
    with pytest.raises(InvalidScheme) as refused:
        domain.build_scheme(bad, {"excellent": "70", "good": "80", "pass": "60"})
    problems = refused.value.details
    assert problems["weights"] == ["the weights sum to 110, not 100"]
    assert "indicators.0.manager_share" in problems
    assert "indicators.1.metrics.0.metric" in problems and "indicators.1.metrics.0.par" in problems
    assert "indicators.2.manager_share" in problems
    assert problems["bands"] == ["excellent > good > pass"]


def test_a_salespersons_scorecard_by_hand():
    values = domain.metric_values(LI, is_manager=False)
    card = domain.score_card(domain.default_scheme(), values, SCORES)
    by_key = {i.key: i for i in card.indicators}
    # 目标达成: attainment 120000/100000 = 1.2 → 100 (capped); customers 5/10 → 50;
    # objective (4×100 + 1×50)/5 = 90; score 90×80% + 80×20% = 88
    assert by_key["attainment"].objective == D("90.0") and by_key["attainment"].score == D("88.0")
    # 团队协作: answers 2/5 → 40; reminders (4−1)/4 → 75; objective 57.5; 57.5×60% + 70×40% = 62.5
    assert by_key["teamwork"].objective == D("57.5") and by_key["teamwork"].score == D("62.5")
    # 创新: accepted 1/3 → 33.33; from alarms 1/2 → 50; objective 41.67 → 41.7; 41.7×60% + 60×40% = 49.02
    assert by_key["innovation"].objective == D("41.7") and by_key["innovation"].score == D("49.0")
    # 专业知识: entries 2/3 → 66.7; 66.7×50% + 90×50% = 78.35 → 78.4 (each figure from the shown ones)
    assert by_key["knowledge"].objective == D("66.7") and by_key["knowledge"].score == D("78.4")
    # 领导力: a salesperson has no figure for the manager's metrics: all the manager's score
    assert by_key["leadership"].objective is None and by_key["leadership"].manager_share == 100
    assert by_key["leadership"].score == D("75.0")
    # total: 88×.4 + 62.5×.2 + 49×.2 + 78.4×.1 + 75×.1 = 35.2 + 12.5 + 9.8 + 7.84 + 7.5 = 72.84
    assert card.total == D("72.8") and card.rating == "合格"


def test_a_managers_leadership_counts_the_team():
    facts = Facts(team_won_amount=D(150), team_target=D(200), team_alarms=4, team_alarms_answered_in_a_day=3)
    values = domain.metric_values(facts, is_manager=True)
    leadership = domain.objective_score(domain.default_scheme().indicators[4], values)
    # team 150/200 → 75; alarms 3/4 → 75; objective 75
    assert leadership.objective == D("75.0") and leadership.manager_share == 50


def test_the_total_waits_for_every_manager_part():
    card = domain.score_card(domain.default_scheme(), domain.metric_values(LI, False), {})
    assert card.total is None and card.rating is None
    assert card.missing == ("attainment", "teamwork", "innovation", "knowledge", "leadership")


def test_a_metric_without_a_figure_leaves_the_indicator():
    values = domain.metric_values(Facts(customers_created=10), is_manager=False)  # no target
    attainment = domain.objective_score(domain.default_scheme().indicators[0], values)
    assert attainment.objective == D("100.0")  # only customers 10/10 counts
    assert ("attainment", None, None) in attainment.terms


def test_ratings_follow_configurable_bands():
    bands = domain.default_scheme().bands
    assert [domain.rating(D(t), bands) for t in ("90", "89.9", "80", "60", "59.9")] == [
        "优秀",
        "良好",
        "良好",
        "合格",
        "待改进",
    ]
    strict = domain.build_scheme(DEFAULT_SCHEME, {"excellent": "95", "good": "85", "pass": "70"}).bands
    assert domain.rating(D(90), strict) == "良好" and domain.rating(D(65), strict) == "待改进"


def test_ranks_share_equal_totals_and_skip():
    assert domain.ranks([(1, D(70)), (2, D(90)), (3, D(70)), (4, None), (5, D(60))]) == {
        2: 1,
        1: 2,
        3: 2,
        5: 4,
        4: None,
    }


def test_scores_are_0_to_100():
    assert domain.check_score("99.5", "teamwork") == D("99.5")
    for bad in ("-1", "100.1", "abc", "NaN"):
        with pytest.raises(InvalidScore):
            domain.check_score(bad, "teamwork")


def test_the_scorecard_states():
    assert domain.transition(State.DRAFT, "publish") == State.PUBLISHED
    assert domain.transition(State.PUBLISHED, "acknowledge") == State.ACKNOWLEDGED
    assert domain.transition(State.PUBLISHED, "dispute") == State.DISPUTED
    assert domain.transition(State.DISPUTED, "review") == State.REVIEWED
    for state, action in [
        (State.DRAFT, "acknowledge"),
        (State.ACKNOWLEDGED, "dispute"),
        (State.PUBLISHED, "review"),
        (State.REVIEWED, "publish"),
        (State.PUBLISHED, "score"),
    ]:
        with pytest.raises(WrongState):
            domain.transition(state, action)
    with pytest.raises(WrongState):
        domain.require_interviewable(State.DRAFT)
    domain.require_interviewable(State.DISPUTED)
