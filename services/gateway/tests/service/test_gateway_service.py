"""The gateway in a real container over a real broker: a dead or stuck service answers fast."""

import time

import pytest
import requests
from kombu import Connection, Exchange, Queue

from gateway.auth import MissingSecret
from gateway.service import GatewayService


@pytest.fixture
def gateway(container_factory, rabbit_config, web_config, monkeypatch):
    monkeypatch.setenv("CRM_JWT_SECRET", "gateway-service-test-secret")
    config = {**rabbit_config, **web_config, "RPC_TIMEOUT_SECONDS": 1.5}
    container = container_factory(GatewayService, config)
    container.start()
    host, port = web_config["WEB_SERVER_ADDRESS"].split(":")
    return f"http://127.0.0.1:{port}/api/v1"


def test_a_service_that_is_not_running_is_503_at_once(gateway):
    started = time.monotonic()
    reply = requests.post(gateway + "/auth/token", json={"username": "a", "password": "b"}, timeout=10)
    assert reply.status_code == 503
    assert reply.json()["error"]["code"] == "service_unavailable"
    assert time.monotonic() - started < 1.5


def test_a_service_that_does_not_answer_is_504_after_the_deadline(gateway, rabbit_config):
    # accounts' queue exists (it ran before) but nothing consumes it: a hung service
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        exchange = Exchange("nameko-rpc", type="topic", durable=True)
        Queue("rpc-accounts", exchange=exchange, routing_key="accounts.*", durable=True)(connection).declare()
    started = time.monotonic()
    reply = requests.post(gateway + "/auth/token", json={"username": "a", "password": "b"}, timeout=10)
    elapsed = time.monotonic() - started
    assert reply.status_code == 504
    assert reply.json()["error"]["code"] == "service_timeout"
    assert 1.4 < elapsed < 5


def test_health_names_the_services_that_are_down(gateway):
    reply = requests.get(gateway + "/health", timeout=10)
    assert reply.status_code == 503
    assert reply.json()["services"]["customers"] == "down"
    assert reply.json()["services"]["customers-scanner"] == "down"  # every process, not only services


def test_errors_have_one_body_even_for_unknown_routes(gateway):
    reply = requests.delete(gateway + "/nothing-here", timeout=10)
    assert reply.status_code == 404
    assert set(reply.json()["error"]) == {"code", "message", "details"}


def test_an_id_too_large_for_any_table_is_404_not_500(gateway):
    token_free = requests.get(gateway + "/opportunities/340282366920938463463374607431768211456", timeout=10)
    assert token_free.status_code == 404
    assert token_free.json()["error"]["code"] == "not_found"


def test_the_gateway_refuses_to_start_without_a_secret(
    container_factory, rabbit_config, web_config, monkeypatch
):
    monkeypatch.delenv("CRM_JWT_SECRET", raising=False)
    monkeypatch.delenv("CRM_JWT_SECRET_FILE", raising=False)
    container = container_factory(GatewayService, {**rabbit_config, **web_config})
    with pytest.raises(MissingSecret, match="CRM_JWT_SECRET"):
        container.start()


def test_health_asks_each_process_by_its_own_name(gateway, container_factory, service_config, migrated):
    """customers-scanner has no proxy of its own in the gateway: it is asked by its nameko name,
    and answers for itself (ok while it runs, even with customers' main process stopped)."""
    from customers.service_scanner import CustomersScannerService

    migrated("customers")
    container_factory(CustomersScannerService, service_config).start()
    services = requests.get(gateway + "/health", timeout=10).json()["services"]
    assert services["customers-scanner"] == "ok"
    assert services["customers"] == "down"
