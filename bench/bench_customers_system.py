"""The system under the customers bench (bench_customers): its database and vhost, the processes
(accounts, customers, the customers-scanner, the gateway) as `make run` starts them, the users who
call them, the bulk load of generated customers (COPY), and the CPU each process used (/proc)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import requests
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.bench_customers_scale import FULL, INDUSTRIES, Scale, company
from bench.support import blocking_copy
from crm_common.caller import Caller
from crm_common.config import REPO_ROOT, with_database
from crm_common.migrations import upgrade
from customers import domain
from customers.domain_pool import PoolRules
from customers.models import PoolSettings
from customers.normalize import company_region

PG_SERVER = os.environ.get("CRM_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432") + "/postgres"
RABBIT_HOST = "127.0.0.1"
COPY_CHUNK = 50_000
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CustomersSystem:
    """The processes, database and vhost of one run; `Bench` measures them."""

    def __init__(self, var_dir: Path, scale: Scale = FULL) -> None:
        self.var_dir = var_dir
        self.scale = scale
        self.db_url = with_database(PG_SERVER, scale.database)
        self.amqp_uri = f"amqp://guest:guest@{RABBIT_HOST}:5672/{scale.vhost}"
        self.config = {"AMQP_URI": self.amqp_uri}
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/api/v1"
        self.processes: list[subprocess.Popen] = []
        self.env = {
            **os.environ,
            "AMQP_URI": self.amqp_uri,
            "CRM_VAR_DIR": str(var_dir),
            "CUSTOMERS_DB_URL": self.db_url,
            "GATEWAY_ADDRESS": f"127.0.0.1:{self.port}",
            "CRM_ADMIN_PASSWORD": "bench-admin-pw",
            "CRM_JWT_SECRET": "bench-secret",
            "CRM_LOG_LEVEL": "WARNING",
            "PYTHONWARNINGS": "ignore",
        }
        for name in ("CRM_DB_URL", "ACCOUNTS_DB_URL"):
            self.env.pop(name, None)

    # setup

    def prepare_database(self) -> None:
        server = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.scale.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{self.scale.database}"'))
        server.dispose()
        upgrade("customers", self.db_url)
        self.engine = create_engine(self.db_url)

    def prepare_vhost(self) -> None:
        api = f"http://{RABBIT_HOST}:15672/api"
        requests.delete(f"{api}/vhosts/{self.scale.vhost}", auth=("guest", "guest"), timeout=10)
        requests.put(
            f"{api}/vhosts/{self.scale.vhost}", auth=("guest", "guest"), timeout=10
        ).raise_for_status()
        requests.put(
            f"{api}/permissions/{self.scale.vhost}/guest",
            json={"configure": ".*", "write": ".*", "read": ".*"},
            auth=("guest", "guest"),
            timeout=10,
        ).raise_for_status()

    def start(self) -> None:
        subprocess.run(
            [str(VENV_BIN / "python"), "-m", "crm_common.migrate", "accounts"],
            env=self.env,
            cwd=REPO_ROOT,
            check=True,
            capture_output=True,
        )
        log = open(self.var_dir / "services.log", "w")  # noqa: SIM115 — lives as long as the processes
        for service, entry in (
            ("accounts", "accounts.service:AccountsService"),
            ("customers", "customers.service:CustomersService"),
            # the fuzzy scan of new customers: its own process, as make run and compose start it
            ("customers", "customers.service_scanner:CustomersScannerService"),
            ("gateway", "gateway.service:GatewayService"),
        ):
            self.processes.append(
                subprocess.Popen(
                    [str(VENV_BIN / "nameko"), "run", "--config", f"services/{service}/config.yml", entry],
                    env=self.env,
                    cwd=REPO_ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with ServiceRpcProxy("customers", self.config, timeout=2) as customers:
                    customers.ping()
                if requests.get(self.base_url + "/ping", timeout=2).json().get("pong"):
                    return
            except Exception:  # not up yet
                time.sleep(0.5)
        raise RuntimeError(f"services did not start; see {self.var_dir / 'services.log'}")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        requests.delete(
            f"http://{RABBIT_HOST}:15672/api/vhosts/{self.scale.vhost}", auth=("guest", "guest"), timeout=10
        )
        if hasattr(self, "engine"):
            self.engine.dispose()
        server = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
        with server.connect() as conn:  # a million rows are not worth keeping
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.scale.database}" WITH (FORCE)'))
        server.dispose()

    def sign_up(self) -> None:
        admin = {"caller_id": 1, "caller_username": "admin", "caller_role": "admin", "caller_team": None}
        with ServiceRpcProxy("accounts", self.config, context_data=admin, timeout=30) as accounts:
            accounts.create_user(
                {
                    "username": "bench_boss",
                    "password": "bench-pw-1",
                    "display_name": "压测经理",
                    "role": "manager",
                    "team": "bench",
                }
            )
            user = accounts.create_user(
                {
                    "username": "bench_sales",
                    "password": "bench-pw-2",
                    "display_name": "压测销售",
                    "team": "bench",
                    "manager": "bench_boss",
                }
            )
            boss = next(u for u in accounts.list_users() if u["username"] == "bench_boss")
        # the seller enters and imports tens of thousands of customers: the team's holding limit
        # (pool rules, default 300) must not be what the throughput measures; nor may the pool
        # sweep, which would return the million bulk-loaded customers (none followed up since
        # 2024) page by page in the customers process, all through the run
        rules = PoolRules(max_customers=10_000_000, followup_days=36_500, won_deal_days=0)
        with Session(self.engine) as session, session.begin():
            session.add(PoolSettings(team="bench", **rules.as_dict()))
        self.seller = Caller(user["id"], "bench_sales", "sales", "bench").to_context()
        self.boss = Caller(boss["id"], "bench_boss", "manager", "bench").to_context()
        reply = requests.post(
            self.base_url + "/auth/token",
            json={"username": "bench_sales", "password": "bench-pw-2"},
            timeout=10,
        )
        self.http = requests.Session()
        self.http.headers["Authorization"] = "Bearer " + reply.json()["access_token"]

    # bulk load

    def load(self, first: int, last: int) -> float:
        """COPY generated customers ``first``..``last`` with their exact and fuzzy keys."""
        started = time.perf_counter()
        connection = self.engine.raw_connection()
        with blocking_copy():
            try:
                cursor = connection.cursor()
                for chunk in range(first, last + 1, COPY_CHUNK):
                    customers, keys, fuzzy = StringIO(), StringIO(), StringIO()
                    for n in range(chunk, min(chunk + COPY_CHUNK, last + 1)):
                        name, key, phone = company(n)
                        owner = n % 40
                        customers.write(
                            f'{n}\t{name}\t{key}\t["{phone}"]\t[]\t{INDUSTRIES[n % len(INDUSTRIES)]}\t{1000 + owner}'
                            f"\t销售{owner:02d}\t2024-01-01 00:00:00\tbench\tactive\t1\t{1000 + owner}\t2024-01-01 00:00:00\n"
                        )
                        for kind, exact in domain.exact_keys(key, [phone], company_region(name)):
                            keys.write(f"{kind}\t{exact}\t{n}\n")
                        for fuzzy_key in domain.candidate_keys(key, [phone]):
                            fuzzy.write(f"{fuzzy_key}\t{n}\n")
                    for table, columns, buffer in (
                        (
                            "customers",
                            "id, name, name_key, phones, contacts, industry, owner_id, owner_name, owned_since,"
                            " team, status, revision, entered_by, entered_at",
                            customers,
                        ),
                        ("customer_keys", "kind, key, customer_id", keys),
                        ("fuzzy_keys", "key, customer_id", fuzzy),
                    ):
                        buffer.seek(0)
                        cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)
                    connection.commit()
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence('customers', 'id'), (SELECT max(id) FROM customers))"
                )
                connection.commit()
                connection.set_isolation_level(0)
                cursor.execute("VACUUM ANALYZE customers")
                cursor.execute("VACUUM ANALYZE customer_keys")
                cursor.execute("VACUUM ANALYZE fuzzy_keys")
                connection.set_isolation_level(1)
            finally:
                connection.close()
        return time.perf_counter() - started

    def service_cpu_seconds(self, process: int = 1) -> float:
        """CPU time the customers process (``process`` 2: the customers-scanner) has used so far
        (user + system)."""
        fields = Path(f"/proc/{self.processes[process].pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def scanner_caught_up(self, timeout: float = 120) -> float:
        """Wait until the customers-scanner is idle (its CPU stands still for a second); the
        seconds it took."""
        started, last = time.perf_counter(), self.service_cpu_seconds(2)
        while time.perf_counter() - started < timeout:
            time.sleep(1.0)
            now = self.service_cpu_seconds(2)
            if now - last < 0.02:
                break
            last = now
        return time.perf_counter() - started
