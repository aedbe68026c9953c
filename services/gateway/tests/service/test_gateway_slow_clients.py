"""Slow and oversized requests through the real gateway: they cost a greenthread for a bounded
time, never a worker; refusals come at once with the one error body."""

import json
import socket
import time
from contextlib import ExitStack, closing

import pytest
import requests

from gateway.service import GatewayService

SLOW_LOGIN = (
    b"POST /api/v1/auth/token HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
    b'Content-Length: 1000\r\n\r\n{"username": '
)


@pytest.fixture
def start_gateway(container_factory, rabbit_config, web_config, monkeypatch):
    monkeypatch.setenv("CRM_JWT_SECRET", "gateway-slow-clients-test-secret")
    port = int(web_config["WEB_SERVER_ADDRESS"].split(":")[1])

    def start(**settings):
        container_factory(
            GatewayService, {**rabbit_config, **web_config, "max_workers": 32, **settings}
        ).start()
        return port

    return start


def slow_clients(stack: ExitStack, port: int, count: int, source: str = "127.0.0.1") -> list[socket.socket]:
    """``count`` connections that declare a body and never finish it (closed by ``stack``)."""
    clients = []
    for _ in range(count):
        sock = stack.enter_context(closing(socket.socket()))
        sock.settimeout(10)
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))
        sock.sendall(SLOW_LOGIN)
        clients.append(sock)
    return clients


def answer_of(sock: socket.socket) -> tuple[int, dict, dict | None]:
    """Status, headers and JSON body of the answer on ``sock`` (read until the server closes)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split(" ")[1]), headers, json.loads(body) if body else None


def test_two_hundred_slow_logins_do_not_delay_a_ping(start_gateway):
    port = start_gateway(MAX_CONNECTIONS_PER_CLIENT=1000)
    with ExitStack() as stack:
        slow_clients(stack, port, 200)
        started = time.monotonic()
        reply = requests.get(f"http://127.0.0.1:{port}/api/v1/ping", timeout=10)
        assert time.monotonic() - started < 3
        assert reply.json()["error"]["code"] == "service_unavailable"  # no accounts here: at once


def test_a_body_that_never_arrives_is_408_after_the_read_timeout(start_gateway):
    port = start_gateway(HTTP_READ_TIMEOUT_SECONDS=1)
    with ExitStack() as stack:
        [sock] = slow_clients(stack, port, 1)
        started = time.monotonic()
        status, headers, body = answer_of(sock)
        assert time.monotonic() - started < 5
    assert status == 408 and body["error"]["code"] == "request_timeout"


def test_one_address_holding_too_many_connections_is_refused_but_others_are_served(start_gateway):
    port = start_gateway(MAX_CONNECTIONS_PER_CLIENT=20)
    with ExitStack() as stack:
        slow_clients(stack, port, 20)
        [extra] = slow_clients(stack, port, 1)
        status, headers, body = answer_of(extra)
        assert status == 429 and body["error"]["code"] == "too_many_connections" and "retry-after" in headers
        other = stack.enter_context(
            closing(socket.create_connection(("127.0.0.1", port), 10, ("127.0.0.2", 0)))
        )
        other.sendall(b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n")
        status, headers, body = answer_of(other)
        assert status == 200 and body["openapi"].startswith("3.")


def test_a_large_body_is_413_from_its_declared_length_without_being_sent(start_gateway):
    port = start_gateway()
    with closing(socket.create_connection(("127.0.0.1", port), timeout=10)) as sock:
        started = time.monotonic()
        sock.sendall(
            b"POST /api/v1/auth/token HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
            b"Content-Length: 24000000\r\n\r\n{"
        )
        status, headers, body = answer_of(sock)
        assert time.monotonic() - started < 3
    assert status == 413 and body["error"]["code"] == "payload_too_large"


def test_a_chunked_body_is_cut_at_the_limit(start_gateway):
    port = start_gateway(MAX_BODY_BYTES=10_000)

    def chunks():
        for _ in range(100):
            yield b"[" * 1000

    reply = requests.post(f"http://127.0.0.1:{port}/api/v1/auth/token", data=chunks(), timeout=10)
    assert reply.status_code == 413 and reply.json()["error"]["code"] == "payload_too_large"
    small = requests.post(
        f"http://127.0.0.1:{port}/api/v1/auth/token", data=iter([b'{"username": ', b'"a"}']), timeout=10
    )
    assert small.status_code == 400 and "password" in small.json()["error"]["details"]


def test_the_import_route_takes_larger_bodies_than_the_others(start_gateway):
    port = start_gateway(MAX_BODY_BYTES=1000, MAX_IMPORT_BYTES=100_000)
    csv = ("公司名称,电话\n" + "华为技术有限公司,13800138000\n" * 200).encode()
    refused = requests.post(f"http://127.0.0.1:{port}/api/v1/customers", data=csv, timeout=10)
    assert refused.status_code == 413
    taken = requests.post(f"http://127.0.0.1:{port}/api/v1/customers/import", data=csv, timeout=10)
    assert taken.status_code == 401  # read and passed on: the token is checked next
    too_big = requests.post(f"http://127.0.0.1:{port}/api/v1/customers/import", data=csv * 30, timeout=10)
    assert too_big.status_code == 413


def test_every_http_entrypoint_is_served_by_the_hardened_server():
    from nameko.web.handlers import HttpRequestHandler

    from gateway.http import GatewayHttp

    entrypoints = []
    for cls in GatewayService.__mro__:
        for member in vars(cls).values():
            entrypoints += [
                e for e in getattr(member, "nameko_entrypoints", ()) if isinstance(e, HttpRequestHandler)
            ]
    assert entrypoints and all(isinstance(entrypoint, GatewayHttp) for entrypoint in entrypoints)


def test_a_malformed_chunked_body_is_400_with_the_error_body(start_gateway):
    port = start_gateway()
    with closing(socket.create_connection(("127.0.0.1", port), timeout=10)) as sock:
        sock.sendall(
            b"POST /api/v1/auth/token HTTP/1.1\r\nHost: gateway\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"zz\r\nnot hex\r\n0\r\n\r\n"
        )
        status, headers, body = answer_of(sock)
    assert status == 400 and body["error"]["code"] == "bad_request"
