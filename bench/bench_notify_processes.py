"""The processes of notify's burst (bench_notify): spawning them (accounts, two notify instances,
the fake Twilio server) with their environment, waiting until each answers, stopping them, and
reading from /proc the CPU each used and the machine's busy time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import eventlet
from nameko.standalone.rpc import ServiceRpcProxy

from crm_common.config import REPO_ROOT

VENV_BIN = Path(sys.executable).parent
SENDER = "+15005550006"
# Twilio's messages-per-second for the sender, set high: the burst is measured, not the account
SMS_MAX_PER_SECOND = 2000


class BurstProcesses:
    """The child processes of one run; ``stop`` ends every one still running (its process group)."""

    def __init__(self, amqp_uri: str, db_url: str, var: Path, escalation_minute_seconds: int) -> None:
        self.amqp_uri, self.db_url, self.var = amqp_uri, db_url, var
        self.escalation_minute_seconds = escalation_minute_seconds
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
            "NOTIFY_ESCALATION_MINUTE_SECONDS": str(self.escalation_minute_seconds),
            "NOTIFY_SMS_MAX_PER_SECOND": str(SMS_MAX_PER_SECOND),
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

    def process_cpu(self) -> dict[str, float]:
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


def machine_cpu_busy() -> tuple[int, int]:
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
