"""The pipeline service in a real container over a real broker and database: stages, deals,
targets, the forecast and the funnel, with DESIGN.md's worked examples."""

from decimal import Decimal

import pytest
from nameko.testing.services import entrypoint_waiter
from pipeline_support import (
    ADMIN,
    CHEN,
    LI,
    SUN,
    WANG,
    ZHAO,
    ZHOU,
    PipelineListener,
    add_customer,
    eventually,
    open_deals,
    rpc_as,
)

from crm_common.errors import Forbidden, InvalidInput, NotFound
from pipeline.exceptions import (
    AlreadyInStage,
    InvalidStageSet,
    NotYourCustomer,
    OpportunityClosed,
    OpportunityNotFound,
    ReasonRequired,
    StageInUse,
    UnknownOwner,
)

WORKED_EXAMPLE = {"s25": 40, "s50": 30, "s75": 20, "s90": 10}


# ---- stages -------------------------------------------------------------------------------------


def test_a_team_starts_with_the_sources_seven_stages(pipeline, service_config):
    with rpc_as(service_config, LI) as proxy:
        stage_set = proxy.get_stages()
    assert stage_set["version"] == 1 and stage_set["inherited"] and stage_set["current"]
    assert [(s["key"], s["name"], s["probability"], s["in_forecast"]) for s in stage_set["stages"]] == [
        ("s0", "潜在客户", 0, False),
        ("s10", "意向客户", 10, False),
        ("s25", "样品", 25, True),
        ("s50", "认可", 50, True),
        ("s75", "接受价格", 75, True),
        ("s90", "签约", 90, True),
        ("s100", "稳定供货", 100, False),
    ]


def _edited_stages(**changes):
    stages = [
        {"key": "s0", "name": "潜在客户", "probability": 0},
        {"key": "s10", "name": "意向客户", "probability": 10},
        {"key": "s25", "name": "送样", "probability": 30},
        {"key": "s50", "name": "认可", "probability": 50},
        {"key": "s75", "name": "接受价格", "probability": 75},
        {"key": "s90", "name": "签约", "probability": 90},
        {"key": "s100", "name": "稳定供货", "probability": 100},
    ]
    return [{**stage, **changes.get(stage["key"], {})} for stage in stages]


def test_a_manager_edits_the_teams_stages_as_a_new_version_and_old_forecasts_stay_explained(
    pipeline, service_config
):
    add_customer(501, LI)
    with rpc_as(service_config, LI) as proxy:
        open_deals(proxy, 501, {"s25": 2})
        before = proxy.get_forecast()
    with rpc_as(service_config, WANG) as proxy:
        edited = proxy.set_stages({"stages": _edited_stages()})
    assert edited["version"] > 1 and edited["team"] == "east" and not edited["inherited"]
    assert [s["in_forecast"] for s in edited["stages"]] == [False, False, True, True, True, True, False]

    with rpc_as(service_config, LI) as proxy:
        after = proxy.get_forecast()
        old = proxy.get_stages({"version": before["stage_set_version"]})
    # the deals stay in their stage (by key); only the probability changed
    assert before["stage_set_version"] == 1 and Decimal(before["weighted_total"]) == Decimal("5000.00")
    assert after["stage_set_version"] == edited["version"] and Decimal(after["weighted_total"]) == Decimal(
        "6000.00"
    )
    assert not old["current"] and old["stages"][2] == {
        "key": "s25",
        "name": "样品",
        "probability": 25,
        "in_forecast": True,
    }

    with rpc_as(service_config, SUN) as proxy:  # another team keeps the company default
        assert proxy.get_stages()["version"] == 1


def test_only_managers_and_admins_edit_stages_and_only_their_own_team(pipeline, service_config):
    with rpc_as(service_config, LI) as proxy, pytest.raises(Forbidden):
        proxy.set_stages({"stages": _edited_stages()})
    with rpc_as(service_config, ZHOU) as proxy, pytest.raises(Forbidden):
        proxy.set_stages({"team": "east", "stages": _edited_stages()})
    with rpc_as(service_config, ADMIN) as proxy:
        assert proxy.set_stages({"team": "west", "stages": _edited_stages()})["team"] == "west"


def test_an_invalid_stage_set_is_refused_with_every_problem(pipeline, service_config):
    broken = _edited_stages(s50={"probability": 20}, s100={"probability": 95}, s10={"name": "潜在客户"})
    with rpc_as(service_config, WANG) as proxy, pytest.raises(InvalidStageSet) as refused:
        proxy.set_stages({"stages": broken})
    assert set(refused.value.details) >= {"stages[3].probability", "stages[6].probability", "stages[1].name"}
    with rpc_as(service_config, WANG) as proxy, pytest.raises(InvalidInput) as refused:
        proxy.set_stages({"stages": [{"key": "a", "name": "A", "probability": "50"}]})
    assert "stages" in refused.value.details


def test_a_stage_holding_open_deals_cannot_be_dropped(pipeline, service_config):
    add_customer(501, LI)
    with rpc_as(service_config, LI) as proxy:
        open_deals(proxy, 501, {"s75": 3})
    without_75 = [stage for stage in _edited_stages() if stage["key"] != "s75"]
    with rpc_as(service_config, WANG) as proxy, pytest.raises(StageInUse) as refused:
        proxy.set_stages({"stages": without_75})
    assert refused.value.details == {"s75": ["3 open deals sit here"]}


# ---- opportunities ------------------------------------------------------------------------------


def test_a_deal_moves_forward_and_back_and_every_move_is_recorded(pipeline, service_config, listener):
    add_customer(501, LI)
    with rpc_as(service_config, LI) as proxy:
        deal = proxy.create_opportunity(
            {"customer_id": 501, "title": "年度供货", "amount": 12345.6, "expected_close_date": "2026-12-15"}
        )
        assert (deal["stage"], deal["status"], deal["amount"], deal["currency"]) == (
            "s0",
            "open",
            "12345.60",
            "CNY",
        )
        proxy.move_opportunity(deal["id"], {"stage": "s25"})
        moved = proxy.move_opportunity(deal["id"], {"stage": "s10"})
    assert [(c["kind"], c["from_stage"], c["to_stage"], c["changed_by"]) for c in moved["history"]] == [
        ("created", None, "s0", LI[0]),
        ("moved", "s0", "s25", LI[0]),
        ("moved", "s25", "s10", LI[0]),
    ]
    assert all(change["changed_at"].startswith("2026-11-20T02:00") for change in moved["history"])
    eventually(lambda: len(PipelineListener.of_type("opportunity_stage_changed")) == 2)
    changes = PipelineListener.of_type("opportunity_stage_changed")
    back = next(event["data"] for event in changes if event["data"]["from_stage"] == "s25")
    assert back == {
        "opportunity_id": deal["id"],
        "customer_id": 501,
        "owner_id": LI[0],
        "team": "east",
        "amount": "12345.60",
        "currency": "CNY",
        "from_stage": "s25",
        "to_stage": "s10",
        "probability": 10,
        "stage_set_version": 1,
        "changed_by": LI[0],
        "changed_by_name": "李娜",
    }


def test_a_deal_needs_a_customer_of_ones_own(pipeline, service_config):
    add_customer(501, LI)
    add_customer(502, ZHAO)
    with rpc_as(service_config, LI) as proxy:
        with pytest.raises(Forbidden):  # customers does not even show LI the customer
            proxy.create_opportunity({"customer_id": 502, "title": "x", "amount": "1"})
        with pytest.raises(NotFound):
            proxy.create_opportunity({"customer_id": 999, "title": "x", "amount": "1"})
    with rpc_as(service_config, WANG) as proxy, pytest.raises(NotYourCustomer):
        proxy.create_opportunity({"customer_id": 501, "title": "x", "amount": "1"})


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "x", "amount": "1"}, "customer_id"),
        ({"customer_id": "501", "title": "x", "amount": "1"}, "customer_id"),
        ({"customer_id": 501, "title": " ", "amount": "1"}, "title"),
        ({"customer_id": 501, "title": "x", "amount": "-5"}, "amount"),
        ({"customer_id": 501, "title": "x", "amount": "0"}, "amount"),
        ({"customer_id": 501, "title": "x", "amount": "abc"}, "amount"),
        ({"customer_id": 501, "title": "x", "amount": "1.005"}, "amount"),
        ({"customer_id": 501, "title": "x", "amount": "1e20"}, "amount"),
        ({"customer_id": 501, "title": "x", "amount": "1", "currency": "USD"}, "currency"),
        (
            {"customer_id": 501, "title": "x", "amount": "1", "expected_close_date": "2026-02-30"},
            "expected_close_date",
        ),
        ({"customer_id": 501, "title": "x", "amount": "1", "stage": "s33"}, "stage"),
        ({"customer_id": 501, "title": "x", "amount": "1", "stage": "s100"}, "stage"),
    ],
)
def test_a_malformed_deal_is_refused_with_the_field_at_fault(pipeline, service_config, payload, field):
    add_customer(501, LI)
    with rpc_as(service_config, LI) as proxy, pytest.raises(InvalidInput) as refused:
        proxy.create_opportunity(payload)
    assert field in refused.value.details


def test_won_and_lost_end_a_deal_with_a_reason(pipeline, service_config, listener):
    add_customer(501, LI)
    with rpc_as(service_config, LI) as proxy:
        first, second = open_deals(proxy, 501, {"s90": 2})
        with pytest.raises(ReasonRequired):
            proxy.move_opportunity(first["id"], {"stage": "s100"})
        with pytest.raises(InvalidInput):
            proxy.win_opportunity(first["id"], {"reason": "  "})
        with entrypoint_waiter(listener, "on_won", timeout=10):
            won = proxy.win_opportunity(first["id"], {"reason": "第三次送货完成"})
        with entrypoint_waiter(listener, "on_lost", timeout=10):
            lost = proxy.lose_opportunity(second["id"], {"reason": "价格太高"})
        with pytest.raises(OpportunityClosed):
            proxy.move_opportunity(first["id"], {"stage": "s50"})
        with pytest.raises(OpportunityClosed):
            proxy.lose_opportunity(first["id"], {"reason": "changed my mind"})
        with pytest.raises(AlreadyInStage):
            proxy.move_opportunity(open_deals(proxy, 501, {"s50": 1})[0]["id"], {"stage": "s50"})
    assert (won["status"], won["stage"], won["close_reason"]) == ("won", "s100", "第三次送货完成")
    assert won["history"][-1]["kind"] == "won" and won["closed_by"] == LI[0]
    assert (lost["status"], lost["stage"], lost["close_reason"]) == ("lost", "s90", "价格太高")
    assert PipelineListener.of_type("opportunity_won")[0]["data"]["reason"] == "第三次送货完成"
    assert PipelineListener.of_type("opportunity_lost")[0]["data"]["amount"] == "10000.00"


def test_a_deal_is_seen_and_moved_by_its_owner_and_the_teams_manager_only(pipeline, service_config):
    add_customer(501, LI)
    with rpc_as(service_config, LI) as proxy:
        deal = proxy.create_opportunity({"customer_id": 501, "title": "x", "amount": "100", "stage": "s10"})
    for outsider in (ZHAO, ZHOU, SUN):
        with rpc_as(service_config, outsider) as proxy:
            with pytest.raises(OpportunityNotFound):
                proxy.get_opportunity(deal["id"])
            with pytest.raises(OpportunityNotFound):
                proxy.move_opportunity(deal["id"], {"stage": "s25"})
            assert proxy.list_opportunities() == []
    with rpc_as(service_config, WANG) as proxy:
        assert proxy.move_opportunity(deal["id"], {"stage": "s25"})["history"][-1]["changed_by"] == WANG[0]
        assert [d["id"] for d in proxy.list_opportunities({"owner": LI[0], "status": "open"})] == [deal["id"]]
    with rpc_as(service_config, ZHAO) as proxy, pytest.raises(Forbidden):
        proxy.list_opportunities({"owner": LI[0]})


# ---- forecast -----------------------------------------------------------------------------------


def test_worked_example_forecasts_490000_reliable_and_a_target_20_percent_above(pipeline, service_config):
    add_customer(501, LI)
    with rpc_as(service_config, LI) as proxy:
        open_deals(proxy, 501, {**WORKED_EXAMPLE, "s0": 3, "s10": 4})
        forecast = proxy.get_forecast()
    assert forecast["period"] == "2026-11" and forecast["owner_id"] == LI[0]
    assert forecast["weighted_total"] == "490000.00"
    assert [
        (s["stage"], s["probability"], s["count"], s["amount"], s["weighted"]) for s in forecast["stages"]
    ] == [
        ("s25", 25, 40, "400000.00", "100000.00"),
        ("s50", 50, 30, "300000.00", "150000.00"),
        ("s75", 75, 20, "200000.00", "150000.00"),
        ("s90", 90, 10, "100000.00", "90000.00"),
    ]
    assert forecast["sample_size"] == 100 and forecast["reliable"]
    interval = forecast["interval"]
    assert interval["method"] == "normal" and interval["level"] == 0.9
    # Var = 10,000² × (40·.25·.75 + 30·.5·.5 + 20·.75·.25 + 10·.9·.1); 90 %: ± 1.6449 σ
    half_width = 1.6448536 * 10000 * 19.65**0.5
    assert float(interval["low"]) == pytest.approx(490000 - half_width, abs=1)
    assert float(interval["high"]) == pytest.approx(490000 + half_width, abs=1)
    assert forecast["target"] is None and forecast["gap"] is None
    assert forecast["suggested_target"] == "588000.00"

    with rpc_as(service_config, WANG) as proxy:
        proxy.set_target({"owner": LI[0], "period": "2026-11", "amount": forecast["suggested_target"]})
    with rpc_as(service_config, LI) as proxy:
        with_target = proxy.get_forecast({"period": "2026-11"})
    assert (with_target["target"], with_target["gap"], with_target["target_above_forecast_pct"]) == (
        "588000.00",
        "98000.00",
        "20.00",
    )


def test_thirteen_deals_are_not_reliable_and_get_the_wider_interval(pipeline, service_config):
    add_customer(501, LI)
    with rpc_as(service_config, LI) as proxy:
        open_deals(proxy, 501, {"s25": 4, "s50": 3, "s75": 3, "s90": 3})
        forecast = proxy.get_forecast()
    assert forecast["sample_size"] == 13 and not forecast["reliable"] and forecast["min_sample"] == 14
    assert forecast["interval"]["method"] == "chebyshev"
    assert forecast["weighted_total"] == "74500.00"


def test_a_deal_counts_in_the_period_of_its_expected_close_date_or_else_in_the_current_one(
    pipeline, service_config
):
    add_customer(501, LI)
    with rpc_as(service_config, LI) as proxy:
        open_deals(proxy, 501, {"s50": 1}, amount="100", expected_close_date="2026-11-30")
        open_deals(proxy, 501, {"s50": 1}, amount="1000")  # no date: the current period
        open_deals(proxy, 501, {"s50": 1}, amount="10000", expected_close_date="2026-12-01")
        open_deals(proxy, 501, {"s50": 1}, amount="100000", expected_close_date="2027-01-15")
        november = proxy.get_forecast({"period": "2026-11"})
        december = proxy.get_forecast({"period": "2026-12"})
        quarter = proxy.get_forecast({"period": "2026-Q4"})
        with pytest.raises(InvalidInput) as refused:
            proxy.get_forecast({"period": "2026-13"})
    assert november["weighted_total"] == "550.00" and november["sample_size"] == 2
    assert december["weighted_total"] == "5000.00"
    assert quarter["weighted_total"] == "5550.00"
    assert (quarter["period_start"], quarter["period_end"]) == ("2026-10-01", "2026-12-31")
    assert "period" in refused.value.details


def test_a_salesperson_sees_only_their_own_forecast_and_a_manager_the_team(pipeline, service_config):
    add_customer(501, LI)
    add_customer(502, ZHAO)
    with rpc_as(service_config, LI) as proxy:
        open_deals(proxy, 501, {"s50": 2})
        for other in ({"owner": ZHAO[0]}, {"team": "east"}, {"owner": SUN[0]}):
            with pytest.raises(Forbidden):
                proxy.get_forecast(other)
    with rpc_as(service_config, ZHAO) as proxy:
        open_deals(proxy, 502, {"s90": 1})
        assert proxy.get_forecast()["weighted_total"] == "9000.00"

    with rpc_as(service_config, WANG) as proxy:
        team = proxy.get_forecast()
        one = proxy.get_forecast({"owner": LI[0]})
        with pytest.raises(Forbidden):
            proxy.get_forecast({"owner": SUN[0]})
        with pytest.raises(Forbidden):
            proxy.get_forecast({"team": "west"})
        with pytest.raises(NotFound):
            proxy.get_forecast({"owner": 4242})
    assert team["owner_id"] is None and team["team"] == "east"
    assert team["weighted_total"] == "19000.00" and team["sample_size"] == 3
    assert [(o["owner_id"], o["display_name"], o["weighted_total"]) for o in team["by_owner"]] == [
        (LI[0], "李娜", "10000.00"),
        (ZHAO[0], "赵强", "9000.00"),
        (CHEN[0], "陈静", "0.00"),  # in the team, nothing in the pipeline yet
    ]
    assert one["weighted_total"] == "10000.00"
    with rpc_as(service_config, ADMIN) as proxy:
        assert proxy.get_forecast({"team": "east"})["weighted_total"] == "19000.00"
        with pytest.raises(InvalidInput):
            proxy.get_forecast()


def test_team_target_and_quarter_targets_from_months(pipeline, service_config, listener):
    add_customer(501, LI)
    with rpc_as(service_config, LI) as proxy:
        open_deals(proxy, 501, {"s90": 10})
    with rpc_as(service_config, WANG) as proxy:
        with entrypoint_waiter(listener, "on_target_set", timeout=10):
            proxy.set_target({"owner": None, "period": "2026-11", "amount": "120000"})
        proxy.set_target({"owner": LI[0], "period": "2026-10", "amount": "30000"})
        proxy.set_target({"owner": LI[0], "period": "2026-11", "amount": "50000"})
        proxy.set_target({"owner": LI[0], "period": "2026-11", "amount": "60000"})  # replaces
        team = proxy.get_forecast()
        quarter = proxy.get_forecast({"owner": LI[0], "period": "2026-Q4"})
        targets = proxy.list_targets()
    assert (team["target"], team["gap"]) == ("120000.00", "30000.00")
    assert team["by_owner"][0]["target"] == "60000.00"
    assert quarter["target"] == "90000.00"  # no quarter target: October's and November's added
    assert [(t["owner_id"], t["period"], t["amount"]) for t in targets] == [
        (LI[0], "2026-10", "30000.00"),
        (LI[0], "2026-11", "60000.00"),
        (None, "2026-11", "120000.00"),
    ]
    assert PipelineListener.of_type("target_set")[0]["data"] == {
        "owner_id": None,
        "team": "east",
        "period": "2026-11",
        "amount": "120000.00",
        "set_by": WANG[0],
        "set_by_name": "王芳",
    }


def test_salespeople_read_their_own_targets_and_set_none(pipeline, service_config):
    with rpc_as(service_config, WANG) as proxy:
        proxy.set_target({"owner": LI[0], "period": "2026-12", "amount": "1000"})
        proxy.set_target({"owner": ZHAO[0], "period": "2026-12", "amount": "2000"})
        with pytest.raises(Forbidden):
            proxy.set_target({"owner": SUN[0], "period": "2026-12", "amount": "1000"})
        with pytest.raises(UnknownOwner):
            proxy.set_target({"owner": 4242, "period": "2026-12", "amount": "1000"})
        with pytest.raises(InvalidInput) as refused:
            proxy.set_target({"owner": LI[0], "period": "2026-Q5", "amount": "-1"})
        assert set(refused.value.details) == {"period", "amount"}
    with rpc_as(service_config, LI) as proxy:
        assert [t["amount"] for t in proxy.list_targets()] == ["1000.00"]
        with pytest.raises(Forbidden):
            proxy.set_target({"owner": LI[0], "period": "2026-12", "amount": "9999999"})
    with rpc_as(service_config, ZHOU) as proxy:
        assert proxy.list_targets() == []


# ---- funnel -------------------------------------------------------------------------------------


def test_source_funnel_advises_to_fill_the_top_push_25_to_50_and_close_the_pile_up_at_90(
    pipeline, service_config
):
    add_customer(501, LI)
    with rpc_as(service_config, LI) as proxy:
        open_deals(
            proxy, 501, {"s0": 10, "s10": 50, "s25": 60, "s50": 10, "s75": 20, "s90": 40}, amount="100"
        )
        funnel = proxy.get_funnel()
    assert [(s["stage"], s["count"]) for s in funnel["stages"]] == [
        ("s0", 10),
        ("s10", 50),
        ("s25", 60),
        ("s50", 10),
        ("s75", 20),
        ("s90", 40),
        ("s100", 0),
    ]
    assert funnel["stages"][2]["amount"] == "6000.00"
    assert [(a["kind"], a["from_stage"], a["to_stage"], a["count"]) for a in funnel["advice"]] == [
        ("pile_up", "s90", "s100", 20),
        ("push", "s25", "s50", 10),
        ("prospect", None, "s0", 40),
    ]
    assert "新开发40个客户" in funnel["advice"][2]["message"]
    assert "把25%阶段的60个客户中的10个推进到50%" in funnel["advice"][1]["message"]


def test_a_manager_sees_the_team_funnel_comparing_salespeople(pipeline, service_config):
    add_customer(501, LI)
    add_customer(502, ZHAO)
    with rpc_as(service_config, LI) as proxy:
        deals = open_deals(proxy, 501, {"s25": 12, "s50": 2})
        proxy.win_opportunity(deals[0]["id"], {"reason": "签了"})
    with rpc_as(service_config, ZHAO) as proxy:
        open_deals(proxy, 502, {"s25": 1})
    with rpc_as(service_config, WANG) as proxy:
        funnel = proxy.get_funnel()
    assert funnel["team"] == "east" and funnel["owner_id"] is None
    assert {s["stage"]: s["count"] for s in funnel["stages"]}["s25"] == 12
    assert {s["stage"]: s["count"] for s in funnel["stages"]}["s100"] == 1  # won this month
    assert [o["owner_id"] for o in funnel["by_owner"]] == [LI[0], ZHAO[0], CHEN[0]]
    at_25 = next(row for row in funnel["comparison"] if row["stage"] == "s25")
    assert at_25["counts"] == {str(LI[0]): 11, str(ZHAO[0]): 1, str(CHEN[0]): 0}
    assert at_25["median"] == 1.0 and at_25["far_above"] == [LI[0]]
    with rpc_as(service_config, LI) as proxy, pytest.raises(Forbidden):
        proxy.get_funnel({"owner": ZHAO[0]})
