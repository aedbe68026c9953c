"""Appraisal (issue 14): a team of 200 people with 1,000,000 evidence events in one quarter.

Evidence rows are bulk-loaded into the appraisal's own tables (PostgreSQL when the server answers,
else SQLite), growing through the sizes; at each size the team's scorecards are computed by the
use case production runs (``compute_scorecards``: the store's GROUP BYs, the domain's scores) and
every person's scorecard is read (``get_scorecard``, rank included) to measure its p99.

Goals: compute time grows at most linearly with events (time ratio ≤ events ratio between the
two largest sizes), and the per-person read p99 is under 50 ms at the largest size. The team
comes from a roster in the bench (accounts is not what is measured here)."""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from bench.support import drop_database, goal, goals_markdown, latency_summary, machine_load, unique_name
from crm_common.caller import Caller
from crm_common.clock import SystemClock
from crm_common.db import UnitOfWork, make_engine

SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (2_000, 10_000)
PEOPLE = 200
QUICK_PEOPLE = 20
READ_ROUNDS, QUICK_READ_ROUNDS = 3, 1
BATCH = 20_000
SEED = 20261130
TEAM = "bench"
PERIOD = "2026-Q3"  # a quarter that has ended (2026-07-01 … 2026-09-30, Asia/Shanghai)
ZONE = ZoneInfo("Asia/Shanghai")
PG_SERVER = os.environ.get("APPRAISAL_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
PG_DATABASE = "crm_bench_appraisal"
READ_P99_MS = 50.0
# how each kind is spread among a quarter's events (a salesperson's working quarter, roughly)
KINDS = (
    ("reminder_due", 30),
    ("customer_created", 15),
    ("answer", 12),
    ("alarm_raised", 8),
    ("reminder_escalated", 8),
    ("deal_won", 8),
    ("deal_lost", 7),
    ("entry_published", 6),
    ("alarm_resolved", 6),
)


class Roster:
    """The team as accounts would answer it: one manager, the rest salespeople."""

    def __init__(self, people: int) -> None:
        self.members = [
            {
                "id": i,
                "username": f"u{i}",
                "display_name": f"员工{i}",
                "role": "manager" if i == 1 else "sales",
                "team": TEAM,
                "active": True,
            }
            for i in range(1, people + 1)
        ]

    def team(self, team: str) -> list[dict]:
        return self.members if team == TEAM else []


def fresh_postgres(database: str) -> str | None:
    server = make_url(PG_SERVER).set(database="postgres")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{database}"'))
    except Exception as exc:  # no server: bench SQLite
        print(f"bench_appraisal: PostgreSQL skipped ({exc.__class__.__name__}: {exc})")
        return None
    finally:
        admin.dispose()
    return make_url(PG_SERVER).set(database=database).render_as_string(hide_password=False)


def evidence_rows(start: int, stop: int, people: int, rng: random.Random) -> list[dict]:
    """Events ``start`` … ``stop - 1`` of the quarter, as the event handlers store them."""
    kinds = [kind for kind, share in KINDS for _ in range(share)]
    first = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)  # 1 July 00:00 in Shanghai
    seconds = 92 * 24 * 3600 - 1
    rows = []
    for n in range(start, stop):
        kind = kinds[n % len(kinds)]
        at = first + timedelta(seconds=rng.randrange(seconds))
        rows.append(
            {
                "person_id": rng.randrange(1, people + 1),
                "team": TEAM,
                "kind": kind,
                "day": at.astimezone(ZONE).date(),
                "occurred_at": at,
                "ref_id": n + 1,
                "related_id": rng.randrange(1, stop + 1) if kind in ("answer", "alarm_resolved") else None,
                "amount": Decimal(rng.randrange(1_000, 200_000)) if kind == "deal_won" else None,
                "flag": kind == "entry_published" and n % 3 == 0,
                "label": None,
                "source_event_id": f"bench-{n + 1}",
            }
        )
    return rows


def bench_backend(url: str, sizes: tuple[int, ...], people: int, read_rounds: int) -> dict:
    from appraisal import usecases_scorecards as cards
    from appraisal.models import Base, Evidence, Target
    from appraisal.store import Store

    engine = make_engine(url, 10, 600)
    Base.metadata.create_all(engine)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    roster, clock = Roster(people), SystemClock()
    manager = Caller(user_id=1, username="u1", role="manager", team=TEAM)
    admin = Caller(user_id=999_999, username="admin", role="admin")
    rng = random.Random(SEED)
    with engine.begin() as conn:
        conn.execute(
            insert(Target),
            [
                {
                    "subject": f"user:{i}",
                    "period": PERIOD,
                    "amount": Decimal(1_000_000),
                    "occurred_at": datetime(2026, 7, 1, tzinfo=UTC),
                    "source_event_id": f"target-{i}",
                }
                for i in range(1, people + 1)
            ],
        )
    loaded, steps = 0, []
    for size in sizes:
        load_started = time.perf_counter()
        while loaded < size:
            upto = min(size, loaded + BATCH)
            with engine.begin() as conn:
                conn.execute(insert(Evidence), evidence_rows(loaded, upto, people, rng))
            loaded = upto
        if url.startswith("postgresql"):
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE evidence"))
        load_seconds = time.perf_counter() - load_started

        uow = UnitOfWork(sessions, "appraisal")
        started = time.perf_counter()
        computed = cards.compute_scorecards(
            Store(uow), manager, {"team": TEAM, "period": PERIOD}, clock=clock, people=roster, zone=ZONE
        )
        uow.commit()
        compute_seconds = time.perf_counter() - started
        uow.close()
        assert len(computed) == people - 1  # the manager's own draft is not shown to him

        ids = [card["id"] for card in computed]
        samples = []
        for _ in range(read_rounds):
            for card_id in ids:
                uow = UnitOfWork(sessions, "appraisal")
                began = time.perf_counter()
                card = cards.get_scorecard(Store(uow), admin, card_id)
                samples.append(time.perf_counter() - began)
                uow.close()
                assert card["indicators"]
        counted = sum(
            int(json.loads(c.facts)["won"]) for c in _cards(sessions, Store)
        )  # the deals counted equal the deals loaded
        with engine.connect() as conn:
            won_rows = conn.execute(text("SELECT count(*) FROM evidence WHERE kind = 'deal_won'")).scalar()
        steps.append(
            {
                "events": size,
                "load_seconds": round(load_seconds, 2),
                "compute_seconds": round(compute_seconds, 3),
                "compute_us_per_event": round(compute_seconds / size * 1e6, 3),
                "read": latency_summary(samples),
                "reads": len(samples),
                "deals_won_counted": counted,
                "deals_won_loaded": won_rows,
            }
        )
        print(f"bench_appraisal: {url.split(':')[0]} {size:,} events: {steps[-1]}", file=sys.stderr)
    engine.dispose()
    return {"people": people, "steps": steps}


def _cards(sessions: Any, store_class: Any) -> list:
    uow = UnitOfWork(sessions, "appraisal")
    try:
        return store_class(uow).team_scorecards(TEAM, PERIOD)
    finally:
        uow.close()


def run(results_dir: Path, quick: bool = False) -> dict:
    """Compute a team's scorecards as its evidence grows; writes ``appraisal.json`` and
    ``appraisal.md``. ``quick``: a small team and a few thousand events (the suite's check)."""
    sizes = QUICK_SIZES if quick else SIZES
    people = QUICK_PEOPLE if quick else PEOPLE
    rounds = QUICK_READ_ROUNDS if quick else READ_ROUNDS
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result: dict[str, Any] = {"quick": quick, "sizes": list(sizes), "period": PERIOD, "backends": {}}
    pg_url = fresh_postgres(unique_name(PG_DATABASE) if quick else PG_DATABASE)
    if pg_url:
        result["backends"]["postgresql"] = bench_backend(pg_url, sizes, people, rounds)
        if quick:
            drop_database(pg_url)
    if quick or not pg_url:
        with tempfile.TemporaryDirectory(prefix="bench-appraisal-") as scratch:
            result["backends"]["sqlite"] = bench_backend(
                f"sqlite:///{scratch}/appraisal.db", sizes, people, rounds
            )
    result["goals"] = []
    for backend, numbers in result["backends"].items():
        small, large = numbers["steps"][-2], numbers["steps"][-1]
        events_ratio = large["events"] / small["events"]
        time_ratio = round(large["compute_seconds"] / small["compute_seconds"], 2)
        result["goals"].append(
            goal(
                f"compute {numbers['people']} scorecards at {large['events']:,} ÷ at {small['events']:,} events, {backend}",
                f"≤ {events_ratio:g} (linear)",
                time_ratio,
                time_ratio <= events_ratio,
            )
        )
        p99 = large["read"]["p99_ms"]
        result["goals"].append(
            goal(
                f"per-person scorecard read p99 at {large['events']:,} events, {backend} (ms)",
                f"< {READ_P99_MS:g}",
                p99,
                p99 < READ_P99_MS,
            )
        )
    result["machine_load"] = machine_load()
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    (results_dir / "appraisal.json").write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    (results_dir / "appraisal.md").write_text(report(result))
    return result


def report(result: dict) -> str:
    lines = [
        "# Appraisal: a team's scorecards as its evidence grows",
        "",
        f"Quick run: {result['quick']}. Period {result['period']}. Machine: {result['machine_load']}.",
        "",
        "| backend | events | people | load s | compute s | µs/event | read p50 ms | read p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for backend, numbers in result["backends"].items():
        for step in numbers["steps"]:
            lines.append(
                f"| {backend} | {step['events']:,} | {numbers['people']} | {step['load_seconds']} | "
                f"{step['compute_seconds']} | {step['compute_us_per_event']} | {step['read']['p50_ms']} | "
                f"{step['read']['p99_ms']} |"
            )
    return "\n".join(lines) + "\n\n" + goals_markdown(result["goals"])


if __name__ == "__main__":
    outcome = run(Path(__file__).parent / "results", quick="--quick" in sys.argv)
    print(json.dumps(outcome["goals"], ensure_ascii=False, indent=2))
