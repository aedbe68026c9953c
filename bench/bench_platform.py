"""The baseline every later benchmark is a ratio of: an empty RPC (``accounts.ping``) through
nameko's standalone RPC proxy and through the gateway over HTTP, with 1 and 16 callers.

The whole system runs as `make run` starts it (supervisord, one process per service) on a vhost of
its own, with SQLite under a temporary var/.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import requests
from nameko.standalone.rpc import ClusterRpcProxy

from bench.support import bench_vhost, machine_load, throughput
from tests.support.system import RunningSystem

SECONDS = 8.0
QUICK_SECONDS = 1.0


def run(results_dir: Path, quick: bool = False) -> dict:
    """Measure and write ``platform.json`` and ``platform.md``; ``quick``: a second per figure.

    The baseline has no goal of its own: other areas' goals are ratios of an empty RPC measured
    in their own run."""
    with bench_vhost() as amqp_uri, tempfile.TemporaryDirectory() as var_dir:
        system = RunningSystem(amqp_uri, Path(var_dir)).start()
        try:
            result = measure(amqp_uri, system.base_url, QUICK_SECONDS if quick else SECONDS)
        finally:
            system.stop()
    result["quick"] = quick
    result["goals"] = []
    result["machine_load"] = machine_load()
    (results_dir / "platform.json").write_text(json.dumps(result, indent=2) + "\n")
    (results_dir / "platform.md").write_text(report(result))
    return result


def measure(amqp_uri: str, base_url: str, seconds: float = SECONDS) -> dict:
    config = {"AMQP_URI": amqp_uri}
    proxies: list = []

    def rpc_caller():
        proxy = ClusterRpcProxy(config)
        proxies.append(proxy)
        cluster = proxy.start()
        return cluster.accounts.ping

    def http_caller():
        session = requests.Session()
        return lambda: session.get(base_url + "/ping", timeout=10).raise_for_status()

    rpc_caller()()  # warm up: queues declared, connections pooled
    result = {
        "rpc_1": throughput(rpc_caller, 1, seconds),
        "rpc_16": throughput(rpc_caller, 16, seconds),
        "http_1": throughput(http_caller, 1, seconds),
        "http_16": throughput(http_caller, 16, seconds),
    }
    for proxy in proxies:
        proxy.stop()
    result["ratios"] = {
        "rpc_16_over_rpc_1": round(
            result["rpc_16"]["calls_per_second"] / result["rpc_1"]["calls_per_second"], 2
        ),
        "http_1_over_rpc_1": round(
            result["http_1"]["calls_per_second"] / result["rpc_1"]["calls_per_second"], 2
        ),
        "http_16_over_rpc_16": round(
            result["http_16"]["calls_per_second"] / result["rpc_16"]["calls_per_second"], 2
        ),
    }
    return result


def report(result: dict) -> str:
    lines = [
        "# Platform baseline: empty RPC (`accounts.ping`)",
        "",
        "| path | callers | calls/s | p50 ms | p99 ms |",
        "|---|---|---|---|---|",
    ]
    for key, label in (
        ("rpc_1", "standalone RPC proxy"),
        ("rpc_16", "standalone RPC proxy"),
        ("http_1", "gateway HTTP → RPC"),
        ("http_16", "gateway HTTP → RPC"),
    ):
        row = result[key]
        lines.append(
            f"| {label} | {row['callers']} | {row['calls_per_second']} | {row['p50_ms']} | {row['p99_ms']} |"
        )
    load = result["machine_load"]
    lines += [
        "",
        "Ratios (same run): " + ", ".join(f"{k} = {v}" for k, v in result["ratios"].items()),
        "",
        "Goals: none of its own (the baseline other areas divide by). "
        f"Load average {load['load_average']} on {load['cpus']} cores (shared with other work) at the end.",
        "",
    ]
    return "\n".join(lines)
