from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pipeline_fakes import stage_aggregates

from crm_common.caller import Caller
from crm_common.errors import Forbidden, InvalidInput, NotFound
from pipeline import domain
from pipeline.calibration import StageCount, backtest_period, calibrate_counts
from pipeline.exceptions import (
    AlreadyInStage,
    InvalidStageSet,
    OpportunityClosed,
    ReasonRequired,
    UnknownStage,
)
from pipeline.stages import DEFAULT_STAGES, Stage

LI = Caller(11, "li", "sales", "east")
WANG = Caller(10, "wang", "manager", "east")
ADMIN = Caller(1, "admin", "admin", None)
TEAMS = {11: "east", 12: "east", 21: "west"}


def team_of(user_id):
    if user_id not in TEAMS:
        raise NotFound(f"no user {user_id}")
    return TEAMS[user_id]


def test_a_salesperson_gets_their_own_figures_and_nobody_elses():
    assert domain.report_scope(LI, None, None, team_of) == domain.Scope(11, "east")
    assert domain.report_scope(LI, 11, None, team_of) == domain.Scope(11, "east")
    for owner, team in ((12, None), (None, "east"), (21, None)):
        with pytest.raises(Forbidden):
            domain.report_scope(LI, owner, team, team_of)


def test_a_manager_gets_the_team_by_default_and_any_member_but_not_other_teams():
    assert domain.report_scope(WANG, None, None, team_of) == domain.Scope(None, "east")
    assert domain.report_scope(WANG, 12, None, team_of) == domain.Scope(12, "east")
    with pytest.raises(Forbidden):
        domain.report_scope(WANG, 21, None, team_of)
    with pytest.raises(Forbidden):
        domain.report_scope(WANG, None, "west", team_of)
    with pytest.raises(NotFound):
        domain.report_scope(WANG, 99, None, team_of)


def test_an_admin_without_a_team_must_say_which():
    assert domain.report_scope(ADMIN, None, "west", team_of) == domain.Scope(None, "west")
    assert domain.report_scope(ADMIN, 21, None, team_of) == domain.Scope(21, "west")
    with pytest.raises(InvalidInput):
        domain.report_scope(ADMIN, None, None, team_of)


def test_stages_are_edited_by_the_teams_manager_or_an_admin():
    assert domain.stage_set_team_to_edit(WANG, None) == "east"
    assert domain.stage_set_team_to_edit(ADMIN, None) is None  # the company default
    assert domain.stage_set_team_to_edit(ADMIN, "west") == "west"
    with pytest.raises(Forbidden):
        domain.stage_set_team_to_edit(LI, None)
    with pytest.raises(Forbidden):
        domain.stage_set_team_to_edit(WANG, "west")


def test_an_edit_that_does_not_say_counts_the_25_to_90_percent_stages_in_the_forecast():
    stages = domain.build_stage_set(
        [
            {"key": "a", "name": " 初识 ", "probability": 20},
            {"key": "b", "name": "样品", "probability": 25, "in_forecast": False},
            {"key": "c", "name": "谈判", "probability": 60},
            {"key": "d", "name": "签约", "probability": 95},
            {"key": "won", "name": "成交", "probability": 100},
        ]
    )
    assert [(s.name, s.in_forecast) for s in stages] == [
        ("初识", False),
        ("样品", False),
        ("谈判", True),
        ("签约", False),
        ("成交", False),
    ]
    with pytest.raises(InvalidStageSet) as refused:
        domain.build_stage_set([{"key": "a", "name": "A", "probability": 50}])
    assert "stages" in refused.value.details


def test_a_deal_moves_forward_or_back_but_not_when_closed_nor_into_the_won_stage():
    assert domain.check_move("open", "s25", "s10", DEFAULT_STAGES).key == "s10"
    assert domain.check_move("open", "s25", "s90", DEFAULT_STAGES).key == "s90"
    with pytest.raises(OpportunityClosed):
        domain.check_move("won", "s100", "s90", DEFAULT_STAGES)
    with pytest.raises(AlreadyInStage):
        domain.check_move("open", "s25", "s25", DEFAULT_STAGES)
    with pytest.raises(ReasonRequired):
        domain.check_move("open", "s90", "s100", DEFAULT_STAGES)
    with pytest.raises(UnknownStage):
        domain.check_move("open", "s90", "s95", DEFAULT_STAGES)


WEST = (
    Stage("new", "新", 0, False),
    Stage("s50", "认可", 50, True),
    Stage("deal", "签约", 90, True),
    Stage("won", "成交", 100, False),
)


@pytest.mark.parametrize(
    ("key", "probability", "lands"),
    [("s50", 50, "s50"), ("s75", 75, "s50"), ("s90", 90, "deal"), ("s10", 10, "new"), ("s100", 100, "deal")],
)
def test_a_deal_entering_another_teams_stages_never_moves_forward(key, probability, lands):
    assert domain.stage_after_team_change(key, probability, WEST).key == lands


def test_targets_are_set_by_managers_of_the_team():
    assert domain.target_team(WANG, 11, "east", None) == "east"
    assert domain.target_team(WANG, None, None, None) == "east"
    with pytest.raises(Forbidden):
        domain.target_team(WANG, 21, "west", None)
    with pytest.raises(InvalidInput):
        domain.target_team(WANG, 11, "east", "west")
    with pytest.raises(Forbidden):
        domain.target_team(LI, 11, "east", None)
    with pytest.raises(InvalidInput):
        domain.target_team(ADMIN, None, None, None)


def test_a_quarter_without_a_target_adds_up_its_months():
    amounts = {"2026-10": Decimal(100), "2026-12": Decimal(50)}
    assert domain.resolve_target("2026-Q4", amounts) == Decimal(150)
    assert domain.resolve_target("2026-Q4", {**amounts, "2026-Q4": Decimal(400)}) == Decimal(400)
    assert domain.resolve_target("2026-11", amounts) is None
    assert domain.resolve_target("2026-Q3", amounts) is None


def test_today_and_periods_follow_the_teams_calendar():
    late_evening_utc = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # already 1 December in Shanghai
    assert domain.local_today(late_evening_utc, "Asia/Shanghai") == date(2026, 12, 1)
    since, until = domain.period_instants("2026-12", "Asia/Shanghai")
    assert (since, until) == (datetime(2026, 11, 30, 16, tzinfo=UTC), datetime(2026, 12, 31, 16, tzinfo=UTC))
    assert domain.months_before(date(2026, 2, 10), 3) == ["2025-11", "2025-12", "2026-01"]


def test_calibration_from_counts_matches_calibration_from_histories():
    rows = calibrate_counts(
        {"s50": StageCount(reached=10, won=6), "s100": StageCount(6, 6), "gone": StageCount(3, 1)},
        DEFAULT_STAGES,
    )
    by_key = {row.stage_key: row for row in rows}
    assert (by_key["s50"].observed_rate, by_key["s50"].disagrees) == (60.0, False)
    assert by_key["s25"].reached == 0 and by_key["s25"].observed_rate is None
    with pytest.raises(ValueError):
        calibrate_counts({"s50": StageCount(reached=2, won=3)}, DEFAULT_STAGES)


def test_backtest_period_from_aggregates():
    aggregates = stage_aggregates(
        DEFAULT_STAGES, [("s50", Decimal(10000)), ("s90", Decimal(20000)), ("s10", Decimal(5))]
    )
    row = backtest_period("2026-10", aggregates, Decimal(18000))
    assert (row.forecast, row.actual, row.error, row.error_pct) == (
        Decimal("23000.00"),
        Decimal("18000.00"),
        Decimal("5000.00"),
        Decimal("27.78"),
    )
