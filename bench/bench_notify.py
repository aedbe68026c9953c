"""Notify under a burst: 10,000 reminders falling due within a 10 s window, two notify instances
(`nameko run` processes) sharing one PostgreSQL database, one of them SIGKILLed mid-run and
restarted. Every reminder escalates (one escalation minute lasts Scale.escalation_minute_seconds
here), so 10,000 SMS go through the real twilio SDK to the local fake Twilio server.

Measured:
- due → in-app: from a reminder's due time until its notification is visible to a reader of the
  database (a poller every 50 ms; the notification's own timestamp is reported too);
- timeout → SMS: from a reminder's escalation time until the fake Twilio server accepted its SMS;
- lost reminders (no notification, no SMS) and duplicate SMS, counted at the fake server.

Everything runs on 127.0.0.1: PostgreSQL database ``crm_bench_notify`` (recreated), a fresh
RabbitMQ vhost, accounts on SQLite in a temporary folder.
"""

from __future__ import annotations

import json
import os
import random
import signal
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import eventlet
import requests
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import create_engine, text

from bench.bench_notify_processes import SMS_MAX_PER_SECOND, BurstProcesses, machine_cpu_busy
from bench.bench_notify_report import report
from bench.support import (
    CpuProfile,
    bench_vhost,
    drop_database,
    goal,
    latency_summary,
    machine_load,
    unique_name,
)
from crm_common.caller import Caller
from crm_common.migrations import upgrade

PG_SERVER = os.environ.get("CRM_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
POLL_SECONDS = 0.05
FINISH_TIMEOUT = 150.0
P99_GOAL_MS = 1000.0


@dataclass(frozen=True)
class Scale:
    """How big one run is: ``make bench`` runs FULL, the suite a quick one of its own."""

    reminders: int = 10_000
    window_seconds: float = 10.0
    owners: int = 100
    escalation_minute_seconds: int = 5  # escalate_after_minutes=1 → the SMS is due 5 s after the reminder
    kill_after_seconds: float = 8.0  # into the due window: reminders still falling due, SMS going out
    create_concurrency: int = 20
    lead_seconds: float = 30.0  # from the end of setup to the window, plus the creation time
    database: str = "crm_bench_notify"


FULL = Scale()


def quick_scale() -> Scale:
    return Scale(
        reminders=60,
        window_seconds=2.0,
        owners=4,
        escalation_minute_seconds=2,
        kill_after_seconds=1.5,
        create_concurrency=4,
        lead_seconds=4.0,
        database=unique_name("crm_bench_notify"),
    )


def run(results_dir: Path, quick: bool = False) -> dict:
    """Measure and write ``notify.json`` and ``notify.md``; ``quick``: 60 reminders in 2 s on a
    database of its own (the suite's check that the benchmark, kill and all, still works)."""
    scale = quick_scale() if quick else FULL
    db_url = f"{PG_SERVER}/{scale.database}"
    load_before = machine_load()
    _recreate_database(scale.database)
    upgrade("notify", db_url)
    try:
        with bench_vhost("crm_bench_notify") as amqp_uri, tempfile.TemporaryDirectory() as var:
            bench = NotifyBench(amqp_uri, db_url, Path(var), scale)
            try:
                result = bench.measure()
            finally:
                bench.stop()
    finally:
        if quick:
            drop_database(db_url)
    result["quick"] = quick
    result["goals"] = goals(result)
    result["machine_load"] = {"before": load_before, "after": machine_load()}
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "notify.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    (results_dir / "notify.md").write_text(report(result))
    return result


def goals(result: dict) -> list[dict]:
    """Issue 13's goals for the burst."""
    p99 = result["timeout_to_sms"]["p99_ms"]
    return [
        goal(
            "escalation time → SMS accepted by Twilio, p99 (ms)",
            f"≤ {P99_GOAL_MS:g}",
            p99,
            p99 <= P99_GOAL_MS,
        ),
        goal(
            "lost reminders (no in-app notification) + SMS missing at Twilio",
            "0",
            result["lost_reminders"] + result["sms_missing_at_twilio"],
            result["lost_reminders"] + result["sms_missing_at_twilio"] == 0 and result["finished"],
        ),
        goal(
            "duplicate in-app notifications + duplicate SMS at Twilio",
            "0",
            result["duplicate_notifications"] + result["duplicate_sms_at_twilio"],
            result["duplicate_notifications"] + result["duplicate_sms_at_twilio"] == 0,
        ),
    ]


def _recreate_database(database: str) -> None:
    server = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    server.dispose()


class NotifyBench(BurstProcesses):
    """One run: its processes (``BurstProcesses``), the reminders, the kill, the figures."""

    def __init__(self, amqp_uri: str, db_url: str, var: Path, scale: Scale = FULL) -> None:
        super().__init__(amqp_uri, db_url, var, scale.escalation_minute_seconds)
        self.scale = scale
        self.create_failures: list[str] = []  # create_reminder calls refused (counted, not measured)

    # -- the run

    def measure(self) -> dict[str, Any]:
        accounts_url = f"sqlite:///{self.var / 'accounts.db'}"
        upgrade("accounts", accounts_url)
        self._nameko("accounts", "accounts", "AccountsService", {**self.env, "ACCOUNTS_DB_URL": accounts_url})
        self.start_fake_twilio()
        self._wait_ping("accounts", "accounts")
        owners = self.create_owners()
        self.start_notify("notify_a")
        self.start_notify("notify_b")
        self._wait_ping("notify", "notify_b")

        created, creation_seconds, t0 = self.create_reminders(owners)
        poller = VisibilityPoller(self.db_url)
        poller_thread = eventlet.spawn(poller.run)
        eventlet.sleep(max(0.0, t0 - time.time()))
        cpu_before, processes_before = machine_cpu_busy(), self.process_cpu()
        # the instance that lives through the run: due reminders, escalations and SMS
        profiler = CpuProfile(
            self.processes["notify_b"].pid,
            self.scale.window_seconds + self.scale.escalation_minute_seconds + 2,
        )

        eventlet.sleep(max(0.0, t0 + self.scale.kill_after_seconds - time.time()))
        killed_cpu = self.process_cpu()["notify_a"]
        os.killpg(self.processes["notify_a"].pid, signal.SIGKILL)
        self.processes["notify_a"].wait()
        killed_at = time.time()
        restart_seconds = self.start_notify("notify_a")

        finished = self.wait_until_done(t0)
        busy, total = (after - before for after, before in zip(machine_cpu_busy(), cpu_before, strict=True))
        processes_after = self.process_cpu()
        processes_after["notify_a"] += killed_cpu  # the killed process's share, then its successor's
        poller.stop()
        poller_thread.wait()
        result = self.summarize(created, creation_seconds, t0, killed_at, restart_seconds, finished, poller)
        result["machine_cpu_busy_percent"] = round(100 * busy / total, 1)
        result["cpu_seconds_by_process"] = {
            name: round(processes_after.get(name, 0) - processes_before.get(name, 0), 1)
            for name in sorted(processes_after)
        }
        result["cpus"] = os.cpu_count()
        result["cpu_profile_notify_b"] = profiler.result()
        notify_cpu = (
            result["cpu_seconds_by_process"]["notify_a"] + result["cpu_seconds_by_process"]["notify_b"]
        )
        result["notify_cpu_ms_per_sms"] = round(1000 * notify_cpu / max(1, result["twilio_accepted"]), 2)
        # every process the burst runs through (postgres and RabbitMQ: all of the machine's)
        everything = sum(
            seconds for name, seconds in result["cpu_seconds_by_process"].items() if name != "bench"
        )
        result["all_cpu_ms_per_sms"] = round(1000 * everything / max(1, result["twilio_accepted"]), 2)
        # cores the whole burst would need to keep up with the window (the SMS fall due over it)
        result["cores_needed_to_keep_up"] = round(everything / self.scale.window_seconds, 1)
        return result

    def create_owners(self) -> list[int]:
        admin = Caller(1, "admin", "admin").to_context()
        ids = []
        with ServiceRpcProxy("accounts", self.config, context_data=admin, timeout=30) as accounts:
            for n in range(self.scale.owners):
                user = accounts.create_user(
                    {
                        "username": f"sales{n:03d}",
                        "password": "bench-password",
                        "display_name": f"销售{n:03d}",
                        "team": f"team{n % 5}",
                        "phone": f"+86139{n:08d}",
                        "escalate_after_minutes": 1,
                    }
                )
                ids.append(user["id"])
        return ids

    def creation_rate(self, owners: list[int]) -> float:
        """Reminders created per second right now: the machine is shared, and its load decides how
        far ahead the window must start. The pilot reminders fall due next week, out of the run."""
        pilot = max(20, self.scale.reminders // 50)
        next_week = time.time() + 7 * 86400
        started = time.monotonic()
        self._create(owners, [(owners[n % len(owners)], -1 - n, next_week) for n in range(pilot)])
        return pilot / (time.monotonic() - started)

    def create_reminders(self, owners: list[int]) -> tuple[list[dict], float, float]:
        """Create every reminder through notify's RPC, due at t0 + U(0, window)."""
        # leave twice the time creation should take at the pace just measured, so none is late
        self.pilot_rate = self.creation_rate(owners)
        t0 = time.time() + self.scale.lead_seconds + 2 * self.scale.reminders / self.pilot_rate
        rng = random.Random(4)
        plan = [
            (owners[n % len(owners)], n, t0 + rng.uniform(0, self.scale.window_seconds))
            for n in range(self.scale.reminders)
        ]
        started = time.monotonic()
        created = self._create(owners, plan)
        creation_seconds = time.monotonic() - started
        if time.time() > t0:
            raise RuntimeError(
                f"creating {self.scale.reminders} reminders took {creation_seconds:.0f}s: past the window"
            )
        return created, creation_seconds, t0

    def _create(self, owners: list[int], plan: list[tuple[int, int, float]]) -> list[dict]:
        """Create the reminders of ``plan`` (owner, number, due epoch), each owner's in one proxy."""
        by_owner: dict[int, list[tuple[int, float]]] = {owner: [] for owner in owners}
        for owner, n, due in plan:
            by_owner[owner].append((n, due))
        created: list[dict] = []

        def create_for(owner: int) -> None:
            context = Caller(owner, f"u{owner}", "sales").to_context()
            with ServiceRpcProxy("notify", self.config, context_data=context, timeout=120) as notify:
                replies = [
                    notify.create_reminder.call_async(
                        {
                            "title": f"拜访客户 #{n}",
                            "content": f"第 {n} 号客户：带上报价单",
                            "due_at": datetime.fromtimestamp(due, UTC).isoformat(),
                        }
                    )
                    for n, due in by_owner[owner]
                ]
                for reply in replies:  # each one: a refused create does not hide the ones after it
                    try:
                        created.append(reply.result())
                    except Exception as exc:  # e.g. 503 on a machine too busy to connect in time
                        self.create_failures.append(str(exc)[:200])

        pool = eventlet.GreenPool(self.scale.create_concurrency)
        for owner in owners:
            pool.spawn_n(create_for, owner)
        pool.waitall()
        return created

    def wait_until_done(self, t0: float) -> bool:
        engine = create_engine(self.db_url)
        deadline = t0 + self.scale.window_seconds + self.scale.escalation_minute_seconds + FINISH_TIMEOUT
        try:
            while time.time() < deadline:
                with engine.connect() as conn:
                    open_sms = conn.scalar(
                        text("SELECT count(*) FROM sms_messages WHERE status NOT IN ('sent', 'failed')")
                    )
                    unfinished = conn.scalar(  # the pilot's reminders, due next week, are not the run's
                        text(
                            "SELECT count(*) FROM reminders WHERE status IN ('pending', 'due') AND due_at < :end"
                        ),
                        {"end": datetime.fromtimestamp(t0 + 86400, UTC)},
                    )
                if (
                    not open_sms
                    and not unfinished
                    and time.time() > t0 + self.scale.window_seconds + self.scale.escalation_minute_seconds
                ):
                    return True
                eventlet.sleep(0.5)
            return False
        finally:
            engine.dispose()

    def summarize(
        self,
        created: list[dict],
        creation_seconds: float,
        t0: float,
        killed_at: float,
        restart_seconds: float,
        finished: bool,
        poller: VisibilityPoller,
    ) -> dict[str, Any]:
        engine = create_engine(self.db_url)
        with engine.connect() as conn:
            reminders = {
                row.id: row
                for row in conn.execute(text("SELECT id, due_at, escalate_at, status, late FROM reminders"))
            }
            notified = conn.execute(
                text("SELECT reminder_id, created_at FROM notifications WHERE kind = 'reminder_due'")
            ).all()
            sms = conn.execute(
                text('SELECT reminder_id, provider_id, status, attempts, "to", body FROM sms_messages')
            ).all()
        engine.dispose()
        fake = requests.get(self.twilio["base_url"] + "/_fake/messages", timeout=60).json()
        stats = requests.get(self.twilio["base_url"] + "/_fake/stats", timeout=60).json()

        def epoch(moment: datetime) -> float:
            return moment.replace(tzinfo=UTC).timestamp() if moment.tzinfo is None else moment.timestamp()

        ids = {reminder["id"] for reminder in created}
        per_reminder = Counter(reminder_id for reminder_id, _ in notified)
        stamped = [epoch(at) - epoch(reminders[rid].due_at) for rid, at in notified if rid in ids]
        observed = [at - epoch(reminders[rid].due_at) for rid, at in poller.seen.items() if rid in ids]
        accepted = {(m["to"], m["body"]): m["accepted_at"] for m in fake}
        sms_by_reminder = {row.reminder_id: row for row in sms}
        sms_lags = [
            accepted[(row.to, row.body)] - epoch(reminders[rid].escalate_at)
            for rid, row in sms_by_reminder.items()
            if rid in ids and (row.to, row.body) in accepted
        ]
        missing_sms = [
            rid
            for rid in ids
            if rid not in sms_by_reminder
            or (sms_by_reminder[rid].to, sms_by_reminder[rid].body) not in accepted
        ]
        return {
            "reminders": len(created),
            "window_seconds": self.scale.window_seconds,
            "instances": 2,
            "escalation_minute_seconds": self.scale.escalation_minute_seconds,
            "sms_max_per_second": SMS_MAX_PER_SECOND,
            "creation": {
                "seconds": round(creation_seconds, 1),
                "per_second": round(len(created) / creation_seconds, 1),
                "pilot_per_second": round(self.pilot_rate, 1),
            },
            "kill": {
                "after_window_start_seconds": round(killed_at - t0, 2),
                "restart_seconds": round(restart_seconds, 2),
            },
            "finished": finished,
            "due_to_in_app_observed": latency_summary(observed),
            "due_to_in_app_stamped": latency_summary(stamped),
            "timeout_to_sms": latency_summary(sms_lags),
            "lost_reminders": len(ids - set(per_reminder)),
            "duplicate_notifications": sum(count - 1 for count in per_reminder.values() if count > 1),
            "late_reminders": sum(1 for rid in ids if reminders[rid].late),
            "sms_expected": len(ids),
            "create_failures": len(self.create_failures),
            "first_create_failures": self.create_failures[:3],
            "sms_missing_at_twilio": len(missing_sms),
            "duplicate_sms_at_twilio": stats["duplicate_messages"],
            "twilio_accepted": stats["accepted"],
            "sms_sent_after_retry_or_reconcile": sum(1 for row in sms if row.attempts > 1),
            "sms_status": dict(Counter(row.status for row in sms)),
            "reminder_status": dict(Counter(reminders[rid].status for rid in ids)),
        }


class VisibilityPoller:
    """Reads the notifications table every 50 ms and notes when each reminder's one appears."""

    def __init__(self, db_url: str) -> None:
        self.engine = create_engine(db_url)
        self.seen: dict[int, float] = {}
        self.running = True

    def run(self) -> None:
        floor, seen_ids, gap_since = 0, set(), {}
        while self.running:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT id, reminder_id FROM notifications WHERE id > :floor AND kind = 'reminder_due'"
                    ),
                    {"floor": floor},
                ).all()
            now = time.time()
            for notification_id, reminder_id in rows:
                if notification_id not in seen_ids:
                    seen_ids.add(notification_id)
                    self.seen.setdefault(reminder_id, now)
            # ids commit out of order across instances; a gap left by a rolled-back insert
            # (the killed instance) is skipped once it has stayed open for 3 s
            while seen_ids and floor < max(seen_ids):
                if floor + 1 in seen_ids or now - gap_since.setdefault(floor + 1, now) > 3:
                    floor += 1
                    seen_ids.discard(floor)
                else:
                    break
            eventlet.sleep(POLL_SECONDS)
        self.engine.dispose()

    def stop(self) -> None:
        self.running = False
