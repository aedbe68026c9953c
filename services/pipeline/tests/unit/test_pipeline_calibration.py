from datetime import datetime
from decimal import Decimal

import pytest
from pipeline_fakes import reached_counts

from pipeline.calibration import backtest_period, calibrate_counts, mean_absolute_error_pct, wilson_interval
from pipeline.forecast import StageAggregate
from pipeline.simulator import DealHistory, Outcome, check_true_rates, simulate_history
from pipeline.stages import DEFAULT_STAGES, Stage


def calibrate(deals, stages, level=None):
    """Calibration of deal histories: counted as the store counts (the fake's counting, held to the
    store's SQL by the contract test), then ``calibrate_counts`` as production runs it."""
    counts = reached_counts((deal.reached, Outcome(deal.outcome).value) for deal in deals)
    return calibrate_counts(counts, stages) if level is None else calibrate_counts(counts, stages, level)


TRUE_RATES = (0.10, 0.20, 0.35, 0.55, 0.75, 0.90, 1.0)
SIMULATED_STAGES = [(stage.key, rate) for stage, rate in zip(DEFAULT_STAGES, TRUE_RATES, strict=True)]


def test_calibration_recovers_every_true_rate_from_5000_simulated_deals():
    history = simulate_history(SIMULATED_STAGES, deals=5000, seed=20261)
    rows = calibrate(history, DEFAULT_STAGES)

    assert [row.stage_key for row in rows] == [s.key for s in DEFAULT_STAGES]
    for row, true_rate in zip(rows, TRUE_RATES, strict=True):
        assert row.observed_rate == pytest.approx(true_rate * 100, abs=5), row.stage_key
    assert rows[0].reached == 5000


def test_calibration_flags_stages_whose_configured_probability_is_off():
    rows = {
        r.stage_key: r for r in calibrate(simulate_history(SIMULATED_STAGES, 5000, seed=3), DEFAULT_STAGES)
    }
    assert rows["s0"].disagrees  # configured 0 %, truly 10 %
    assert abs(rows["s0"].suggested_probability - 10) <= 2
    assert rows["s25"].disagrees  # configured 25 %, truly 35 %
    assert not rows["s100"].disagrees


def _deals(*specs):
    return [DealHistory(tuple(reached), Outcome(outcome)) for reached, outcome in specs]


TWO_STAGES = [Stage("a", "A", 40, True), Stage("won", "成交", 100, False)]


def test_open_deals_and_skipped_stages_are_not_counted():
    deals = _deals(
        (["a", "won"], "won"),
        (["a"], "lost"),
        (["a"], "open"),
        (["won"], "won"),  # skipped "a"
    )
    a, won = calibrate(deals, TWO_STAGES)
    assert (a.reached, a.won, a.observed_rate) == (2, 1, 50.0)
    assert (won.reached, won.won) == (2, 2)


def test_outcomes_may_be_given_as_text_and_unknown_stage_keys_are_ignored():
    deals = [DealHistory(("a", "retired"), "won"), DealHistory(("a",), "lost")]  # type: ignore[arg-type]
    assert calibrate(deals, TWO_STAGES)[0].reached == 2
    with pytest.raises(ValueError):
        calibrate([DealHistory(("a",), "maybe")], TWO_STAGES)  # type: ignore[arg-type]


def test_stage_no_closed_deal_reached_has_no_rate_and_does_not_disagree():
    a, won = calibrate(_deals((["a"], "open")), TWO_STAGES)
    assert (a.reached, a.observed_rate, a.low, a.high, a.suggested_probability, a.disagrees) == (
        0,
        None,
        None,
        None,
        None,
        False,
    )


def test_configured_probability_inside_the_interval_agrees_and_outside_disagrees():
    deals = _deals(*([(["a", "won"], "won")] * 9 + [(["a"], "lost")] * 11))  # 45 %, 95 % CI ≈ 26–66 %
    a, _ = calibrate(deals, TWO_STAGES)
    assert a.low < 40 < a.high
    assert not a.disagrees
    stricter = [Stage("a", "A", 80, True), TWO_STAGES[1]]
    assert calibrate(deals, stricter)[0].disagrees


def test_suggestions_never_fall_from_one_stage_to_the_next():
    stages = [Stage("a", "A", 20, True), Stage("b", "B", 50, True), Stage("won", "成交", 100, False)]
    # a: 6 of 12 won, b: 4 of 10 won: inverted, so both get the pooled 10 of 22
    deals = _deals(
        *([(["a", "b", "won"], "won")] * 4 + [(["a", "won"], "won")] * 2 + [(["a", "b"], "lost")] * 6)
    )
    a, b, won = calibrate(deals, stages)
    assert (a.observed_rate, b.observed_rate) == (50.0, 40.0)
    assert a.suggested_probability == b.suggested_probability == 45
    assert won.suggested_probability == 100


@pytest.mark.parametrize(
    ("won", "reached", "low", "high"),
    [(5, 10, 0.2366, 0.7634), (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (81, 263, 0.2553, 0.3662)],
)
def test_wilson_interval_matches_published_values(won, reached, low, high):
    assert wilson_interval(won, reached) == pytest.approx((low, high), abs=1e-4)


@pytest.mark.parametrize(("won", "reached"), [(1, 0), (-1, 5), (6, 5)])
def test_wilson_interval_refuses_impossible_counts(won, reached):
    with pytest.raises(ValueError):
        wilson_interval(won, reached)


# --- backtest ---------------------------------------------------------------------------------------


def _worked_example():
    ten_thousand = Decimal(10000)
    return [
        StageAggregate(f"s{p}", f"{p}%", p, True, n, ten_thousand * n, ten_thousand * ten_thousand * n)
        for p, n in ((25, 40), (50, 30), (75, 20), (90, 10))
    ]


def test_backtest_sets_each_periods_forecast_against_what_was_won():
    rows = [
        backtest_period("2026-10", _worked_example(), Decimal("500000")),
        backtest_period("2026-11", _worked_example(), Decimal("392000")),
        backtest_period("2026-12", [], Decimal("0")),
    ]
    october, november, december = rows
    assert (october.forecast, october.actual, october.error, october.error_pct) == (
        Decimal("490000.00"),
        Decimal("500000.00"),
        Decimal("-10000.00"),
        Decimal("-2.00"),
    )
    assert october.within_interval
    assert november.error_pct == Decimal("25.00")
    assert not november.within_interval
    assert december.error_pct is None
    assert mean_absolute_error_pct(rows) == Decimal("13.50")


def test_backtest_of_no_periods_has_no_mean_error():
    assert mean_absolute_error_pct([]) is None


# --- simulator --------------------------------------------------------------------------------------


def test_same_seed_gives_the_same_history_and_another_seed_another():
    first = simulate_history(SIMULATED_STAGES, 200, seed=1)
    assert first == simulate_history(SIMULATED_STAGES, 200, seed=1)
    assert first != simulate_history(SIMULATED_STAGES, 200, seed=2)


def test_simulated_deals_move_forward_stage_by_stage_in_time():
    keys = [key for key, _ in SIMULATED_STAGES]
    for deal in simulate_history(SIMULATED_STAGES, 500, seed=5):
        assert list(deal.reached) == keys[: len(deal.reached)]
        assert (deal.outcome is Outcome.WON) == (deal.reached[-1] == "s100")
        assert deal.outcome in (Outcome.WON, Outcome.LOST)
        times = [move.at for move in deal.moves]
        assert times == sorted(times)
        assert deal.closed_at >= times[-1]
        assert Decimal(5000) <= deal.amount <= Decimal(200000)


def test_deals_still_running_at_the_cut_off_are_open_with_the_moves_made_by_then():
    as_of = datetime(2025, 7, 1)
    history = simulate_history(SIMULATED_STAGES, 1000, seed=9, as_of=as_of)
    open_deals = [deal for deal in history if deal.outcome is Outcome.OPEN]
    assert open_deals
    assert len(history) < 1000  # deals starting after the cut-off are not there yet
    assert all(deal.closed_at is None and all(m.at <= as_of for m in deal.moves) for deal in open_deals)
    assert all(deal.closed_at <= as_of for deal in history if deal.outcome is not Outcome.OPEN)


@pytest.mark.parametrize(
    "rates",
    [
        [("a", 1.0)],
        [("a", 0.0), ("b", 1.0)],
        [("a", 0.5), ("b", 0.4), ("c", 1.0)],
        [("a", 0.5), ("b", 0.9)],
        [("a", 0.5), ("b", 1.2)],
    ],
    ids=["one-stage", "zero-rate", "falling", "last-not-certain", "above-one"],
)
def test_simulator_refuses_inconsistent_true_rates(rates):
    with pytest.raises(ValueError):
        check_true_rates(rates)
    with pytest.raises(ValueError):
        simulate_history(rates, 10, seed=1)
