"""kill -9 of a service while follow-ups are posted through the gateway: supervisord (what
`make run` runs) restarts it, the other services keep running, the log says who died and why,
every acknowledged write exists exactly once, and nobody gets a 500 (503/504 during the outage)."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from urllib.parse import urlparse

import eventlet
import pytest
import requests

from crm_common.registry import PROGRAM_NAMES
from tests.support.system import RunningSystem, api, eventually

pytestmark = pytest.mark.fault

WRITERS = 3
SERVICES = PROGRAM_NAMES  # every process supervisord runs, the gateway's and customers-scanner included


@pytest.fixture(scope="module")
def system(request, tmp_path_factory, vhost_pipeline):
    amqp = urlparse(request.config.getoption("RABBIT_AMQP_URI"))
    with vhost_pipeline.get() as vhost:
        running = RunningSystem(f"{amqp.scheme}://{amqp.netloc}/{vhost}", tmp_path_factory.mktemp("var"))
        try:
            yield running.start(timeout=180)
        finally:
            running.stop()


def test_killed_service_is_restarted_and_every_acknowledged_write_exists_once(system):
    admin = system.client("admin", system.admin_password)
    customer = api(system, admin, "POST", "/customers", json={"name": "杀进程测试有限公司"}).json()
    path = f"/customers/{customer['id']}/followups"
    pids = {service: system.service_pid(service) for service in SERVICES}
    assert all(pids.values()), pids

    outcomes: dict[str, int | None] = {}
    running = True

    def writer(number: int) -> None:
        sequence = 0
        while running:
            summary = f"writer {number} call {sequence}"
            sequence += 1
            try:
                reply = api(
                    system, admin, "POST", path, json={"kind": "call", "summary": summary}, timeout=30
                )
                outcomes[summary] = reply.status_code
            except requests.RequestException:
                outcomes[summary] = None

    def acknowledged() -> int:
        return sum(status == 201 for status in outcomes.values())

    writers = [eventlet.spawn(writer, number) for number in range(WRITERS)]
    try:
        assert eventually(lambda: acknowledged() >= 10, seconds=120), Counter(outcomes.values())
        os.kill(pids["customers"], signal.SIGKILL)
        killed_at = acknowledged()
        # generous bounds: a loaded CI machine takes tens of seconds to start a nameko process
        restarted = eventually(
            lambda: system.service_pid("customers") not in (0, pids["customers"]), seconds=120
        )
        assert restarted, system.supervisorctl("status")
        assert eventually(lambda: acknowledged() >= killed_at + 10, seconds=180), (
            Counter(outcomes.values()),
            system.supervisorctl("status"),
        )
    finally:
        running = False
        for thread in writers:
            thread.wait()

    statuses = Counter(outcomes.values())
    assert set(statuses) <= {201, 503, 504}, statuses  # never a 500, never a dropped connection
    stored = Counter(followup["summary"] for followup in api(system, admin, "GET", path, timeout=30).json())
    lost = [summary for summary, status in outcomes.items() if status == 201 and not stored[summary]]
    assert not lost, lost  # nothing acknowledged is lost
    doubled = sorted(summary for summary, count in stored.items() if count > 1)

    # the others kept running: same processes as before
    assert {s: system.service_pid(s) for s in SERVICES if s != "customers"} == {
        s: pid for s, pid in pids.items() if s != "customers"
    }
    time.sleep(0.5)  # supervisord's log line is written as it reaps the process
    log = system.log_path.read_text(errors="replace")
    assert "exited: customers (terminated by SIGKILL; not expected)" in log
    assert not doubled, f"writes done twice after kill -9: {doubled}"  # request ids make each write once
