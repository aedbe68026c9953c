"""The database of one service is cut (a TCP proxy between customers and PostgreSQL): that
service's routes answer 503 service_unavailable at once, the rest of the system keeps working,
and when the network comes back customers recovers without being restarted."""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlparse

import pytest
from sqlalchemy import create_engine, make_url, text

from crm_common.config import with_database
from crm_common.registry import BACKEND_PROGRAMS
from tests.support.system import RunningSystem, api, eventually
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.fault

PG_SERVER = os.environ.get("CRM_TEST_DB_URL")


@pytest.fixture(scope="module")
def cut_system(request, tmp_path_factory, vhost_pipeline):
    if not PG_SERVER:
        pytest.skip("needs PostgreSQL (CRM_TEST_DB_URL): SQLite has no connection to cut")
    server = make_url(with_database(PG_SERVER, "postgres"))
    database = "crm_fault_" + uuid.uuid4().hex[:10]
    proxy = TcpProxy(server.host or "127.0.0.1", server.port or 5432)
    customers_url = server.set(host="127.0.0.1", port=proxy.port, database=database)
    amqp = urlparse(request.config.getoption("RABBIT_AMQP_URI"))
    with vhost_pipeline.get() as vhost:
        system = RunningSystem(
            f"{amqp.scheme}://{amqp.netloc}/{vhost}",
            tmp_path_factory.mktemp("var"),
            extra_env={
                "CUSTOMERS_DB_URL": customers_url.render_as_string(hide_password=False),
                "CRM_DB_CONNECT_TIMEOUT_SECONDS": "2",
                "CRM_DB_STATEMENT_TIMEOUT_SECONDS": "5",
            },
        )
        try:
            system.proxy = proxy
            yield system.start(timeout=180)
        finally:
            system.stop()
            proxy.close()
            admin = create_engine(server, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            admin.dispose()


def test_cut_database_is_503_for_its_service_only_and_recovers_without_a_restart(cut_system):
    system = cut_system
    admin = system.client("admin", system.admin_password)
    first = api(system, admin, "POST", "/customers", json={"name": "断网前贸易有限公司"})
    assert first.status_code == 201, first.text
    customers_pid = system.service_pid("customers")
    assert customers_pid

    system.proxy.cut()
    # within the RPC deadline (10 s, a 504 after it): the connect timeout answers first
    for method, path, body in [
        ("GET", "/customers", None),
        ("GET", f"/customers/{first.json()['id']}", None),
        ("POST", "/customers", {"name": "断网中贸易有限公司"}),
    ]:
        reply = api(system, admin, method, path, json=body, timeout=20)
        assert reply.status_code == 503, (method, path, reply.status_code, reply.text)
        assert reply.json()["error"]["code"] == "service_unavailable"
    assert api(system, admin, "GET", "/me").status_code == 200  # accounts has its own database
    health = api(system, admin, "GET", "/health", timeout=20)
    # customers-scanner works on customers' database: it is down with it
    assert health.status_code == 503
    assert {name for name, state in health.json()["services"].items() if state == "down"} == {
        "customers",
        "customers-scanner",
    }
    assert set(health.json()["services"]) == {process.name for process in BACKEND_PROGRAMS}

    system.proxy.restore()
    listed = eventually(
        lambda: (r := api(system, admin, "GET", "/customers")).status_code == 200 and r.json(), seconds=30
    )
    assert listed and [c["name"] for c in listed["items"]] == ["断网前贸易有限公司"]
    again = api(system, admin, "POST", "/customers", json={"name": "恢复后贸易有限公司"})
    assert again.status_code == 201, again.text
    assert system.service_pid("customers") == customers_pid  # the same process: no restart
