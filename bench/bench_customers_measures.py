"""The measurements of the customers bench (bench_customers): duplicate checks in process, over RPC
and over HTTP, the LIKE scan, the fuzzy scan, the CSV import as a background job, and create and
ping throughput with concurrent callers."""

from __future__ import annotations

import base64
import math
import random
import statistics
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.bench_customers_scale import CALLERS, IMPORT_NAMES_FROM, INDUSTRIES, NEW_NAMES_FROM, company
from bench.bench_customers_system import CustomersSystem
from bench.support import CpuProfile
from customers.models import Customer
from customers.normalize import normalize_company_name
from customers.store import Store
from customers.usecases_matching import find_matches, suspected_duplicates

# the processes (CustomersSystem.processes) whose CPU a check over HTTP spends
CPU_OF_A_CHECK = {"customers": 1, "gateway": 3}


class Bench(CustomersSystem):
    """One run's system (`CustomersSystem`) and what is measured on it."""

    def checks(self, size: int, rng: random.Random) -> list[dict]:
        existing = [
            {"name": company(rng.randint(1, size))[0]} for _ in range(self.scale.checks_per_size // 2)
        ]
        new = [
            {"name": company(NEW_NAMES_FROM + rng.randrange(1_000_000))[0]}
            for _ in range(self.scale.checks_per_size // 2)
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

        for payload in payloads[:20]:  # warm up, as timed() does, before the CPU is counted
            check(payload)
        before = {name: self.service_cpu_seconds(index) for name, index in CPU_OF_A_CHECK.items()}
        samples = timed(check, payloads, warmup=0)
        self.check_http_cpu_ms = {
            name: round((self.service_cpu_seconds(index) - before[name]) / len(payloads) * 1000, 2)
            for name, index in CPU_OF_A_CHECK.items()
        }
        return samples

    def ping_over_http(self) -> list[float]:
        """``GET /api/v1/ping``: gateway → accounts → gateway, no database, no token — the least a
        request over HTTP costs here, the floor under every HTTP figure."""

        def ping(_: Any) -> Any:
            reply = self.http.get(self.base_url + "/ping", timeout=30)
            reply.raise_for_status()

        return timed(ping, list(range(200)))

    def check_in_process(self, payloads: list[dict]) -> list[float]:
        """The check's own work (keys, candidates, scoring) against the database, without RPC:
        the like-for-like comparison with the LIKE scan, which is timed the same way."""
        with Session(self.engine) as session:
            records = Store.on_session(session)
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
        names = [company(rng.randint(1, size))[0] for _ in range(self.scale.scans_per_size)]
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
        for i in range(self.scale.fuzzy_per_size):
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
            records = Store.on_session(session)

            def scan(customer: Customer) -> Any:
                nonlocal found
                suspects = suspected_duplicates(records, customer)
                found += bool(suspects)
                return suspects

            samples = timed(scan, newcomers)
        return samples, found

    def import_rate(self, rows: int, stored: int, rng: random.Random, dry_run: bool = False) -> dict:
        """Import ``rows`` rows (every tenth an already stored customer) as a background job while a
        manager reads a stored customer every 50 ms: rows per second, and the reads' latency. A dry
        run checks every row against the stored customers and creates nothing (so no scans follow)."""
        lines = ["公司名称,电话,行业"]
        for i in range(rows):
            name, _key, phone = company(rng.randint(1, stored) if i % 10 == 0 else IMPORT_NAMES_FROM + i)
            lines.append(f"{name},{phone},{INDUSTRIES[i % len(INDUSTRIES)]}")
        sheet = base64.b64encode("\r\n".join(lines).encode("utf-8")).decode("ascii")
        with (
            ServiceRpcProxy("customers", self.config, context_data=self.seller, timeout=60) as importer,
            ServiceRpcProxy("customers", self.config, context_data=self.boss, timeout=60) as reader,
        ):
            before = timed(lambda _: reader.get_customer(rng.randint(1, stored)), list(range(100)))
            cpu_before, begin = self.service_cpu_seconds(), time.perf_counter()
            job = importer.import_customers(sheet, {"dry_run": dry_run})
            during: list[float] = []
            while job["state"] in ("queued", "running"):
                started = time.perf_counter()
                reader.get_customer(rng.randint(1, stored))
                during.append((time.perf_counter() - started) * 1000)
                time.sleep(0.05)
                job = importer.get_import_job(job["id"], {"per_page": 1})
            elapsed, service_cpu = time.perf_counter() - begin, self.service_cpu_seconds() - cpu_before
        return {
            "rows": rows,
            "stored_customers": stored,
            "state": job["state"],
            "created": job["created"],
            "duplicates": job["duplicates"],
            "invalid": job["invalid"],
            "seconds": round(elapsed, 2),
            "rows_per_second": round(rows / elapsed, 1),
            # the import's batches and the fuzzy scans its customer_created events cause meanwhile
            "service_cpu_ms_per_row": round(service_cpu * 1000 / rows, 3),
            "read_before": summary(before),
            "read_during": summary(during or [0.0]),
        }

    def throughput(self, call: Callable[[Any, int], Any], profile: bool = False) -> dict:
        """Calls per second of ``call(proxy, n)`` by CALLERS concurrent callers; ``profile``: and
        where the customers process spends its CPU meanwhile (py-spy)."""
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

        # the scans of what came before (the import's 18,000 new customers) must not run meanwhile:
        # they would take CPU from the calls measured and count in the scanner's CPU per call
        scanner_busy_before = self.scanner_caught_up(timeout=600)
        threads = [threading.Thread(target=caller, args=(i,)) for i in range(CALLERS)]
        for thread in threads:
            thread.start()
        started.wait()
        begin, cpu_before = time.perf_counter(), self.service_cpu_seconds()
        scanner_before = self.service_cpu_seconds(2)
        profiler = CpuProfile(self.processes[1].pid, self.scale.throughput_seconds) if profile else None
        time.sleep(self.scale.throughput_seconds)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed, service_cpu = time.perf_counter() - begin, self.service_cpu_seconds() - cpu_before
        where = {"cpu_profile": profiler.result()} if profiler else {}
        # the scans the calls caused, counted once they are done (they run behind, in their process)
        catching_up = self.scanner_caught_up()
        scanner_cpu = self.service_cpu_seconds(2) - scanner_before
        return {
            **where,
            # the customers process's CPU per call: its own work and nameko's, events it published included
            "service_cpu_ms_per_call": round(service_cpu * 1000 / max(1, sum(counts)), 2),
            # the customers-scanner's: the fuzzy scans of the customers created (and its idling)
            "scanner_cpu_ms_per_call": round(scanner_cpu * 1000 / max(1, sum(counts)), 2),
            "scanner_caught_up_seconds": round(catching_up, 1),
            "scanner_busy_before_seconds": round(scanner_busy_before, 1),
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
