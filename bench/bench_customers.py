"""Customers benchmark (issue 3): is the duplicate check as fast with a million customers as with
ten thousand, is entering a customer nearly as cheap as an empty RPC, is the fuzzy scan flat?

- Duplicate check p50/p99 over RPC (customers) and over HTTP (gateway → customers) with 10k, 100k
  and 1M customers bulk-loaded (COPY) into PostgreSQL, and in the same run a ``LIKE '%name%'`` scan
  of the same table, the way a widely used open-source CRM looks for duplicates.
- Create-customer throughput (checks, keys, revision, outbox, event, and the fuzzy scan the event
  triggers) with 16 concurrent callers, divided by the throughput of the empty ``ping`` RPC of the
  same service with 16 callers in the same run.
- Fuzzy scan time per new customer at every size (the scan's reads and scoring, in process).

Real processes, as `make run` starts them: accounts, customers and the gateway (``nameko run``) on a
RabbitMQ vhost of their own; customers on the PostgreSQL database ``crm_bench_customers``, built
for the run and dropped after it. Everything talks to 127.0.0.1 only. ``run(results_dir)`` writes
``customers.json`` and ``customers.md`` there.

Generated customers: ``<region?><3-character trade name><industry><legal form>`` with the trade name
drawn from ~200 characters (no character that starts a region name, so the key is trade name +
industry by construction — checked against the real normaliser on a sample) and one mobile number
each. Bulk rows carry what the checks read (customers, exact keys, fuzzy keys), not their history.
"""

from __future__ import annotations

import json
import math
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import requests
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from crm_common.caller import Caller
from crm_common.config import REPO_ROOT, with_database
from crm_common.migrations import upgrade
from customers import domain
from customers.models import Customer
from customers.normalize import _REGION_FORMS, INDUSTRY_WORDS, normalize_company_name, normalize_phone
from customers.repository import Records
from customers.service import find_matches, suspected_duplicates

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "crm_bench_customers"
RABBIT_HOST = "127.0.0.1"
VHOST = "crm_bench_customers"
SIZES = tuple(
    int(size) for size in os.environ.get("CRM_BENCH_CUSTOMERS_SIZES", "10000,100000,1000000").split(",")
)
CHECKS_PER_SIZE = 400  # half existing names, half new ones
SCANS_PER_SIZE = 15
FUZZY_PER_SIZE = 200
THROUGHPUT_SECONDS = 10.0
CALLERS = 16
COPY_CHUNK = 50_000
VENV_BIN = Path(sys.executable).parent
NEW_NAMES_FROM = 20_000_000  # generated customers from here on are never bulk-loaded

# --- generated customers ---------------------------------------------------------------------------

_REGION_STARTS = {form[0] for form, _bare, _marked in _REGION_FORMS if not form.isascii()}
_INDUSTRY_CHARS = set("".join(word for word in INDUSTRY_WORDS if not word.isascii()))
TRADE_CHARS = "".join(
    dict.fromkeys(
        char
        for char in (
            "鑫宏达华泰盛源恒昌隆兴瑞祥美利通银正诚康和顺发旺宝凤星川峰博远晨光明辉浩宇创智捷迅力坤乾元亨贞鼎晟润"
            "泽汇聚众优精锐腾飞翔鹏骏驰静雅馨芳菲琳琪瑶璐婷俊杰豪伟刚毅勇威振奋卓越超凡尚品臻致朗晖煜烨炜焱淼森磊"
            "岩峻崇嵘巍屹岳嵩亿万千佰仟友诺义仁礼孝忠贤良善慧敏聪颖睿哲思想梦幻彩虹霞露霜雪冰洁纯真朴素简约雄壮岸"
            "迈奔跃进升阔展拓弘扬昊旻昕晔晓曦暄暖春夏秋冬兰竹菊松柏杨桐槐枫桦楠樟椿檀莲荷蓉芙蕾薇茜莎萍蔚蓝紫翠碧"
            "绿彤赤橙琥珀钻晶琦瑾瑜璋珑玲珊瑚麒麟凰鹤鸿雁燕鹰豹虎狮象鲸鲲骐骥骁骢驹"
        )
        if char not in _REGION_STARTS
        and char not in _INDUSTRY_CHARS
        and char not in "区县公司集团厂分店行部处所"
    )
)
INDUSTRIES = ("机械", "电子", "贸易", "科技", "物流", "食品", "包装", "建材", "化工", "服饰", "家居", "医药")
LEGAL_FORMS = ("有限公司", "股份有限公司", "有限责任公司")
REGION_PREFIXES = ("", "", "", "深圳市", "杭州市", "苏州", "上海市")
MOBILE_PREFIXES = ("138", "139", "136", "135", "186", "187", "188", "158", "159", "150")
SPACE = len(TRADE_CHARS) ** 3 * len(INDUSTRIES)
SCRAMBLE = 2_654_435_761  # odd prime: n → n·SCRAMBLE mod SPACE is a bijection when coprime with SPACE


def company(n: int) -> tuple[str, str, str]:
    """Name, exact name key and E.164 mobile of generated customer ``n`` (unique for each n)."""
    scrambled = n * SCRAMBLE % SPACE
    industry = INDUSTRIES[scrambled % len(INDUSTRIES)]
    rest = scrambled // len(INDUSTRIES)
    base = len(TRADE_CHARS)
    trade = (
        TRADE_CHARS[rest % base] + TRADE_CHARS[rest // base % base] + TRADE_CHARS[rest // base // base % base]
    )
    key = trade + industry
    name = REGION_PREFIXES[n % len(REGION_PREFIXES)] + key + LEGAL_FORMS[n % len(LEGAL_FORMS)]
    return name, key, f"+86{MOBILE_PREFIXES[n % len(MOBILE_PREFIXES)]}{n % 100_000_000:08d}"


def check_generator(sample: int = 3000) -> None:
    """The keys built by construction are the ones the service computes."""
    assert math.gcd(SCRAMBLE, SPACE) == 1 and SPACE > NEW_NAMES_FROM + 40_000_000
    rng = random.Random(7)
    for n in [rng.randrange(1, 2_000_000) for _ in range(sample)] + [NEW_NAMES_FROM + i for i in range(100)]:
        name, key, phone = company(n)
        assert normalize_company_name(name) == key, (name, key)
        assert normalize_phone(phone) == phone, phone


# --- the system under test ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Bench:
    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.db_url = with_database(PG_SERVER, DATABASE)
        self.amqp_uri = f"amqp://guest:guest@{RABBIT_HOST}:5672/{VHOST}"
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
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
        server.dispose()
        upgrade("customers", self.db_url)
        self.engine = create_engine(self.db_url)

    def prepare_vhost(self) -> None:
        api = f"http://{RABBIT_HOST}:15672/api"
        requests.delete(f"{api}/vhosts/{VHOST}", auth=("guest", "guest"), timeout=10)
        requests.put(f"{api}/vhosts/{VHOST}", auth=("guest", "guest"), timeout=10).raise_for_status()
        requests.put(
            f"{api}/permissions/{VHOST}/guest",
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
        requests.delete(f"http://{RABBIT_HOST}:15672/api/vhosts/{VHOST}", auth=("guest", "guest"), timeout=10)
        if hasattr(self, "engine"):
            self.engine.dispose()
        server = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
        with server.connect() as conn:  # a million rows are not worth keeping
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
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
        self.seller = Caller(user["id"], "bench_sales", "sales", "bench").to_context()
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
                    keys.write(f"name\t{key}\t{n}\nphone\t{phone}\t{n}\n")
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

    # measurements

    def checks(self, size: int, rng: random.Random) -> list[dict]:
        existing = [{"name": company(rng.randint(1, size))[0]} for _ in range(CHECKS_PER_SIZE // 2)]
        new = [
            {"name": company(NEW_NAMES_FROM + rng.randrange(1_000_000))[0]}
            for _ in range(CHECKS_PER_SIZE // 2)
        ]
        payloads = existing + new
        rng.shuffle(payloads)
        return payloads

    def check_over_rpc(self, payloads: list[dict]) -> list[float]:
        with ServiceRpcProxy("customers", self.config, context_data=self.seller, timeout=30) as customers:
            return timed(customers.check_duplicates, payloads)

    def check_over_http(self, payloads: list[dict]) -> list[float]:
        def check(payload: dict) -> Any:
            reply = self.http.post(self.base_url + "/customers/check", json=payload, timeout=30)
            reply.raise_for_status()
            return reply.json()

        return timed(check, payloads)

    def check_in_process(self, payloads: list[dict]) -> list[float]:
        """The check's own work (keys, candidates, scoring) against the database, without RPC:
        the like-for-like comparison with the LIKE scan, which is timed the same way."""
        with Session(self.engine) as session:
            records = Records(session)
            return timed(
                lambda payload: find_matches(
                    records, normalize_company_name(payload["name"]), [], similar=True
                ),
                payloads,
            )

    def ping_latency(self) -> list[float]:
        with ServiceRpcProxy("customers", self.config, context_data=self.seller, timeout=30) as customers:
            return timed(lambda _: customers.ping(), list(range(200)))

    def like_scan(self, size: int, rng: random.Random) -> list[float]:
        names = [company(rng.randint(1, size))[0] for _ in range(SCANS_PER_SIZE)]
        with self.engine.connect() as conn:

            def scan(name: str) -> Any:
                return conn.execute(
                    text("SELECT id, name, owner_name FROM customers WHERE name LIKE :pattern"),
                    {"pattern": f"%{name}%"},
                ).all()

            return timed(scan, names, warmup=2)

    def fuzzy_scans(self, size: int, rng: random.Random) -> tuple[list[float], int]:
        """The scan of new customers: half new names, half branch offices of loaded ones."""
        newcomers = []
        for i in range(FUZZY_PER_SIZE):
            if i % 2:
                name, key, phone = company(rng.randint(1, size))
                name, key = name + "南京分公司", normalize_company_name(name + "南京分公司")
                phone = f"+86137{rng.randrange(100_000_000):08d}"
            else:
                name, key, phone = company(NEW_NAMES_FROM + 2_000_000 + rng.randrange(1_000_000))
            newcomers.append(
                Customer(
                    id=None,
                    name=name,
                    name_key=key,
                    phones=[phone],
                    contacts=[],
                    entered_at=datetime.now(UTC),
                )
            )
        found = 0
        with Session(self.engine) as session:
            records = Records(session)

            def scan(customer: Customer) -> Any:
                nonlocal found
                suspects = suspected_duplicates(records, customer)
                found += bool(suspects)
                return suspects

            samples = timed(scan, newcomers)
        return samples, found

    def service_cpu_seconds(self) -> float:
        """CPU time the customers process has used so far (user + system)."""
        fields = Path(f"/proc/{self.processes[1].pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def throughput(self, call: Callable[[Any, int], Any]) -> dict:
        """Calls per second of ``call(proxy, n)`` by CALLERS concurrent callers."""
        counts = [0] * CALLERS
        failures = [0] * CALLERS
        stop = threading.Event()
        started = threading.Barrier(CALLERS + 1)

        def caller(index: int) -> None:
            with ServiceRpcProxy("customers", self.config, context_data=self.seller, timeout=60) as proxy:
                started.wait()
                n = index * 1_000_000
                while not stop.is_set():
                    try:
                        call(proxy, n)
                        counts[index] += 1
                    except Exception:
                        failures[index] += 1
                    n += 1

        threads = [threading.Thread(target=caller, args=(i,)) for i in range(CALLERS)]
        for thread in threads:
            thread.start()
        started.wait()
        begin, cpu_before = time.perf_counter(), self.service_cpu_seconds()
        time.sleep(THROUGHPUT_SECONDS)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed, service_cpu = time.perf_counter() - begin, self.service_cpu_seconds() - cpu_before
        return {
            # the customers process's CPU per call: its own work and nameko's, events it caused included
            "service_cpu_ms_per_call": round(service_cpu * 1000 / max(1, sum(counts)), 2),
            "calls": sum(counts),
            "failures": sum(failures),
            "seconds": round(elapsed, 2),
            "per_second": round(sum(counts) / elapsed, 1),
        }


def create(proxy: Any, n: int) -> Any:
    name, _key, phone = company(NEW_NAMES_FROM + 10_000_000 + n)
    return proxy.create_customer(
        {
            "name": name,
            "phone": phone,
            "industry": "机械",
            "contacts": [{"name": "王总", "title": "总经理", "decision_level": 5}],
        }
    )


def ping(proxy: Any, n: int) -> Any:
    return proxy.ping()


def timed(call: Callable[[Any], Any], items: list, warmup: int = 20) -> list[float]:
    for item in items[:warmup]:
        call(item)
    samples = []
    for item in items:
        started = time.perf_counter()
        call(item)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(samples_ms: list[float]) -> dict:
    ordered = sorted(samples_ms)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


# --- the run ----------------------------------------------------------------------------------------


def run(results_dir: Path) -> dict:
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    started, load_before = time.perf_counter(), os.getloadavg()
    check_generator()
    rng = random.Random(2024)
    with tempfile.TemporaryDirectory(prefix="bench-customers-") as var:
        bench = Bench(Path(var))
        try:
            bench.prepare_database()
            bench.prepare_vhost()
            bench.start()
            bench.sign_up()
            by_size: dict[str, dict] = {}
            loaded = 0
            for size in SIZES:
                load_seconds = bench.load(loaded + 1, size)
                loaded = size
                payloads = bench.checks(size, rng)
                fuzzy, found = bench.fuzzy_scans(size, rng)
                by_size[str(size)] = {
                    "load_seconds": round(load_seconds, 1),
                    "ping_rpc": summary(bench.ping_latency()),
                    "check_in_process": summary(bench.check_in_process(payloads)),
                    "check_rpc": summary(bench.check_over_rpc(payloads)),
                    "check_http": summary(bench.check_over_http(payloads)),
                    "like_scan": summary(bench.like_scan(size, rng)),
                    "fuzzy_scan": {**summary(fuzzy), "customers_with_suspects": found},
                }
                print(f"customers bench: {size:>9,} customers {json.dumps(by_size[str(size)])}", flush=True)
            create_rate = bench.throughput(create)
            ping_rate = bench.throughput(ping)
        finally:
            bench.stop()
    results = {
        "benchmark": "customers",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            # other work on the machine skews every number: this says how busy it was
            "load_average_before": [round(load, 2) for load in load_before],
            "load_average_after": [round(load, 2) for load in os.getloadavg()],
        },
        "sizes": by_size,
        "throughput": {
            "callers": CALLERS,
            "customers_loaded": loaded,
            "create": create_rate,
            "ping": ping_rate,
            "create_over_ping": round(create_rate["per_second"] / ping_rate["per_second"], 3),
        },
        "goals": goals(by_size, create_rate, ping_rate),
        "seconds": round(time.perf_counter() - started, 1),
    }
    (results_dir / "customers.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    (results_dir / "customers.md").write_text(markdown(results))
    return results


def goals(by_size: dict, create_rate: dict, ping_rate: dict) -> list[dict]:
    """The issue's goals: what each asks, what this run achieved, whether it is met."""
    small, large = by_size[str(min(SIZES))], by_size[str(max(SIZES))]
    scan = large["like_scan"]["p50_ms"]

    def p99_ratio(part: str) -> float:
        return round(large[part]["p99_ms"] / small[part]["p99_ms"], 2)

    def over_scan(part: str) -> float:
        return round(large[part]["p99_ms"] / scan, 4)

    create_over_ping = round(create_rate["per_second"] / ping_rate["per_second"], 3)
    fuzzy_ratio = round(large["fuzzy_scan"]["p50_ms"] / small["fuzzy_scan"]["p50_ms"], 2)
    rows = [
        (
            "check p99 largest/smallest size, in process",
            "≤ 1.5",
            p99_ratio("check_in_process"),
            lambda v: v <= 1.5,
        ),
        ("check p99 largest/smallest size, RPC", "≤ 1.5", p99_ratio("check_rpc"), lambda v: v <= 1.5),
        ("check p99 largest/smallest size, HTTP", "≤ 1.5", p99_ratio("check_http"), lambda v: v <= 1.5),
        (
            "check p99 / LIKE scan p50, both in process",
            "< 0.02",
            over_scan("check_in_process"),
            lambda v: v < 0.02,
        ),
        ("check p99 over RPC / LIKE scan p50", "< 0.02", over_scan("check_rpc"), lambda v: v < 0.02),
        ("check p99 over HTTP / LIKE scan p50", "< 0.02", over_scan("check_http"), lambda v: v < 0.02),
        ("create throughput / empty-RPC throughput", "≥ 0.7", create_over_ping, lambda v: v >= 0.7),
        ("fuzzy scan p99 (ms) at the largest size", "< 50", large["fuzzy_scan"]["p99_ms"], lambda v: v < 50),
        ("fuzzy scan p50 largest/smallest size", "≤ 2", fuzzy_ratio, lambda v: v <= 2),
    ]
    return [
        {"goal": goal, "target": target, "achieved": value, "met": check(value)}
        for goal, target, value, check in rows
    ]


def markdown(results: dict) -> str:
    machine = results["machine"]
    lines = [
        "# Customers benchmark",
        "",
        f"{results['generated_at']} · {machine['cpus']} CPUs · Python {machine['python']} · {results['seconds']} s. "
        "PostgreSQL, RabbitMQ and every process on this machine; load average "
        f"{machine['load_average_before'][0]} before, {machine['load_average_after'][0]} after.",
        "",
        "## Duplicate check, the LIKE scan and the fuzzy scan (ms, p50 / p99)",
        "",
        "| customers | load (s) | ping RPC | check in process | check RPC | check HTTP | LIKE '%name%' | fuzzy scan |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, row in results["sizes"].items():
        cells = [
            f"{row[part]['p50_ms']} / {row[part]['p99_ms']}"
            for part in ("ping_rpc", "check_in_process", "check_rpc", "check_http", "like_scan", "fuzzy_scan")
        ]
        lines.append(f"| {int(size):,} | {row['load_seconds']} | " + " | ".join(cells) + " |")
    throughput = results["throughput"]
    lines += [
        "",
        f"Checks: {CHECKS_PER_SIZE} per size, one at a time, half of them names already entered (the answer "
        "names the owner), half new; the same names in process (the check's own queries and scoring, timed "
        f"like the LIKE scan), over RPC and over HTTP. LIKE scan: {SCANS_PER_SIZE} typed names per size. "
        f"Fuzzy scan: {FUZZY_PER_SIZE} new customers per size, half of them branch offices of loaded customers "
        "(each found as a suspect), in process.",
        "",
        f"## Throughput ({throughput['callers']} concurrent callers over RPC, "
        f"{throughput['customers_loaded']:,} customers loaded)",
        "",
        "| call | per second | calls | failures | customers process CPU per call (ms) |",
        "|---|---:|---:|---:|---:|",
        f"| create_customer | {throughput['create']['per_second']} | {throughput['create']['calls']} "
        f"| {throughput['create']['failures']} | {throughput['create']['service_cpu_ms_per_call']} |",
        f"| ping (empty RPC) | {throughput['ping']['per_second']} | {throughput['ping']['calls']} "
        f"| {throughput['ping']['failures']} | {throughput['ping']['service_cpu_ms_per_call']} |",
        "",
        f"create / ping = **{throughput['create_over_ping']}**",
        "",
        "## Goals",
        "",
        "| goal | target | achieved | met |",
        "|---|---|---:|---|",
    ]
    for goal in results["goals"]:
        met = "yes" if goal["met"] else "**no**"
        lines.append(f"| {goal['goal']} | {goal['target']} | {goal['achieved']} | {met} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(json.dumps(run(REPO_ROOT / "bench" / "results"), ensure_ascii=False, indent=2))
