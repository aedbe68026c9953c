"""Every benchmark area, run small: ``make bench`` broke once without anyone noticing (COPY under
psycogreen), so each area's ``run(results_dir, quick=True)`` runs in the suite and must write its
figures and its goals. The figures of a quick run mean nothing; what a user relies on at any
size is checked: nothing lost, nothing duplicated, every goal reported with its figure."""

import importlib
import json
import os
from pathlib import Path

import pytest

from bench.run import bench_areas
from crm_common.config import REPO_ROOT

AREAS = bench_areas()
# the baseline has no goal of its own: the others' goals are ratios of an empty RPC
WITHOUT_GOALS = {"platform"}

pytestmark = pytest.mark.flow


def test_every_area_has_a_quick_run():
    assert "notify_processes" not in AREAS and "notify_report" not in AREAS  # notify's helper modules
    assert set(AREAS) >= {
        "appraisal",
        "console",
        "customers",
        "knowledge",
        "matching",
        "notify",
        "pipeline",
        "platform",
    }


def console_missing() -> str | None:
    """Why the console's quick run cannot run here (CI has both: `.ci/run` installs Chromium and
    runs `make console` before the suite), None when it can."""
    if not Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium is missing (apt-get install -y chromium fonts-noto-cjk)"
    if not (REPO_ROOT / "web" / "dist" / "index.html").exists():
        return "web/dist is not built (make console)"
    return None


@pytest.mark.parametrize("area", AREAS)
def test_quick_run_writes_figures_and_goals(area, tmp_path):
    if area == "console" and (why := console_missing()):
        pytest.skip(f"the console bench needs a built console and Chromium: {why}")
    returned = importlib.import_module(f"bench.bench_{area}").run(tmp_path, quick=True)

    written = json.loads((tmp_path / f"{area}.json").read_text())
    report = (tmp_path / f"{area}.md").read_text()
    assert written["quick"] is True
    assert json.loads(json.dumps(returned, default=str))["goals"] == written["goals"]
    assert "load_average" in json.dumps(written), "the machine is shared: each area notes how busy it was"
    if area in WITHOUT_GOALS:
        assert written["goals"] == []
        return
    assert written["goals"], f"{area} wrote no goals"
    for row in written["goals"]:
        assert set(row) == {"goal", "target", "achieved", "met"}
        assert row["achieved"] is not None
        assert str(row["achieved"]) in report, f"{area}.md does not show {row['goal']}"
    if area == "notify":  # small or not, with an instance SIGKILLed: nothing lost, nothing twice
        assert written["finished"]
        assert written["lost_reminders"] == written["sms_missing_at_twilio"] == 0
        assert written["duplicate_notifications"] == written["duplicate_sms_at_twilio"] == 0
        assert written["twilio_accepted"] == written["reminders"] == 60
    if area == "customers":
        assert written["throughput"]["create"]["calls"] > 0
        assert written["throughput"]["create"]["failures"] == 0
        imported = written["import"]  # the quick run imports 100 rows, every tenth already stored
        assert imported["state"] == imported["dry_run"]["state"] == "finished"
        assert imported["invalid"] == 0 and imported["created"] > 0 and imported["duplicates"] >= 10
        assert imported["created"] + imported["duplicates"] == imported["rows"] == 100
    if area == "import":  # 200 rows against 500 stored, every tenth a stored one: each row reported
        for job in (written["import"], written["dry_run"]):
            assert job["state"] == "finished" and job["invalid"] == 0
            assert (job["created"], job["duplicates"]) == (180, 20)
        assert written["interactive_before"]["calls"] == 40


def test_summary_puts_every_goal_and_issue_13s_figures_on_one_page():
    from bench.run import summary_markdown

    goal = {"goal": "forecast at 100,000 ÷ at 10,000 deals", "target": "≤ 2", "achieved": 0.74, "met": True}
    summary = {
        "pipeline": {"measured_at": "2026-11-30T10:00:00+00:00", "seconds": 1.0, "result": {"goals": [goal]}}
    }
    last_run = {
        "areas": ["pipeline"],
        "failed": [],
        "finished_at": "2026-11-30T10:00:01+00:00",
        "load_average": [1.0],
    }
    page = summary_markdown(summary, last_run)
    assert (
        "| pipeline | 2026-11-30T10:00:00+00:00 | forecast at 100,000 ÷ at 10,000 deals | ≤ 2 | 0.74 | yes |"
        in page
    )
    assert "ran 1 areas, 0 failed | green, every area | yes |" in page
    failing = summary_markdown(summary, {**last_run, "failed": ["notify"]})
    assert "1 failed | green, every area | **no** |" in failing


def test_summary_shows_the_import_areas_figures_beside_the_goal():
    from bench.run import issue_13_table

    calls = {"GET /customers": {"p99_ms": 40.0}, "POST /customers": {"p99_ms": 80.0}}
    during = {"GET /customers": {"p99_ms": 50.0}, "POST /customers": {"p99_ms": 90.0}, "failures": 0}
    area = {
        "scale": {"stored": 1_000_000, "rows": 100_000},
        "interactive_before": calls,
        "dry_run": {"rows_per_second": 900.0},
        "import": {
            "rows": 5_000,
            "rows_per_second": 450.0,
            "service_cpu_ms_per_row": 1.5,
            "interactive": during,
        },
        "goals": [{"goal": "import rows/s", "target": "≥ 2000", "achieved": 450.0, "met": False}],
    }
    rows = "\n".join(issue_13_table({"import": {"result": area}}, ["import"], []))
    assert (
        "| against 1,000,000 customers: 100,000 rows checked (dry run) at 900.0 rows/s, 5,000 imported"
        in rows
    )
    assert "GET /customers p99 40.0 → 50.0 ms, POST /customers p99 80.0 → 90.0 ms, 0 failed" in rows
    assert rows.count("**no**") == 1


def test_summary_shows_the_import_figure_of_the_last_customers_run():
    from bench.run import issue_13_table

    read = {"p50_ms": 2.0, "p99_ms": 4.0}
    customers = {
        "throughput": {
            "create_over_ping": 0.2,
            "create": {"per_second": 20.0, "service_cpu_ms_per_call": 5.0},
            "ping": {"per_second": 100.0, "service_cpu_ms_per_call": 1.0},
        },
        "import": {
            "rows": 20_000,
            "stored_customers": 1_000_000,
            "seconds": 8.0,
            "rows_per_second": 2500.0,
            "service_cpu_ms_per_row": 0.3,
            "read_before": read,
            "read_during": {"p50_ms": 3.0, "p99_ms": 6.0},
        },
    }
    rows = "\n".join(issue_13_table({"customers": {"result": customers}}, ["customers"], []))
    assert "| 20,000 rows against 1,000,000 customers in 8.0 s = 2500.0 rows/s" in rows
    assert "get_customer p99 4.0 ms before, 6.0 ms during) | ≥ 2,000 rows/s | yes |" in rows
    without = "\n".join(issue_13_table({"customers": {"result": {**customers, "import": None}}}, [], []))
    assert "not in the last customers run" in without


def test_a_second_make_bench_on_the_machine_is_refused_while_one_runs(tmp_path, monkeypatch, capsys):
    from bench import run

    monkeypatch.setattr(run, "LOCK_FILE", tmp_path / "bench.lock")
    first = run.hold_bench_lock()
    assert first is not None
    assert run.hold_bench_lock() is None
    assert f"pid {os.getpid()}" in capsys.readouterr().err  # names the run that holds it
    first.close()  # the first run ends (or dies: the kernel lets go of the lock with the file)
    again = run.hold_bench_lock()
    assert again is not None
    again.close()
