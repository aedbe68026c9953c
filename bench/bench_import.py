"""Import benchmark (issue 13): a CSV import as a background job against a large customer table,
and what it does to interactive requests meanwhile.

- ``CRM_BENCH_IMPORT_STORED`` customers (default 1,000,000) are bulk-loaded with COPY (customers,
  exact keys, fuzzy keys: what the duplicate check reads) into PostgreSQL. Computing their keys
  (pinyin and all, ~0.5 ms a customer) costs more than the COPY: it runs in one subprocess per
  core, chunk by chunk, and the generated COPY files are kept in ``CRM_BENCH_CACHE`` (default
  ``$TMPDIR/crm-bench-import``) for the next run.
- A file of ``CRM_BENCH_IMPORT_FILE_ROWS`` rows (default 100,000, GBK like a spreadsheet's export,
  within the 5 MB upload limit): every tenth row a stored customer (a duplicate), the rest new.
  A dry run first (the full duplicate check, nothing created, so no fuzzy scans follow), then the
  real import. Rows per second from submit to ``finished``; the customers process's CPU per row.
- Meanwhile one user keeps calling ``GET /customers`` and ``POST /customers`` over HTTP (the
  gateway), 50 ms apart; their p50/p99 during the import against the same calls before it.
- Where the customers process spends its CPU during the real import (py-spy).

Real processes (accounts, customers, gateway with ``nameko run``) on a vhost and a database of
their own, built and dropped by the run (`bench.bench_customers.Bench`). ``run(results_dir)``
writes ``import.json`` and ``import.md``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nameko.standalone.rpc import ServiceRpcProxy

from bench import bench_customers, bench_customers_scale
from bench.bench_customers import INDUSTRIES, NEW_NAMES_FROM, REGION_PREFIXES, Bench, company, summary
from bench.support import CpuProfile, blocking_copy, cpu_profile_markdown, goal, goals_markdown, machine_load
from customers import domain
from customers.normalize import company_region

ROWS_PER_SECOND_GOAL = 2000
P99_RATIO_GOAL = 1.5  # interactive p99 during the import ÷ before: "keep their usual p99"
IMPORT_NAMES_FROM = NEW_NAMES_FROM + 40_000_000  # never loaded, never entered by the probe
PROBE_NAMES_FROM = NEW_NAMES_FROM + 45_000_000
PROBE_PAUSE_SECONDS = 0.05
CHUNK = 50_000  # customers per generated COPY file set
CACHE_DIR = Path(os.environ.get("CRM_BENCH_CACHE") or Path(tempfile.gettempdir()) / "crm-bench-import")
CUSTOMER_COLUMNS = (
    "id, name, name_key, phones, contacts, industry, owner_id, owner_name, owned_since,"
    " team, status, revision, entered_by, entered_at"
)
TABLES = (
    ("customers", CUSTOMER_COLUMNS),
    ("customer_keys", "kind, key, customer_id"),
    ("fuzzy_keys", "key, customer_id"),
)


@dataclass(frozen=True)
class Scale:
    stored: int = int(os.environ.get("CRM_BENCH_IMPORT_STORED", "1000000"))
    rows: int = int(os.environ.get("CRM_BENCH_IMPORT_FILE_ROWS", "100000"))
    # the real import may take the file's first rows only: each created customer is also scanned
    # for near-duplicates, which on a busy 2-core machine takes far longer than the import itself
    real_rows: int = int(os.environ.get("CRM_BENCH_IMPORT_REAL_ROWS", "0")) or rows
    probe_before: int = 200  # GET + POST pairs before the import
    profile_seconds: float = 20.0
    database: str = "crm_bench_import"
    vhost: str = "crm_bench_import"


FULL = Scale()


def quick_scale() -> Scale:
    suffix = uuid.uuid4().hex[:8]
    return Scale(
        stored=500,
        rows=200,
        real_rows=200,
        probe_before=20,
        profile_seconds=1.0,
        database=f"crm_bench_import_{suffix}",
        vhost=f"crm_bench_import_{suffix}",
    )


# --- bulk load ---------------------------------------------------------------------------------------


def _generator_version() -> str:
    """Cached files are reused only while the generator and the key code give the same keys (a
    sample of customers across the range, hashed)."""
    digest = hashlib.sha256(Path(bench_customers_scale.__file__).read_bytes())
    for n in range(1, 2_000_000, 9973):
        name, key, phone = company(n)
        digest.update(f"{name}{company_region(name)}{sorted(domain.candidate_keys(key, [phone]))}".encode())
    return digest.hexdigest()[:12]


def generate(first: int, last: int, directory: Path) -> None:
    """Write the COPY files of generated customers ``first``..``last`` (what `Bench.load` loads)."""
    directory.mkdir(parents=True, exist_ok=True)
    # the region depends on the name's prefix only (the trade names avoid region characters)
    regions = {prefix: company_region(company(n)[0]) for n, prefix in enumerate(REGION_PREFIXES)}
    files = {table: open(directory / f"{table}.tsv.{os.getpid()}.part", "w") for table, _ in TABLES}  # noqa: SIM115
    try:
        for n in range(first, last + 1):
            name, key, phone = company(n)
            owner = n % 40
            files["customers"].write(
                f'{n}\t{name}\t{key}\t["{phone}"]\t[]\t{INDUSTRIES[n % len(INDUSTRIES)]}\t{1000 + owner}'
                f"\t销售{owner:02d}\t2024-01-01 00:00:00\tbench\tactive\t1\t{1000 + owner}\t2024-01-01 00:00:00\n"
            )
            for kind, exact in domain.exact_keys(
                key, [phone], regions[REGION_PREFIXES[n % len(REGION_PREFIXES)]]
            ):
                files["customer_keys"].write(f"{kind}\t{exact}\t{n}\n")
            for fuzzy_key in domain.candidate_keys(key, [phone]):
                files["fuzzy_keys"].write(f"{fuzzy_key}\t{n}\n")
    finally:
        for file in files.values():
            file.close()
    for table, _ in TABLES:
        (directory / f"{table}.tsv.{os.getpid()}.part").rename(directory / f"{table}.tsv")


def chunk_dirs(stored: int) -> list[tuple[int, int, Path]]:
    version = _generator_version()
    return [
        (
            first,
            min(first + CHUNK - 1, stored),
            CACHE_DIR / f"{version}-{first}-{min(first + CHUNK - 1, stored)}",
        )
        for first in range(1, stored + 1, CHUNK)
    ]


def generate_all(stored: int) -> int:
    """Generate the COPY files of ``stored`` customers not cached yet, one subprocess per core;
    how many chunks that was."""
    missing = [
        chunk for chunk in chunk_dirs(stored) if not all((chunk[2] / f"{t}.tsv").exists() for t, _ in TABLES)
    ]
    running: list[subprocess.Popen] = []
    for first, last, directory in missing:
        while len(running) >= (os.cpu_count() or 1):
            if running.pop(0).wait():
                raise RuntimeError("generating the customers to load failed")
        running.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.bench_import",
                    "generate",
                    str(first),
                    str(last),
                    str(directory),
                ],
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )
        )
    for process in running:
        if process.wait():
            raise RuntimeError("generating the customers to load failed")
    return len(missing)


def bulk_load(bench: Bench, stored: int) -> dict[str, float]:
    """Generate (or reuse) the COPY files of ``stored`` customers, then COPY them in; seconds
    spent in each part."""
    started = time.perf_counter()
    missing = generate_all(stored)
    generated = time.perf_counter()
    connection = bench.engine.raw_connection()
    with blocking_copy():
        try:
            cursor = connection.cursor()
            for _first, _last, directory in chunk_dirs(stored):
                for table, columns in TABLES:
                    with open(directory / f"{table}.tsv") as source:
                        cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", source)
                connection.commit()
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('customers', 'id'), (SELECT max(id) FROM customers))"
            )
            connection.commit()
            connection.set_isolation_level(0)
            for table, _ in TABLES:
                cursor.execute(f"VACUUM ANALYZE {table}")
            connection.set_isolation_level(1)
        finally:
            connection.close()
    return {
        "generate_seconds": round(generated - started, 1),
        "chunks_generated": missing,
        "copy_seconds": round(time.perf_counter() - generated, 1),
    }


class Probe:
    """One user's interactive calls over HTTP, ``GET /customers`` then ``POST /customers``, 50 ms
    apart, on a thread of its own until stopped: each call's latency (ms) and any failure."""

    def __init__(self, bench: Bench, first_name: int) -> None:
        self.bench = bench
        self.number = first_name
        self.samples: dict[str, list[float]] = {"GET /customers": [], "POST /customers": []}
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def one_round(self) -> None:
        http, base = self.bench.http, self.bench.base_url
        name, _key, phone = company(self.number)
        self.number += 1
        for what, call in (
            ("GET /customers", lambda: http.get(base + "/customers", params={"per_page": 20}, timeout=30)),
            (
                "POST /customers",
                lambda: http.post(
                    base + "/customers",
                    json={"name": name, "phones": [phone], "industry": "机械"},
                    timeout=30,
                ),
            ),
        ):
            started = time.perf_counter()
            try:
                reply = call()
                if reply.status_code >= 400:
                    self.failures.append(f"{what}: {reply.status_code} {reply.text[:200]}")
            except Exception as exc:  # a timeout is a figure too
                self.failures.append(f"{what}: {exc}")
            self.samples[what].append((time.perf_counter() - started) * 1000)

    def rounds(self, count: int) -> None:
        for _ in range(count):
            self.one_round()
            time.sleep(PROBE_PAUSE_SECONDS)

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                self.one_round()
                self._stop.wait(PROBE_PAUSE_SECONDS)

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def result(self) -> dict[str, Any]:
        return {
            **{what: summary(samples or [0.0]) for what, samples in self.samples.items()},
            "calls": sum(len(samples) for samples in self.samples.values()),
            "failures": len(self.failures),
            "first_failures": self.failures[:5],
        }


def import_file(scale: Scale, rows: int) -> tuple[str, int]:
    """The file's first ``rows`` rows, base64 (GBK, as a spreadsheet exports), and how many of
    them are stored customers."""
    lines = ["公司名称,电话"]
    stored = 0
    for i in range(rows):
        if i % 10 == 0:
            n = 1 + (i * 7919) % scale.stored  # spread over the table
            stored += 1
        else:
            n = IMPORT_NAMES_FROM + i
        name, _key, phone = company(n)
        lines.append(f"{name},{phone}")
    data = ("\r\n".join(lines) + "\r\n").encode("gbk")
    return base64.b64encode(data).decode("ascii"), stored


def follow(bench: Bench, scale: Scale, sheet: str, dry_run: bool, profile: bool) -> dict[str, Any]:
    """Submit the file, follow its job to the end with the probe running; the figures."""
    probe = Probe(bench, PROBE_NAMES_FROM + (2_000_000 if dry_run else 3_000_000))
    profiler = None
    with ServiceRpcProxy("customers", bench.config, context_data=bench.seller, timeout=120) as importer:
        cpu_before, begin = bench.service_cpu_seconds(), time.perf_counter()
        job = importer.import_customers(sheet, {"dry_run": dry_run, "filename": "bench.csv"})
        probe.start()
        if profile:
            profiler = CpuProfile(bench.processes[1].pid, scale.profile_seconds)
        progress = []
        while job["state"] in ("queued", "running"):
            time.sleep(0.25)
            job = importer.get_import_job(job["id"], {"per_page": 1})
            progress.append((round(time.perf_counter() - begin, 1), job["rows_done"]))
        elapsed = time.perf_counter() - begin
        service_cpu = bench.service_cpu_seconds() - cpu_before
        probe.stop()
    print(f"import bench: {'dry run' if dry_run else 'import'} {job['state']} in {elapsed:.1f} s", flush=True)
    return {
        "dry_run": dry_run,
        "state": job["state"],
        "error": job.get("error"),
        "rows": job["total_rows"],
        "created": job["created"],
        "duplicates": job["duplicates"],
        "invalid": job["invalid"],
        "seconds": round(elapsed, 2),
        "rows_per_second": round(job["rows_done"] / elapsed, 1),
        # the batches, the requests of the probe, and the fuzzy scans the created customers cause
        "service_cpu_ms_per_row": round(service_cpu * 1000 / max(1, job["rows_done"]), 3),
        "progress": progress[:: max(1, len(progress) // 20)],
        "interactive": probe.result(),
        **({"cpu_profile": profiler.result()} if profiler else {}),
    }


def run(results_dir: Path, quick: bool = False) -> dict:
    """Measure and write ``import.json`` and ``import.md``; ``quick``: 200 rows against 500."""
    scale = quick_scale() if quick else FULL
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    started, load_before = time.perf_counter(), machine_load()
    with tempfile.TemporaryDirectory(prefix="bench-import-") as var:
        base = bench_customers.quick_scale() if quick else bench_customers.FULL
        bench = Bench(Path(var), replace(base, database=scale.database, vhost=scale.vhost))
        # the loaded customers have no follow-ups since 2024: the team pool's sweep would return them
        # all meanwhile (14 % of the customers process's samples in the run of 2026-11-30 17:31)
        bench.env["CUSTOMERS_POOL_SWEEP_SECONDS"] = "86400"
        try:
            bench.prepare_database()
            bench.prepare_vhost()
            bench.start()
            bench.sign_up()  # the bench team's pool rules let the seller hold them all
            load = bulk_load(bench, scale.stored)
            print(f"import bench: {scale.stored:,} customers loaded {load}", flush=True)
            sheet, stored_rows = import_file(scale, scale.rows)
            before = Probe(bench, PROBE_NAMES_FROM)
            before.rounds(scale.probe_before)
            checked = follow(bench, scale, sheet, dry_run=True, profile=False)
            if scale.real_rows != scale.rows:
                sheet, stored_rows_real = import_file(scale, scale.real_rows)
            else:
                stored_rows_real = stored_rows
            imported = follow(bench, scale, sheet, dry_run=False, profile=True)
        except BaseException:  # the services' log says why: kept beside the results
            log = Path(var) / "services.log"
            if log.exists():
                (results_dir / "import-services.log").write_bytes(log.read_bytes())
            raise
        finally:
            bench.stop()
    results = {
        "benchmark": "import",
        "quick": quick,
        "scale": asdict(scale),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine_before": load_before,
        "machine_after": machine_load(),
        "load": load,
        "stored_rows_in_file": stored_rows,
        "stored_rows_in_real_import": stored_rows_real,
        "interactive_before": before.result(),
        "dry_run": checked,
        "import": imported,
        "seconds": round(time.perf_counter() - started, 1),
    }
    results["goals"] = goals(results)
    (results_dir / "import.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    (results_dir / "import.md").write_text(markdown(results))
    return results


def p99_ratio(results: dict, run: str, call: str) -> float:
    before = results["interactive_before"][call]["p99_ms"]
    return round(results[run]["interactive"][call]["p99_ms"] / max(before, 0.001), 2)


def goals(results: dict) -> list[dict]:
    scale, imported, checked = results["scale"], results["import"], results["dry_run"]
    reported = all(
        job["state"] == "finished"
        and job["created"] + job["duplicates"] + job["invalid"] == rows
        and job["duplicates"] >= stored
        for job, rows, stored in (
            (checked, scale["rows"], results["stored_rows_in_file"]),
            (imported, scale["real_rows"], results["stored_rows_in_real_import"]),
        )
    )
    rows = [
        goal(
            f"import rows/s ({scale['real_rows']:,} rows, {scale['stored']:,} stored)",
            f"≥ {ROWS_PER_SECOND_GOAL}",
            imported["rows_per_second"],
            imported["rows_per_second"] >= ROWS_PER_SECOND_GOAL,
        ),
        goal(
            f"dry-run rows/s, the full duplicate check ({scale['rows']:,} rows, {scale['stored']:,} stored)",
            f"≥ {ROWS_PER_SECOND_GOAL}",
            checked["rows_per_second"],
            checked["rows_per_second"] >= ROWS_PER_SECOND_GOAL,
        ),
        goal(
            "every row reported: created + duplicates + invalid = rows; duplicates ≥ stored rows in the file",
            "yes",
            "yes" if reported else "no",
            reported,
        ),
    ]
    for call in ("GET /customers", "POST /customers"):
        ratio = p99_ratio(results, "import", call)
        rows.append(
            goal(
                f"{call} p99 during the import ÷ before",
                f"≤ {P99_RATIO_GOAL}",
                ratio,
                ratio <= P99_RATIO_GOAL,
            )
        )
    failures = imported["interactive"]["failures"]
    rows.append(goal("interactive calls failed during the import", "0", failures, failures == 0))
    return rows


def markdown(results: dict) -> str:
    scale, before = results["scale"], results["interactive_before"]
    lines = [
        "# Import benchmark (issue 13)",
        "",
        f"{results['generated_at']} · {results['seconds']} s in all · load average "
        f"{results['machine_before']['load_average']} before, {results['machine_after']['load_average']} after, "
        f"{results['machine_before']['cpus']} cores shared with other work.",
        "",
        f"{scale['stored']:,} customers loaded with COPY in {results['load']['copy_seconds']} s (their keys "
        f"generated in {results['load']['generate_seconds']} s, {results['load']['chunks_generated']} chunks of "
        f"{CHUNK:,} not cached yet); a file of "
        f"{scale['rows']:,} rows ({results['stored_rows_in_file']:,} of them stored customers) checked as "
        f"a background job (a dry run), then its first {scale['real_rows']:,} rows imported for real, while "
        "one user calls `GET /customers` and `POST /customers` over HTTP 50 ms apart.",
        "",
        "| run | state | s | rows/s | created | duplicates | invalid | customers CPU ms/row |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key in ("dry_run", "import"):
        run_ = results[key]
        lines.append(
            f"| {'dry run' if run_['dry_run'] else 'import'} | {run_['state']} | {run_['seconds']} | "
            f"{run_['rows_per_second']} | {run_['created']} | {run_['duplicates']} | {run_['invalid']} | "
            f"{run_['service_cpu_ms_per_row']} |"
        )
    lines += [
        "",
        "Interactive calls (ms, p50 / p99; calls; failures):",
        "",
        "| when | GET /customers | POST /customers | calls | failures |",
        "|---|---|---|---:|---:|",
    ]
    for label, probe in (
        ("before", before),
        ("during the dry run", results["dry_run"]["interactive"]),
        ("during the import", results["import"]["interactive"]),
    ):
        get, post = probe["GET /customers"], probe["POST /customers"]
        lines.append(
            f"| {label} | {get['p50_ms']} / {get['p99_ms']} | {post['p50_ms']} / {post['p99_ms']} | "
            f"{probe['calls']} | {probe['failures']} |"
        )
    lines += ["", "## Goals", "", goals_markdown(results["goals"])]
    lines += cpu_profile_markdown(
        "the customers process during the import", results["import"].get("cpu_profile")
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m bench.bench_import generate FIRST LAST DIRECTORY (a loader's worker)
    if sys.argv[1:2] == ["generate"]:
        generate(int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
    elif sys.argv[1:2] == ["generate-all"]:  # fill the cache ahead of a run
        print(generate_all(int(sys.argv[2])), "chunks generated")
