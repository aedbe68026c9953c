"""Helpers shared by the benchmarks: a throwaway vhost, timing, percentiles."""

from __future__ import annotations

import contextlib
import statistics
import time
import uuid
from collections.abc import Callable, Iterator

import eventlet
import requests

AMQP_BASE = "amqp://guest:guest@127.0.0.1:5672"
MANAGEMENT = "http://127.0.0.1:15672/api"
AUTH = ("guest", "guest")


@contextlib.contextmanager
def bench_vhost(prefix: str = "crm_bench") -> Iterator[str]:
    """A fresh RabbitMQ vhost for one benchmark, deleted afterwards; yields its AMQP URI."""
    vhost = f"{prefix}_{uuid.uuid4().hex[:8]}"
    requests.put(f"{MANAGEMENT}/vhosts/{vhost}", auth=AUTH, timeout=10).raise_for_status()
    requests.put(
        f"{MANAGEMENT}/permissions/{vhost}/guest",
        json={"configure": ".*", "write": ".*", "read": ".*"},
        auth=AUTH,
        timeout=10,
    ).raise_for_status()
    try:
        yield f"{AMQP_BASE}/{vhost}"
    finally:
        requests.delete(f"{MANAGEMENT}/vhosts/{vhost}", auth=AUTH, timeout=30)


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def latency_summary(samples_seconds: list[float]) -> dict:
    ms = [s * 1000 for s in samples_seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "mean_ms": round(statistics.fmean(ms), 3) if ms else None,
    }


def throughput(make_caller: Callable[[], Callable[[], object]], callers: int, seconds: float) -> dict:
    """Calls per second with ``callers`` concurrent greenthreads, each with its own client,
    calling as fast as answers come for ``seconds``."""
    deadline = time.monotonic() + seconds
    latencies: list[float] = []

    def loop() -> int:
        call = make_caller()
        done = 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            call()
            latencies.append(time.perf_counter() - started)
            done += 1
        return done

    started = time.monotonic()
    pool = eventlet.GreenPool(callers)
    total = sum(pool.imap(lambda _: loop(), range(callers)))
    elapsed = time.monotonic() - started
    return {
        "callers": callers,
        "calls": total,
        "calls_per_second": round(total / elapsed, 1),
        **latency_summary(latencies),
    }
