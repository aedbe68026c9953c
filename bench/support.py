"""Helpers shared by the benchmarks: a throwaway vhost, timing, percentiles."""

from __future__ import annotations

import contextlib
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator

import eventlet
import psycopg2.extensions
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


@contextlib.contextmanager
def blocking_copy() -> Iterator[None]:
    """Let psycopg2 run COPY: it refuses while psycogreen's wait callback is set, and ``make bench``
    runs under eventlet, where ``crm_common.db.make_engine`` sets it for the whole process.

    The callback is process-wide (psycopg2 has no per-connection switch), so it is unset only
    around a bulk load that nothing else runs beside; the load waits on its socket directly.
    """
    previous = psycopg2.extensions.get_wait_callback()
    psycopg2.extensions.set_wait_callback(None)
    try:
        yield
    finally:
        psycopg2.extensions.set_wait_callback(previous)


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


def goal(what: str, target: str, achieved: object, met: bool) -> dict:
    """One row of an area's ``goals``: what is asked, the target, this run's figure, met or not."""
    return {"goal": what, "target": target, "achieved": achieved, "met": bool(met)}


def goals_markdown(goals: list[dict]) -> str:
    """The goals as a markdown table, for an area's ``<area>.md``."""
    lines = ["| goal | target | achieved | met |", "|---|---|---:|---|"]
    for row in goals:
        lines.append(
            f"| {row['goal']} | {row['target']} | {row['achieved']} | {'yes' if row['met'] else '**no**'} |"
        )
    return "\n".join(lines) + "\n"


def machine_load() -> dict:
    """The 1, 5 and 15-minute load averages and the core count: the machine is shared, and other
    work on it skews every figure."""
    return {"load_average": [round(load, 2) for load in os.getloadavg()], "cpus": os.cpu_count()}


def unique_name(prefix: str) -> str:
    """A database or vhost name no other run uses (quick runs go beside ``make bench`` and tests)."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def drop_database(url: str) -> None:
    """Drop the PostgreSQL database ``url`` names (a quick run's own), connections and all."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    server = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    server.dispose()


class CpuProfile:
    """Where a running process spends its CPU over ``seconds``: py-spy samples its running stack
    (idle waits are not sampled) ``rate`` times a second, alongside the benchmark. (``--gil``
    kept 6 samples of 2,000 in one run under load: not used.) Under eventlet a sample can show
    a suspended greenthread's frames while the hub runs: read shares, not single functions.

    ``result()`` gives the samples' split by package of the innermost frame and the functions of
    this repository that most samples pass through. A machine without py-spy (or without the
    right to trace) gets ``{"error": …}``, not a failed benchmark.
    """

    REPO_MARKERS = ("/crm_common/", "/services/")

    def __init__(self, pid: int, seconds: float, rate: int = 200) -> None:
        import shutil
        import subprocess
        import sys
        import tempfile
        from pathlib import Path

        self.pid, self.seconds = pid, seconds
        self.output = Path(tempfile.mkstemp(prefix="bench-pyspy-", suffix=".txt")[1])
        spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
        self.error: str | None = None if spy else "py-spy is not installed"
        self.process = None
        if spy:
            self.process = subprocess.Popen(
                [
                    spy,
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(max(1, round(seconds))),
                    "--rate",
                    str(rate),
                    "--format",
                    "raw",
                    "--full-filenames",  # idle stacks (the hub waiting) are left out by default
                    "--output",
                    str(self.output),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )

    def result(self, top: int = 12) -> dict:
        stacks: list[tuple[list[str], int]] = []
        if self.process is not None:
            _, stderr = self.process.communicate(timeout=self.seconds + 60)
            if self.process.returncode:
                self.error = (stderr or "").strip().splitlines()[-1:] or ["py-spy failed"]
                self.error = str(self.error[0])
            else:
                for line in self.output.read_text().splitlines():
                    stack, _, count = line.rpartition(" ")
                    if stack and count.isdigit():
                        stacks.append((stack.split(";"), int(count)))
        self.output.unlink(missing_ok=True)
        if self.error:
            return {"error": self.error}
        total = sum(count for _, count in stacks) or 1
        by_package: dict[str, int] = {}
        innermost: dict[str, int] = {}
        through: dict[str, int] = {}
        for frames, count in stacks:
            package = _package(frames[-1])
            by_package[package] = by_package.get(package, 0) + count
            function = f"{package}: {frames[-1].partition(' (')[0]}"
            innermost[function] = innermost.get(function, 0) + count
            for function in {_short(f) for f in frames if any(marker in f for marker in self.REPO_MARKERS)}:
                through[function] = through.get(function, 0) + count

        def shares(counts: dict[str, int]) -> dict[str, float]:
            ranked = sorted(counts.items(), key=lambda item: -item[1])[:top]
            return {name: round(100 * count / total, 1) for name, count in ranked}

        return {
            "samples": total,
            "seconds": self.seconds,
            "percent_by_package_of_innermost_frame": shares(by_package),
            "percent_by_innermost_function": shares(innermost),
            "percent_through_repo_functions": shares(through),
        }


def _package(frame: str) -> str:
    """``func (path/to/pkg/mod.py:12)`` → the package the code belongs to."""
    path = frame.rpartition("(")[2].rstrip(")").rpartition(":")[0]
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    for marker in CpuProfile.REPO_MARKERS:
        if marker in path:
            rest = path.split(marker, 1)[1]
            return marker.strip("/") if marker == "/crm_common/" else rest.split("/", 1)[0]
    return "python stdlib" if "/lib/python" in path else (path or "native")


def _short(frame: str) -> str:
    function, _, where = frame.partition(" (")
    path = where.rstrip(")").rpartition(":")[0]
    for marker in CpuProfile.REPO_MARKERS:
        if marker in path:
            path = marker.strip("/") + "/" + path.split(marker, 1)[1]
    return f"{function} ({path})"


def cpu_profile_markdown(title: str, profile: dict | None) -> list[str]:
    """Markdown lines for a CpuProfile result (none when there is no profile)."""
    if not profile:
        return []
    if "error" in profile:
        return [f"Where the CPU goes ({title}): not profiled ({profile['error']}).", ""]
    lines = [
        f"### Where the CPU goes: {title}",
        "",
        f"py-spy, {profile['samples']} on-CPU samples over {profile['seconds']} s. By the package of the "
        "innermost frame (the code actually running):",
        "",
        "| package | % of samples |",
        "|---|---:|",
        *(
            f"| {name} | {share} |"
            for name, share in profile["percent_by_package_of_innermost_frame"].items()
        ),
        "",
        "The innermost functions (a C call such as a driver's `execute` counts as its Python caller):",
        "",
        "| function | % of samples |",
        "|---|---:|",
        *(f"| `{name}` | {share} |" for name, share in profile["percent_by_innermost_function"].items()),
        "",
        "This repository's functions the samples pass through (inclusive):",
        "",
        "| function | % of samples |",
        "|---|---:|",
        *(f"| `{name}` | {share} |" for name, share in profile["percent_through_repo_functions"].items()),
        "",
    ]
    return lines
