from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pipeline_fakes import stage_aggregates

from pipeline.constants import current_period, period_bounds
from pipeline.forecast import (
    METHOD_CHEBYSHEV,
    METHOD_NORMAL,
    StageAggregate,
    compute_forecast,
    roll_up,
    suggest_target,
)
from pipeline.stages import DEFAULT_STAGES

TEN_THOUSAND = Decimal("10000")


def _deals(*counts_by_key):
    """Deals of 10,000 each: ("s25", 40), … → [(stage_key, amount), …]."""
    return [(key, TEN_THOUSAND) for key, count in counts_by_key for _ in range(count)]


def _forecast(*counts_by_key, **options):
    return compute_forecast(stage_aggregates(DEFAULT_STAGES, _deals(*counts_by_key)), **options)


def test_worked_example_gives_490000_of_hidden_performance_and_is_reliable():
    forecast = _forecast(("s25", 40), ("s50", 30), ("s75", 20), ("s90", 10))

    assert forecast.weighted_total == Decimal("490000.00")
    assert [(row.probability, row.count, row.amount, row.weighted) for row in forecast.stages] == [
        (25, 40, Decimal("400000.00"), Decimal("100000.00")),
        (50, 30, Decimal("300000.00"), Decimal("150000.00")),
        (75, 20, Decimal("200000.00"), Decimal("150000.00")),
        (90, 10, Decimal("100000.00"), Decimal("90000.00")),
    ]
    assert forecast.sample_size == 100
    assert forecast.reliable


def test_thirteen_deals_are_not_reliable_and_fourteen_are():
    assert not _forecast(("s25", 4), ("s50", 3), ("s75", 3), ("s90", 3)).reliable
    assert _forecast(("s25", 4), ("s50", 4), ("s75", 3), ("s90", 3)).reliable


def test_reliability_threshold_is_configurable():
    assert _forecast(("s50", 13), min_sample=10).reliable
    assert not _forecast(("s50", 13), min_sample=20).reliable


def test_deals_outside_the_forecast_stages_do_not_count():
    forecast = _forecast(("s0", 50), ("s10", 50), ("s50", 2))
    assert forecast.weighted_total == Decimal("10000.00")
    assert forecast.sample_size == 2
    assert [row.stage for row in forecast.stages] == ["s25", "s50", "s75", "s90"]


def test_target_twenty_percent_above_the_forecast_shows_the_gap():
    forecast = _forecast(("s25", 40), ("s50", 30), ("s75", 20), ("s90", 10))
    target = suggest_target(forecast, Decimal(20))
    assert target == Decimal("588000.00")

    with_target = _forecast(("s25", 40), ("s50", 30), ("s75", 20), ("s90", 10), target=target)
    assert with_target.target == Decimal("588000.00")
    assert with_target.gap == Decimal("98000.00")
    assert with_target.target_above_forecast_pct == Decimal("20.00")


def test_target_below_the_forecast_gives_a_negative_gap():
    forecast = _forecast(("s90", 20), target=Decimal("150000"))
    assert forecast.gap == Decimal("-30000.00")
    assert forecast.target_above_forecast_pct == Decimal("-16.67")


def test_without_target_there_is_no_gap_and_with_nothing_weighted_no_percentage():
    assert _forecast(("s50", 20)).gap is None
    empty = _forecast(target=Decimal("1000"))
    assert empty.gap == Decimal("1000.00")
    assert empty.target_above_forecast_pct is None


def test_worked_example_interval_is_the_normal_approximation_at_90_percent():
    forecast = _forecast(("s25", 40), ("s50", 30), ("s75", 20), ("s90", 10))
    # Var = 10,000² × (40·.25·.75 + 30·.5·.5 + 20·.75·.25 + 10·.9·.1) = 10,000² × 19.65
    sigma = 10000 * 19.65**0.5
    assert forecast.standard_deviation == Decimal(str(round(sigma, 2)))
    assert forecast.interval.method == METHOD_NORMAL
    assert forecast.interval.level == 0.90
    assert float(forecast.interval.low) == pytest.approx(490000 - 1.644854 * sigma, abs=1)
    assert float(forecast.interval.high) == pytest.approx(490000 + 1.644854 * sigma, abs=1)


def test_few_deals_widen_the_interval_to_the_chebyshev_bound():
    forecast = _forecast(("s50", 13))
    sigma = float(forecast.standard_deviation)
    assert forecast.interval.method == METHOD_CHEBYSHEV
    chebyshev = sigma / (1 - 0.90) ** 0.5  # 3.16 σ against the normal's 1.64 σ
    assert float(forecast.weighted_total - forecast.interval.low) == pytest.approx(chebyshev, abs=0.02)
    assert float(forecast.interval.high - forecast.weighted_total) == pytest.approx(chebyshev, abs=0.02)


def test_interval_is_clipped_to_nothing_won_and_everything_won():
    forecast = _forecast(("s90", 1))
    assert forecast.weighted_total == Decimal("9000.00")
    assert forecast.interval.low == Decimal("0.00")
    assert forecast.interval.high == Decimal("10000.00")
    assert forecast.pipeline_amount == Decimal("10000.00")


def test_empty_pipeline_forecasts_zero_with_a_zero_width_interval():
    forecast = _forecast()
    assert forecast.weighted_total == Decimal("0.00")
    assert forecast.sample_size == 0
    assert not forecast.reliable
    assert (forecast.interval.low, forecast.interval.high) == (Decimal("0.00"), Decimal("0.00"))


def test_money_is_rounded_to_cents():
    forecast = compute_forecast(stage_aggregates(DEFAULT_STAGES, [("s75", Decimal("0.99"))]))
    assert forecast.weighted_total == Decimal("0.74")  # 0.7425
    assert forecast.stages[2].weighted == Decimal("0.74")


def _aggregate(key="x", probability=50, count=1, amount="100", amount_sq="10000", in_forecast=True):
    return StageAggregate(key, key, probability, in_forecast, count, Decimal(amount), Decimal(amount_sq))


@pytest.mark.parametrize(
    ("aggregates", "options"),
    [
        ([_aggregate(amount="-1")], {}),
        ([_aggregate(count=-1)], {}),
        ([_aggregate(probability=101)], {}),
        ([_aggregate(key="a"), _aggregate(key="a")], {}),
        ([_aggregate()], {"level": 1.0}),
        ([_aggregate()], {"level": 0}),
        ([_aggregate()], {"min_sample": -1}),
        ([_aggregate()], {"target": Decimal("-5")}),
    ],
    ids=[
        "negative-amount",
        "negative-count",
        "probability-over-100",
        "stage-twice",
        "level-1",
        "level-0",
        "negative-min-sample",
        "negative-target",
    ],
)
def test_malformed_input_is_refused(aggregates, options):
    with pytest.raises(ValueError):
        compute_forecast(aggregates, **options)


# --- properties of the forecast maths --------------------------------------------------------------

_FORECAST_KEYS = ["s25", "s50", "s75", "s90"]
_amounts = st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False, allow_infinity=False)
_deal_lists = st.lists(st.tuples(st.sampled_from(_FORECAST_KEYS + ["s0", "s10"]), _amounts), max_size=40)


@given(_deal_lists, st.sampled_from([0, 5, 14, 30]), st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99]))
def test_interval_holds_the_expectation_within_nothing_and_everything(deals, min_sample, level):
    forecast = compute_forecast(stage_aggregates(DEFAULT_STAGES, deals), min_sample=min_sample, level=level)
    assert Decimal(0) <= forecast.interval.low <= forecast.weighted_total
    assert forecast.weighted_total <= forecast.interval.high <= forecast.pipeline_amount


@given(_deal_lists)
def test_weighted_total_lies_between_nothing_and_every_forecast_amount(deals):
    forecast = compute_forecast(stage_aggregates(DEFAULT_STAGES, deals))
    in_forecast = sum((amount for key, amount in deals if key in _FORECAST_KEYS), Decimal(0))
    assert Decimal(0) <= forecast.weighted_total <= in_forecast


@given(_deal_lists.filter(bool), st.data(), _amounts)
def test_weighted_total_does_not_fall_when_an_amount_grows(deals, data, extra):
    index = data.draw(st.integers(0, len(deals) - 1))
    grown = list(deals)
    grown[index] = (deals[index][0], deals[index][1] + extra)
    before = compute_forecast(stage_aggregates(DEFAULT_STAGES, deals)).weighted_total
    after = compute_forecast(stage_aggregates(DEFAULT_STAGES, grown)).weighted_total
    assert after >= before


@given(
    st.lists(
        st.tuples(st.integers(0, 100), st.integers(0, 30), _amounts),
        min_size=1,
        max_size=6,
    ),
    st.data(),
)
def test_weighted_total_does_not_fall_when_a_probability_rises(stages, data):
    def aggregates(probabilities):
        return [
            _aggregate(
                key=f"k{i}", probability=p, count=count, amount=str(amount), amount_sq=str(amount * amount)
            )
            for i, (p, (_, count, amount)) in enumerate(zip(probabilities, stages, strict=True))
        ]

    probabilities = [p for p, _, _ in stages]
    index = data.draw(st.integers(0, len(stages) - 1))
    raised = list(probabilities)
    raised[index] = data.draw(st.integers(probabilities[index], 100))
    before = compute_forecast(aggregates(probabilities)).weighted_total
    after = compute_forecast(aggregates(raised)).weighted_total
    assert after >= before


# --- team roll-up -----------------------------------------------------------------------------------


def test_team_roll_up_adds_owners_deals_and_targets():
    wang = _forecast(("s25", 40), ("s50", 30), target=Decimal("300000"))
    li = _forecast(("s75", 20), ("s90", 10), target=Decimal("250000"))
    team = roll_up({"wang": wang, "li": li})

    assert team.total.weighted_total == Decimal("490000.00") == wang.weighted_total + li.weighted_total
    assert team.total.sample_size == 100
    assert team.total.target == Decimal("550000.00")
    assert team.total.gap == Decimal("60000.00")
    assert team.by_owner == {"wang": wang, "li": li}


def test_team_of_unreliable_owners_can_be_reliable_with_a_narrower_relative_interval():
    owners = {name: _forecast(("s50", 7)) for name in ("wang", "li", "zhao")}
    team = roll_up(owners)
    assert not any(f.reliable for f in owners.values())
    assert team.total.reliable
    owner = owners["wang"]
    owner_width = (owner.interval.high - owner.interval.low) / owner.weighted_total
    team_width = (team.total.interval.high - team.total.interval.low) / team.total.weighted_total
    assert team_width < owner_width


def test_team_target_given_explicitly_wins_over_the_owners_sum():
    team = roll_up({"wang": _forecast(("s50", 20), target=Decimal("1"))}, target=Decimal("200000"))
    assert team.total.target == Decimal("200000.00")


def test_team_without_any_target_has_no_gap():
    team = roll_up({"wang": _forecast(("s50", 20)), "li": _forecast(("s75", 2))})
    assert team.total.target is None
    assert team.total.gap is None


def test_empty_team_rolls_up_to_zero():
    assert roll_up({}).total.weighted_total == Decimal("0.00")


def test_forecasts_from_different_stage_sets_cannot_be_rolled_up():
    other = compute_forecast([_aggregate(key="s50", probability=60, count=1)])
    with pytest.raises(ValueError):
        roll_up({"wang": _forecast(("s50", 3)), "li": other})


# --- periods ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "bounds"),
    [
        ("2026-12", (date(2026, 12, 1), date(2026, 12, 31))),
        ("2026-01", (date(2026, 1, 1), date(2026, 1, 31))),
        ("2028-02", (date(2028, 2, 1), date(2028, 2, 29))),
        ("2026-Q1", (date(2026, 1, 1), date(2026, 3, 31))),
        ("2026-Q2", (date(2026, 4, 1), date(2026, 6, 30))),
        ("2026-Q4", (date(2026, 10, 1), date(2026, 12, 31))),
    ],
)
def test_period_bounds_cover_the_whole_month_or_quarter(period, bounds):
    assert period_bounds(period) == bounds


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "2026",
        "2026-13",
        "2026-00",
        "2026-Q5",
        "2026-Q0",
        "26-12",
        "2026-1",
        "2026/12",
        "2026-12 ",
        "２０２６-12",
        None,
    ],
)
def test_malformed_period_is_refused(junk):
    with pytest.raises(ValueError):
        period_bounds(junk)


def test_current_period_is_the_month_or_quarter_of_today():
    assert current_period(date(2026, 11, 15)) == "2026-11"
    assert current_period(date(2026, 11, 15), "quarter") == "2026-Q4"
    assert current_period(date(2026, 3, 31), "quarter") == "2026-Q1"
    with pytest.raises(ValueError):
        current_period(date(2026, 3, 31), "week")
