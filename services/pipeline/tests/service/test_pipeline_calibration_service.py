"""Calibration and backtest computed by the service from the history in its database."""

from datetime import UTC, date, datetime

import pytest
from pipeline_support import LI, WANG, ZHOU, insert_history, rpc_as

from crm_common.errors import Forbidden
from pipeline.simulator import simulate_history
from pipeline.stages import DEFAULT_STAGES

TRUE_RATES = (0.10, 0.20, 0.35, 0.55, 0.75, 0.90, 1.0)
PROBABILITY = {stage.key: stage.probability for stage in DEFAULT_STAGES}


def _simulated_deals(count, seed):
    history = simulate_history(
        [(stage.key, rate) for stage, rate in zip(DEFAULT_STAGES, TRUE_RATES, strict=True)],
        deals=count,
        seed=seed,
        start=datetime(2025, 1, 1),
        as_of=datetime(2026, 10, 1),
    )
    return [
        {
            "owner_id": LI[0],
            "team": "east",
            "amount": deal.amount,
            "status": deal.outcome.value,
            "closed_at": deal.closed_at.replace(tzinfo=UTC) if deal.closed_at else None,
            "moves": [
                (move.stage_key, PROBABILITY[move.stage_key], move.at.replace(tzinfo=UTC))
                for move in deal.moves
            ],
        }
        for deal in history
    ]


def test_calibration_from_the_database_recovers_the_simulated_true_rates(pipeline, service_config, db_url):
    insert_history(db_url, _simulated_deals(5000, seed=20261))
    with rpc_as(service_config, WANG) as proxy:
        calibration = proxy.get_calibration({"periods": 3})
    rows = calibration["stages"]
    assert [row["stage"] for row in rows] == [stage.key for stage in DEFAULT_STAGES]
    for row, true_rate in zip(rows, TRUE_RATES, strict=True):
        assert row["observed_rate"] == pytest.approx(true_rate * 100, abs=5), row["stage"]
        assert row["low"] <= row["observed_rate"] <= row["high"]
    by_key = {row["stage"]: row for row in rows}
    assert by_key["s0"]["disagrees"] and by_key["s0"]["configured_probability"] == 0
    assert abs(by_key["s0"]["suggested_probability"] - 10) <= 3
    assert not by_key["s100"]["disagrees"] and by_key["s100"]["suggested_probability"] == 100
    assert [row["period"] for row in calibration["backtest"]] == ["2026-08", "2026-09", "2026-10"]


def _at(day, hour=4):
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)  # noon in Shanghai


BACKTEST_HISTORY = [
    # open at 1 October at 50 %, due in October, won in October
    {
        "amount": "10000",
        "status": "won",
        "expected_close_date": date(2026, 10, 20),
        "closed_at": _at(date(2026, 10, 10)),
        "moves": [("s50", 50, _at(date(2026, 9, 15))), ("s100", 100, _at(date(2026, 10, 10)))],
    },
    # open at 1 October at 90 % without a date (so due in October), lost in October
    {
        "amount": "20000",
        "status": "lost",
        "closed_at": _at(date(2026, 10, 25)),
        "moves": [("s90", 90, _at(date(2026, 9, 1)))],
    },
    # at 75 % on 1 October (moved there in September) and due in October, still open
    {
        "amount": "12000",
        "status": "open",
        "expected_close_date": date(2026, 10, 31),
        "moves": [("s10", 10, _at(date(2026, 8, 1))), ("s75", 75, _at(date(2026, 9, 20)))],
    },
    # due in November: not in October's forecast
    {
        "amount": "40000",
        "status": "open",
        "expected_close_date": date(2026, 11, 30),
        "moves": [("s25", 25, _at(date(2026, 9, 2))), ("s75", 75, _at(date(2026, 10, 5)))],
    },
    # opened and won within October: in what was won, not in the forecast made on the 1st
    {
        "amount": "8000",
        "status": "won",
        "closed_at": _at(date(2026, 10, 20)),
        "moves": [("s50", 50, _at(date(2026, 10, 3))), ("s100", 100, _at(date(2026, 10, 20)))],
    },
]


def test_backtest_sets_the_forecast_at_each_months_start_against_what_was_won(
    pipeline, service_config, db_url
):
    insert_history(db_url, [{"owner_id": LI[0], "team": "east", **deal} for deal in BACKTEST_HISTORY])
    with rpc_as(service_config, WANG) as proxy:
        calibration = proxy.get_calibration({"periods": 2})
    september, october = calibration["backtest"]
    assert (september["period"], september["forecast"], september["actual"], september["error_pct"]) == (
        "2026-09",
        "0.00",
        "0.00",
        None,
    )
    assert (october["forecast"], october["actual"], october["error"], october["error_pct"]) == (
        "32000.00",  # 10,000 × 50 % + 20,000 × 90 % + 12,000 × 75 %
        "18000.00",
        "14000.00",
        "77.78",
    )
    assert october["stage_set_version"] == 1
    assert calibration["backtest_mean_absolute_error_pct"] == "77.78"
    s90 = next(row for row in calibration["stages"] if row["stage"] == "s90")
    assert (s90["reached"], s90["won"]) == (1, 0)


def test_calibration_is_for_managers_of_the_team(pipeline, service_config):
    with rpc_as(service_config, LI) as proxy, pytest.raises(Forbidden):
        proxy.get_calibration()
    with rpc_as(service_config, ZHOU) as proxy, pytest.raises(Forbidden):
        proxy.get_calibration({"team": "east"})
