"""Notify under a burst: 10,000 reminders falling due within a 10 s window, two notify instances
(`nameko run` processes) sharing one PostgreSQL database, one of them SIGKILLed mid-run and
restarted. Every reminder escalates (one escalation minute lasts ESCALATION_MINUTE_SECONDS
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
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import eventlet
import requests
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import create_engine, text

from bench.support import bench_vhost, latency_summary
from crm_common.caller import Caller
from crm_common.config import REPO_ROOT
from crm_common.migrations import upgrade

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "crm_bench_notify"
REMINDERS = 10_000
WINDOW_SECONDS = 10.0
OWNERS = 100
ESCALATION_MINUTE_SECONDS = 5  # escalate_after_minutes=1 → the SMS is due 5 s after the reminder
KILL_AFTER_SECONDS = 8.0  # into the due window: reminders still falling due, SMS going out
CREATE_CONCURRENCY = 20
POLL_SECONDS = 0.05
FINISH_TIMEOUT = 150.0
VENV_BIN = Path(sys.executable).parent
SENDER = "+15005550006"


def run(results_dir: Path) -> dict:
    db_url = f"{PG_SERVER}/{DATABASE}"
    _recreate_database()
    upgrade("notify", db_url)
    with bench_vhost("crm_bench_notify") as amqp_uri, tempfile.TemporaryDirectory() as var:
        bench = NotifyBench(amqp_uri, db_url, Path(var))
        try:
            result = bench.measure()
        finally:
            bench.stop()
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "notify.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    (results_dir / "notify.md").write_text(report(result))
    return result


def _recreate_database() -> None:
    server = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    server.dispose()


class NotifyBench:
    def __init__(self, amqp_uri: str, db_url: str, var: Path) -> None:
        self.amqp_uri, self.db_url, self.var = amqp_uri, db_url, var
        self.config = {"AMQP_URI": amqp_uri}
        self.processes: dict[str, subprocess.Popen] = {}
        self.env = {
            **os.environ,
            "AMQP_URI": amqp_uri,
            "CRM_VAR_DIR": str(var),
            "PYTHONWARNINGS": "ignore",
            "CRM_LOG_LEVEL": "WARNING",
            "CRM_ADMIN_PASSWORD": "bench-admin-pw",
        }
        for key in ("CRM_DB_URL", "NOTIFY_DB_URL", "ACCOUNTS_DB_URL"):
            self.env.pop(key, None)

    # -- processes

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.var / f"{name}.log", "a")  # noqa: SIM115 — the child owns it
        process = subprocess.Popen(
            args, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.processes[name] = process
        return process

    def _nameko(self, name: str, service: str, cls: str, env: dict[str, str]) -> subprocess.Popen:
        return self._spawn(
            name,
            [
                str(VENV_BIN / "nameko"),
                "run",
                "--config",
                f"services/{service}/config.yml",
                f"{service}.service:{cls}",
            ],
            env,
        )

    def _wait_ping(self, service: str, process_name: str, timeout: float = 60) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.processes[process_name].poll() is not None:
                raise RuntimeError(
                    f"{process_name} exited: {(self.var / f'{process_name}.log').read_text()[-3000:]}"
                )
            try:
                with ServiceRpcProxy(service, self.config, timeout=2) as proxy:
                    proxy.ping()
                return time.monotonic() - started
            except Exception:
                eventlet.sleep(0.2)
        raise RuntimeError(f"{service} did not answer within {timeout}s")

    def start_fake_twilio(self) -> None:
        process = self._spawn(
            "fake_twilio",
            [sys.executable, "-m", "tests.support.fake_twilio", "--port", "0", "--stall-seconds", "5"],
            {**self.env, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 20
        log = self.var / "fake_twilio.log"
        while time.monotonic() < deadline:
            lines = log.read_text().splitlines() if log.exists() else []
            started = next((json.loads(line) for line in lines if line.startswith("{")), None)
            if started:
                self.twilio = started
                return
            if process.poll() is not None:
                break
            eventlet.sleep(0.1)
        raise RuntimeError("the fake Twilio server did not start")

    def notify_env(self) -> dict[str, str]:
        return {
            **self.env,
            "NOTIFY_DB_URL": self.db_url,
            "NOTIFY_ESCALATION_MINUTE_SECONDS": str(ESCALATION_MINUTE_SECONDS),
            "NOTIFY_SMS_LEASE_SECONDS": "5",
            "TWILIO_ACCOUNT_SID": self.twilio["account_sid"],
            "TWILIO_AUTH_TOKEN": self.twilio["auth_token"],
            "TWILIO_FROM": SENDER,
            "TWILIO_BASE_URL": self.twilio["base_url"],
            "TWILIO_TIMEOUT_SECONDS": "2",
        }

    def start_notify(self, name: str) -> float:
        """Start a notify process; seconds until it holds its AMQP connections (consuming)."""
        started = time.monotonic()
        process = self._nameko(name, "notify", "NotifyService", self.notify_env())
        while time.monotonic() - started < 60:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited: {(self.var / f'{name}.log').read_text()[-3000:]}")
            # nameko opens its consuming connection once the container has started
            if _amqp_connections(process.pid) >= 1:
                return time.monotonic() - started
            eventlet.sleep(0.05)
        raise RuntimeError(f"{name} did not start within 60 s")

    def _process_cpu(self) -> dict[str, float]:
        """CPU seconds used so far by each child process, RabbitMQ and PostgreSQL (all backends)."""
        seconds = {name: _cpu_seconds(process.pid) for name, process in self.processes.items()}
        seconds["bench"] = _cpu_seconds(os.getpid())
        for comm in ("beam.smp", "postgres"):
            seconds[comm] = sum(
                _cpu_seconds(int(pid.name))
                for pid in Path("/proc").iterdir()
                if pid.name.isdigit() and _comm(pid) == comm
            )
        return seconds

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

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
        cpu_before, processes_before = _cpu_busy(), self._process_cpu()

        eventlet.sleep(max(0.0, t0 + KILL_AFTER_SECONDS - time.time()))
        killed_cpu = self._process_cpu()["notify_a"]
        os.killpg(self.processes["notify_a"].pid, signal.SIGKILL)
        self.processes["notify_a"].wait()
        killed_at = time.time()
        restart_seconds = self.start_notify("notify_a")

        finished = self.wait_until_done(t0)
        busy, total = (after - before for after, before in zip(_cpu_busy(), cpu_before, strict=True))
        processes_after = self._process_cpu()
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
        return result

    def create_owners(self) -> list[int]:
        admin = Caller(1, "admin", "admin").to_context()
        ids = []
        with ServiceRpcProxy("accounts", self.config, context_data=admin, timeout=30) as accounts:
            for n in range(OWNERS):
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

    def create_reminders(self, owners: list[int]) -> tuple[list[dict], float, float]:
        """Create every reminder through notify's RPC, due at t0 + U(0, 10 s)."""
        # creation runs at a few hundred a second; leave room so none is created after its time
        t0 = time.time() + 30 + REMINDERS / 80
        rng = random.Random(4)
        plan: dict[int, list[tuple[int, float]]] = {owner: [] for owner in owners}
        for n in range(REMINDERS):
            plan[owners[n % len(owners)]].append((n, t0 + rng.uniform(0, WINDOW_SECONDS)))
        created: list[dict] = []
        started = time.monotonic()

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
                    for n, due in plan[owner]
                ]
                created.extend(reply.result() for reply in replies)

        pool = eventlet.GreenPool(CREATE_CONCURRENCY)
        for owner in owners:
            pool.spawn_n(create_for, owner)
        pool.waitall()
        creation_seconds = time.monotonic() - started
        if time.time() > t0:
            raise RuntimeError(
                f"creating {REMINDERS} reminders took {creation_seconds:.0f}s: past the window"
            )
        return created, creation_seconds, t0

    def wait_until_done(self, t0: float) -> bool:
        engine = create_engine(self.db_url)
        deadline = t0 + WINDOW_SECONDS + ESCALATION_MINUTE_SECONDS + FINISH_TIMEOUT
        try:
            while time.time() < deadline:
                with engine.connect() as conn:
                    open_sms = conn.scalar(
                        text("SELECT count(*) FROM sms_messages WHERE status NOT IN ('sent', 'failed')")
                    )
                    unfinished = conn.scalar(
                        text("SELECT count(*) FROM reminders WHERE status IN ('pending', 'due')")
                    )
                if (
                    not open_sms
                    and not unfinished
                    and time.time() > t0 + WINDOW_SECONDS + ESCALATION_MINUTE_SECONDS
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
            "window_seconds": WINDOW_SECONDS,
            "instances": 2,
            "escalation_minute_seconds": ESCALATION_MINUTE_SECONDS,
            "creation": {
                "seconds": round(creation_seconds, 1),
                "per_second": round(len(created) / creation_seconds, 1),
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
            "sms_missing_at_twilio": len(missing_sms),
            "duplicate_sms_at_twilio": stats["duplicate_messages"],
            "twilio_accepted": stats["accepted"],
            "sms_sent_after_retry_or_reconcile": sum(1 for row in sms if row.attempts > 1),
            "sms_status": dict(Counter(row.status for row in sms)),
            "reminder_status": dict(Counter(row.status for row in reminders.values())),
        }


def _cpu_busy() -> tuple[int, int]:
    """Jiffies the whole machine spent busy, and in all (from /proc/stat)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _comm(proc: Path) -> str:
    try:
        return (proc / "comm").read_text().strip()
    except OSError:
        return ""


def _amqp_connections(pid: int) -> int:
    """Established TCP connections of process ``pid`` to port 5672 (Linux /proc)."""
    try:
        sockets = {
            os.readlink(f"/proc/{pid}/fd/{fd}")[8:-1]
            for fd in os.listdir(f"/proc/{pid}/fd")
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:[")
        }
    except OSError:
        return 0
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[2].endswith(":1628") and parts[3] == "01" and parts[9] in sockets:
            count += 1
    return count


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


def report(result: dict) -> str:
    def row(name: str, summary: dict) -> str:
        return (
            f"| {name} | {summary['n']} | {summary['p50_ms']} | {summary['p99_ms']} | {summary['mean_ms']} |"
        )

    return "\n".join(
        [
            "# Notify: 10,000 reminders due within 10 s, two instances, one SIGKILLed mid-run",
            "",
            f"Reminders: {result['reminders']} created through RPC in {result['creation']['seconds']} s "
            f"({result['creation']['per_second']}/s), due within {result['window_seconds']} s; every one "
            f"escalates {result['escalation_minute_seconds']} s after due (one escalation minute shortened "
            "to that), so every one is also an SMS through the real twilio SDK to the fake Twilio server.",
            f"Instance A was SIGKILLed {result['kill']['after_window_start_seconds']} s into the window and "
            f"answered again {result['kill']['restart_seconds']} s later. Finished: {result['finished']}.",
            "",
            "| lag | n | p50 ms | p99 ms | mean ms |",
            "|---|---|---|---|---|",
            row("due → in-app (visible to a reader polling every 50 ms)", result["due_to_in_app_observed"]),
            row("due → in-app (the notification's own timestamp)", result["due_to_in_app_stamped"]),
            row("escalation time → SMS accepted by Twilio", result["timeout_to_sms"]),
            "",
            "Goal: p99 ≤ 1 s.",
            "",
            "| count | value | goal |",
            "|---|---|---|",
            f"| lost reminders (no in-app notification) | {result['lost_reminders']} | 0 |",
            f"| duplicate in-app notifications | {result['duplicate_notifications']} | 0 |",
            f"| SMS missing at Twilio | {result['sms_missing_at_twilio']} | 0 |",
            f"| duplicate SMS at Twilio | {result['duplicate_sms_at_twilio']} | 0 |",
            f"| reminders marked late | {result['late_reminders']} | — |",
            f"| SMS that needed a retry or a reconciliation | {result['sms_sent_after_retry_or_reconcile']} | — |",
            "",
            f"SMS log: {result['sms_status']}; reminders: {result['reminder_status']}.",
            "",
            f"Machine CPU busy from the window's start to the last SMS: {result['machine_cpu_busy_percent']} % "
            f"of {result['cpus']} cores. CPU seconds in that time: "
            + ", ".join(f"{name} {seconds}" for name, seconds in result["cpu_seconds_by_process"].items())
            + " (postgres: every backend on the machine; notify_a: the killed process and its successor).",
            "",
        ]
    )
