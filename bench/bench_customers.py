"""Customers benchmark (issue 3): is the duplicate check as fast with a million customers as with
ten thousand, is entering a customer nearly as cheap as an empty RPC, is the fuzzy scan flat?

- Duplicate check p50/p99 over RPC (customers) and over HTTP (gateway → customers) with 10k, 100k
  and 1M customers bulk-loaded (COPY) into PostgreSQL, and in the same run a ``LIKE '%name%'`` scan
  of the same table, the way a widely used open-source CRM looks for duplicates.
- Create-customer throughput (checks, keys, revision, outbox, event, and the fuzzy scan the event
  triggers) with 16 concurrent callers, divided by the throughput of the empty ``ping`` RPC of the
  same service with 16 callers in the same run.
- Fuzzy scan time per new customer at every size (the scan's reads and scoring, in process).
- CSV import as a background job: ``CRM_BENCH_IMPORT_ROWS`` rows (default 20,000; a tenth of them
  already stored, so duplicates; 100 in the quick run) against every loaded customer, in rows per second from submit to
  finished, with the latency of a manager's ``get_customer`` every 50 ms meanwhile and before.

Real processes, as `make run` starts them: accounts, customers and the gateway (``nameko run``) on a
RabbitMQ vhost of their own; customers on the PostgreSQL database ``crm_bench_customers``, built
for the run and dropped after it. Everything talks to 127.0.0.1 only. ``run(results_dir)`` writes
``customers.json`` and ``customers.md`` there.

Its parts: the scale and the generated customers in bench_customers_scale.py, the processes and the
bulk load in bench_customers_system.py, the measurements in bench_customers_measures.py, the goals
and the report in bench_customers_report.py.

Generated customers: ``<region?><3-character trade name><industry><legal form>`` (see
bench_customers_scale.py), one mobile number each. Bulk rows carry what the checks read (customers,
exact keys, fuzzy keys), not their history.
"""

from __future__ import annotations

import json
import os
import platform
import random
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from bench.bench_customers_measures import Bench, create, ping, summary
from bench.bench_customers_report import goals, import_goals, markdown
from bench.bench_customers_scale import (
    CALLERS,
    FULL,
    INDUSTRIES,
    NEW_NAMES_FROM,
    REGION_PREFIXES,
    check_generator,
    company,
    quick_scale,
)
from crm_common.config import REPO_ROOT

# what bench_import and the suite use from here
__all__ = [
    "FULL",
    "INDUSTRIES",
    "NEW_NAMES_FROM",
    "REGION_PREFIXES",
    "Bench",
    "company",
    "quick_scale",
    "summary",
]


def run(results_dir: Path, quick: bool = False) -> dict:
    """Measure and write ``customers.json`` and ``customers.md``; ``quick``: a small run of every
    part (the suite's check that the benchmark still works), its figures not comparable."""
    scale = quick_scale() if quick else FULL
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    started, load_before = time.perf_counter(), os.getloadavg()
    check_generator()
    rng = random.Random(2024)
    with tempfile.TemporaryDirectory(prefix="bench-customers-") as var:
        bench = Bench(Path(var), scale)
        try:
            bench.prepare_database()
            bench.prepare_vhost()
            bench.start()
            bench.sign_up()
            by_size: dict[str, dict] = {}
            loaded = 0
            for size in scale.sizes:
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
                    "check_http_cpu_ms": bench.check_http_cpu_ms,
                    "ping_http": summary(bench.ping_over_http()),
                    "like_scan": summary(bench.like_scan(size, rng)),
                    "fuzzy_scan": {**summary(fuzzy), "customers_with_suspects": found},
                }
                print(f"customers bench: {size:>9,} customers {json.dumps(by_size[str(size)])}", flush=True)
            # the dry run first: the scans the real import causes go on for a while after it
            checked = bench.import_rate(scale.import_rows, loaded, rng, dry_run=True)
            imported = {**bench.import_rate(scale.import_rows, loaded, rng), "dry_run": checked}
            print(f"customers bench: import {json.dumps(imported)}", flush=True)
            create_rate = bench.throughput(create, profile=True)
            ping_rate = bench.throughput(ping)
        finally:
            bench.stop()
    results = {
        "benchmark": "customers",
        "quick": quick,
        "scale": asdict(scale),
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
        "import": imported,
        "goals": goals(scale, by_size, create_rate, ping_rate) + import_goals(imported),
        "seconds": round(time.perf_counter() - started, 1),
    }
    (results_dir / "customers.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    (results_dir / "customers.md").write_text(markdown(results))
    return results


if __name__ == "__main__":
    print(json.dumps(run(REPO_ROOT / "bench" / "results"), ensure_ascii=False, indent=2))
