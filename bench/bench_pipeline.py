"""Forecast and funnel at 10k and 100k deals in PostgreSQL: one salesperson, and a team of 200.

The goal (issue 5): the per-salesperson forecast at 100k deals within 2× of its time at 10k,
because it is an index-backed aggregation, not a scan that loads every deal into Python; and the
team roll-up time reported.

What runs is the service's own read path (``pipeline.reports``: the SQL GROUP BY plus the
forecast/funnel maths) against the service's own schema (its Alembic migrations), in the
database ``crm_bench_pipeline``. RPC and HTTP are left out: they add the same few milliseconds at
both sizes (see the platform's ping benchmark). Data are generated with a fixed seed and bulk-loaded
with COPY; the 100k run adds 90k deals to the 10k ones.

``python -m bench.run pipeline`` (or ``make bench``) runs it; ``run(results_dir)`` is the entry point.
"""

from __future__ import annotations

import io
import json
import os
import platform
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import sessionmaker

from bench.support import blocking_copy, drop_database, goal, goals_markdown, machine_load, unique_name
from crm_common.config import with_database
from crm_common.db import UnitOfWork
from crm_common.migrations import ensure_database, upgrade
from pipeline import usecases_reports as reports
from pipeline.domain import Scope
from pipeline.models import Base
from pipeline.stages import DEFAULT_STAGES
from pipeline.store import Store
from pipeline.store_reports import stage_aggregates_query

SERVER = os.environ.get("CRM_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
DATABASE = "crm_bench_pipeline"
TEAM = "华东一部"
SALESPEOPLE = 200
FIRST_OWNER = 1001
SIZES = (10_000, 100_000)
QUICK_SIZES = (300, 600)
TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
PERIOD = "2026-11"
TIMEZONE = "Asia/Shanghai"
SEED = 5

OWNER_RUNS = 400  # per-salesperson calls, spread over 100 salespeople
TEAM_RUNS = 15
GOAL_RATIO = 2.0

# Where open deals sit: a funnel that roughly narrows.
OPEN_STAGE_WEIGHTS = {"s0": 15, "s10": 25, "s25": 20, "s50": 15, "s75": 12, "s90": 13}
STAGE_ORDER = [stage.key for stage in DEFAULT_STAGES]
PROBABILITY = {stage.key: stage.probability for stage in DEFAULT_STAGES}


# ---- data ---------------------------------------------------------------------------------------


def _copy(conn: Any, table: str, columns: list[str], rows: list[tuple]) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if value is None else str(value) for value in row))
        buffer.write("\n")
    buffer.seek(0)
    cursor = conn.connection.dbapi_connection.cursor()
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
    cursor.close()


def generate(first_id: int, count: int, rng: random.Random) -> tuple[list[tuple], list[tuple]]:
    """``count`` deals from id ``first_id`` (40 % open, 35 % lost, 25 % won) and their stage moves."""
    deals, moves = [], []
    stages, weights = zip(*OPEN_STAGE_WEIGHTS.items(), strict=True)
    for deal_id in range(first_id, first_id + count):
        owner = FIRST_OWNER + rng.randrange(SALESPEOPLE)
        amount = Decimal(round(5_000 * 40 ** rng.random(), 2)).quantize(Decimal("0.01"))
        created = NOW - timedelta(days=rng.uniform(1, 540))
        roll = rng.random()
        status = "open" if roll < 0.40 else "lost" if roll < 0.75 else "won"
        reached = rng.choices(stages, weights)[0]
        if status == "won":
            reached = "s100"
        path = STAGE_ORDER[: STAGE_ORDER.index(reached) + 1]
        start = 0 if rng.random() < 0.6 else min(1, len(path) - 1)
        path = path[start:]
        if len(path) > 3:  # skipping stages happens; keep histories short
            path = [path[0], *rng.sample(path[1:-1], 1), path[-1]]
        closed_at = None
        if status != "open":
            closed_at = created + (NOW - created) * rng.uniform(0.2, 1.0)
        expected = None
        if rng.random() < 0.7:
            expected = TODAY + timedelta(days=rng.randint(-60, 180))
        last_at = closed_at or created + (NOW - created) * rng.uniform(0.0, 0.9)
        step = (last_at - created) / max(len(path) - 1, 1)
        for index, key in enumerate(path):
            moves.append(
                (
                    deal_id,
                    "created" if index == 0 else ("won" if key == "s100" else "moved"),
                    path[index - 1] if index else None,
                    key,
                    PROBABILITY[key],
                    1,
                    owner,
                    _ts(created + step * index),
                )
            )
        deals.append(
            (
                deal_id,
                rng.randrange(1, 50_000),
                owner,
                TEAM,
                f"deal {deal_id}",
                amount,
                "CNY",
                path[-1],
                status,
                expected.isoformat() if expected else None,
                {"won": "签约", "lost": "价格"}.get(status),
                _ts(created),
                owner,
                _ts(last_at),
                _ts(closed_at) if closed_at else None,
                owner if closed_at else None,
                1,
            )
        )
    return deals, moves


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat()


DEAL_COLUMNS = [
    "id",
    "customer_id",
    "owner_id",
    "team",
    "title",
    "amount",
    "currency",
    "stage",
    "status",
    "expected_close_date",
    "close_reason",
    "created_at",
    "created_by",
    "updated_at",
    "closed_at",
    "closed_by",
    "row_version",
]
MOVE_COLUMNS = [
    "opportunity_id",
    "kind",
    "from_stage",
    "to_stage",
    "probability",
    "stage_set_id",
    "changed_by",
    "changed_at",
]


def fresh_database(url: str) -> None:
    """An empty ``crm_bench_pipeline`` with the service's migrations applied."""
    ensure_database(url)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade("pipeline", url)


def load(engine: Any, first_id: int, count: int, rng: random.Random) -> float:
    """Bulk-load ``count`` deals with COPY; returns the seconds it took (with ANALYZE)."""
    started = time.perf_counter()
    deals, moves = generate(first_id, count, rng)
    with blocking_copy(), engine.begin() as conn:
        _copy(conn, "opportunities", DEAL_COLUMNS, deals)
        _copy(conn, "stage_changes", MOVE_COLUMNS, moves)
        conn.execute(text("SELECT setval('opportunities_id_seq', (SELECT max(id) FROM opportunities))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE opportunities"))
        conn.execute(text("VACUUM ANALYZE stage_changes"))
    return time.perf_counter() - started


# ---- measuring ----------------------------------------------------------------------------------


def _timed(action: Callable[[int], Any], runs: int, warmup: int = 50) -> dict:
    for index in range(warmup):
        action(index)
    samples = []
    for index in range(runs):
        started = time.perf_counter()
        action(index)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "runs": runs,
        "median_ms": round(statistics.median(samples), 3),
        "p95_ms": round(samples[int(0.95 * (len(samples) - 1))], 3),
        "min_ms": round(samples[0], 3),
    }


def measure(engine: Any, owner_runs: int = OWNER_RUNS, team_runs: int = TEAM_RUNS) -> dict:
    owners = [FIRST_OWNER + i for i in range(0, SALESPEOPLE, 2)]  # 100 different salespeople
    members = {FIRST_OWNER + i: f"销售{i:03d}" for i in range(SALESPEOPLE)}
    team = Scope(None, TEAM)
    results: dict[str, Any] = {}
    unit = UnitOfWork(sessionmaker(bind=engine, info={"metadata": Base.metadata}), "pipeline")
    store = Store(unit)
    session = unit.session
    try:

        def owner_scope(index: int) -> Scope:
            return Scope(owners[index % len(owners)], TEAM)

        results["owner_forecast"] = _timed(
            lambda i: reports.forecast_report(store, owner_scope(i), PERIOD, TODAY), owner_runs
        )
        results["owner_forecast_sql_only"] = _timed(
            lambda i: session.execute(stage_aggregates_query(owner_scope(i), PERIOD, TODAY)).all(),
            owner_runs,
        )
        results["owner_funnel"] = _timed(
            lambda i: reports.funnel_report(store, owner_scope(i), PERIOD, TIMEZONE), owner_runs
        )
        results["team_forecast_rollup"] = _timed(
            lambda i: reports.forecast_report(store, team, PERIOD, TODAY, members=members), team_runs, 2
        )
        results["team_funnel"] = _timed(
            lambda i: reports.funnel_report(store, team, PERIOD, TIMEZONE, members=members), team_runs, 2
        )
        results["team_calibration_with_6_month_backtest"] = _timed(
            lambda i: reports.calibration_report(store, TEAM, TODAY, TIMEZONE), 3, 1
        )

        sample = reports.forecast_report(store, Scope(owners[0], TEAM), PERIOD, TODAY)
        team_sample = reports.forecast_report(store, team, PERIOD, TODAY, members=members)
        results["owner_deals"] = (
            session.execute(
                text(
                    "SELECT count(*) AS deals, count(*) FILTER (WHERE status = 'open') AS open_deals"
                    " FROM opportunities WHERE owner_id = :o"
                ),
                {"o": owners[0]},
            )
            .one()
            ._asdict()
        )
        results["owner_sample"] = {
            "owner_id": owners[0],
            "weighted_total": str(sample["weighted_total"]),
            "sample_size": sample["sample_size"],
            "reliable": sample["reliable"],
        }
        results["team_sample"] = {
            "weighted_total": str(team_sample["weighted_total"]),
            "sample_size": team_sample["sample_size"],
            "owners": len(team_sample["by_owner"]),
        }
        statement = stage_aggregates_query(Scope(owners[0], TEAM), PERIOD, TODAY)
        sql = str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
        plan = session.execute(text("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)).scalars().all()
        results["owner_forecast_plan"] = plan
    finally:
        unit.close()
    return results


# ---- the run ------------------------------------------------------------------------------------


def run(results_dir: Path, quick: bool = False) -> dict:
    """Measure and write ``pipeline.json`` and ``pipeline.md``; ``quick``: a few hundred deals on a
    database of its own (the suite's check that the benchmark still works)."""
    sizes = QUICK_SIZES if quick else SIZES
    database = unique_name(DATABASE) if quick else DATABASE
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    url = with_database(SERVER, database)
    fresh_database(url)
    engine = create_engine(url, pool_size=2)
    rng = random.Random(SEED)
    started = time.perf_counter()
    scales: dict[str, Any] = {}
    loaded = 0
    for size in sizes:
        load_seconds = load(engine, loaded + 1, size - loaded, rng)
        loaded = size
        runs = (40, 3) if quick else (OWNER_RUNS, TEAM_RUNS)
        scales[str(size)] = {"deals": size, "load_seconds": round(load_seconds, 2), **measure(engine, *runs)}
    engine.dispose()
    version = _server_version(url)
    if quick:
        drop_database(url)

    small, large = (scales[str(size)] for size in sizes)
    ratio = large["owner_forecast"]["median_ms"] / small["owner_forecast"]["median_ms"]
    summary = {
        "benchmark": "pipeline",
        "quick": quick,
        "goal": f"per-salesperson forecast at {sizes[1]:,} deals within {GOAL_RATIO:g}× of {sizes[0]:,}",
        "owner_forecast_ratio": round(ratio, 2),
        "owner_funnel_ratio": round(
            large["owner_funnel"]["median_ms"] / small["owner_funnel"]["median_ms"], 2
        ),
        "goal_met": ratio <= GOAL_RATIO,
        "goals": [
            goal(
                f"per-salesperson forecast median at {sizes[1]:,} ÷ at {sizes[0]:,} deals (issue 5)",
                f"≤ {GOAL_RATIO:g}",
                round(ratio, 2),
                ratio <= GOAL_RATIO,
            )
        ],
        "machine_load": machine_load(),
        "team_rollup_median_ms": {size: scales[size]["team_forecast_rollup"]["median_ms"] for size in scales},
        "salespeople": SALESPEOPLE,
        "period": PERIOD,
        "database": f"PostgreSQL {version} ({database})",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "seconds": round(time.perf_counter() - started, 1),
        "scales": scales,
    }
    (results_dir / "pipeline.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    (results_dir / "pipeline.md").write_text(report_markdown(summary), encoding="utf-8")
    return summary


def _server_version(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar()
    engine.dispose()
    return str(version).split()[0]


def report_markdown(summary: dict) -> str:
    rows = [
        ("salesperson: forecast (SQL + maths)", "owner_forecast"),
        ("salesperson: forecast, SQL only", "owner_forecast_sql_only"),
        ("salesperson: funnel with advice", "owner_funnel"),
        ("team of 200: forecast roll-up", "team_forecast_rollup"),
        ("team of 200: funnel and comparison", "team_funnel"),
        ("team: calibration + 6-month backtest", "team_calibration_with_6_month_backtest"),
    ]
    sizes = list(summary["scales"])
    lines = [
        "# Pipeline benchmark",
        "",
        f"{summary['goal']}: **{'met' if summary['goal_met'] else 'NOT met'}** "
        f"(ratio {summary['owner_forecast_ratio']}; funnel ratio {summary['owner_funnel_ratio']}).",
        "",
        f"{summary['database']}; {summary['machine']}; whole run {summary['seconds']} s. The service's read "
        "path (`pipeline.reports`) on its migrated schema; no RPC or HTTP. Deals: 40 % open, 35 % lost, "
        f"25 % won, over {summary['salespeople']} salespeople of one team; period {summary['period']}.",
        "",
        "| query | " + " | ".join(f"{int(s):,} deals: median (p95) ms" for s in sizes) + " |",
        "|---|" + "---|" * len(sizes),
    ]
    for label, key in rows:
        cells = [
            f"{summary['scales'][s][key]['median_ms']} ({summary['scales'][s][key]['p95_ms']})" for s in sizes
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| data | " + " | ".join(f"{int(s):,}" for s in sizes) + " |",
        "|---|" + "---|" * len(sizes),
    ]
    lines.append(
        "| one salesperson's deals (open) | "
        + " | ".join(
            f"{summary['scales'][s]['owner_deals']['deals']} ({summary['scales'][s]['owner_deals']['open_deals']})"
            for s in sizes
        )
        + " |"
    )
    lines.append(
        "| bulk load (COPY + VACUUM ANALYZE), s | "
        + " | ".join(str(summary["scales"][s]["load_seconds"]) for s in sizes)
        + " |"
    )
    load = summary["machine_load"]
    lines += [
        "",
        "## Goals",
        "",
        goals_markdown(summary["goals"]),
        f"Load average {load['load_average']} on {load['cpus']} cores (shared with other work) at the end.",
        "",
        f"Plan of the per-salesperson forecast query at {int(sizes[-1]):,} deals:",
        "",
        "```",
        *summary["scales"][sizes[-1]]["owner_forecast_plan"],
        "```",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    outcome = run(Path(__file__).resolve().parent / "results")
    print(json.dumps({k: v for k, v in outcome.items() if k != "scales"}, ensure_ascii=False, indent=2))
