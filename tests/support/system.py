"""The whole system as `make run` starts it: migrations, then supervisord with supervisord.conf.

Each run gets its own RabbitMQ vhost, its own var/ folder (SQLite files) and its own gateway
port, so it never touches a developer's running system.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import requests

from crm_common.config import REPO_ROOT
from crm_common.registry import DATABASE_NAMES

VENV_BIN = Path(os.environ.get("VIRTUAL_ENV", REPO_ROOT / ".venv")) / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RunningSystem:
    def __init__(
        self,
        amqp_uri: str,
        var_dir: Path,
        admin_password: str = "admin-pw-1",
        extra_env=None,
        clock_control: bool = False,
    ):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/api/v1"
        self.admin_password = admin_password
        self.var_dir = var_dir
        self.log_path = var_dir / "system.log"
        self.env = {
            **os.environ,
            "AMQP_URI": amqp_uri,
            "CRM_VAR_DIR": str(var_dir),
            "GATEWAY_ADDRESS": f"127.0.0.1:{self.port}",
            "CRM_ADMIN_PASSWORD": admin_password,
            "PYTHONWARNINGS": "ignore",
            # every test logs in from 127.0.0.1 and schemathesis sends hundreds of random logins:
            # the per-username limit stays as shipped, the per-address one must not lock the tests out
            "CRM_LOGIN_MAX_FAILURES_PER_CLIENT": "100000",
            **(extra_env or {}),
        }
        # the services' clock follows a file the test rewrites (move_clock); never in production
        if clock_control:
            self.env["CRM_CLOCK_OFFSET_FILE"] = str(var_dir / "clock_offset")
        else:
            self.env.pop("CRM_CLOCK_OFFSET_FILE", None)
        # No CRM_JWT_SECRET: run.sh makes the secret file under var/, as on a developer's machine.
        for key in ("CRM_DB_URL", "CRM_JWT_SECRET", "CRM_JWT_SECRET_FILE") + tuple(
            f"{s.upper()}_DB_URL" for s in DATABASE_NAMES
        ):
            if key not in (extra_env or {}):
                self.env.pop(key, None)
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> RunningSystem:
        """Run scripts/run.sh — what `make run` runs after installing — and wait for health."""
        # append mode: supervisord's children reopen /dev/stdout, and must not write over it
        self._log = open(self.log_path, "a")  # noqa: SIM115 — closed in stop()
        self.process = subprocess.Popen(
            ["bash", "scripts/run.sh"],
            env=self.env,
            cwd=REPO_ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.base_url + "/health", timeout=3).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the system did not become healthy; log:\n{self.log_path.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)  # what Ctrl-C does to `make run`
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if hasattr(self, "_log"):
            self._log.close()

    def move_clock(self, **delta: float) -> None:
        """Set every service's clock to the real time plus ``delta`` (``days=31``; nothing: the
        real time again), for a system started with ``clock_control=True``: the services read
        ``CRM_CLOCK_OFFSET_FILE`` again when it changes (crm_common.clock)."""
        path = self.env.get("CRM_CLOCK_OFFSET_FILE")
        assert path, "start the system with clock_control=True"
        seconds = timedelta(**delta).total_seconds()
        scratch = Path(path).with_suffix(".tmp")
        scratch.write_text(f"{seconds}\n", encoding="ascii")
        os.replace(scratch, path)  # one step: a service never reads half a number

    def supervisorctl(self, *args: str) -> str:
        """``supervisorctl`` against this system's supervisord (``status``, ``pid customers``)."""
        result = subprocess.run(
            [str(VENV_BIN / "supervisorctl"), "-c", "supervisord.conf", *args],
            env=self.env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return result.stdout.strip()

    def service_pid(self, service: str) -> int:
        """The process id of one service (0 while it is not running)."""
        text = self.supervisorctl("pid", f"crm:{service}")
        return int(text) if text.isdigit() else 0

    def token(self, username: str, password: str) -> str:
        reply = requests.post(
            self.base_url + "/auth/token", json={"username": username, "password": password}, timeout=10
        )
        reply.raise_for_status()
        return reply.json()["access_token"]

    def client(self, username: str, password: str) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = "Bearer " + self.token(username, password)
        return session


def api(
    system: RunningSystem, session: requests.Session, method: str, path: str, **kwargs
) -> requests.Response:
    """``METHOD /api/v1<path>`` on a running system with a logged-in session."""
    kwargs.setdefault("timeout", 30)
    return session.request(method, system.base_url + path, **kwargs)


def eventually(probe, seconds: float = 20.0, interval: float = 0.2):
    """``probe()``'s first truthy value within ``seconds`` (events take a moment), else its last."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
