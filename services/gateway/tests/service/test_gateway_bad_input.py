"""Bad input through the real gateway (with the real accounts service): a 4xx with the one error
body, never a 500 — deep JSON, NUL and lone surrogates, odd token subjects, huge URLs and headers."""

import socket
from datetime import timedelta

import jwt
import pytest
import requests

from accounts.service import AccountsService
from gateway.auth import Tokens
from gateway.service import GatewayService

SECRET = "gateway-bad-input-test-secret"


@pytest.fixture
def gateway(container_factory, service_config, migrated, web_config, monkeypatch):
    monkeypatch.setenv("CRM_JWT_SECRET", SECRET)
    monkeypatch.setenv("CRM_ADMIN_PASSWORD", "first-admin-pw")
    migrated("accounts")
    container_factory(AccountsService, service_config).start()
    container_factory(GatewayService, {**service_config, **web_config}).start()
    return f"http://127.0.0.1:{web_config['WEB_SERVER_ADDRESS'].split(':')[1]}/api/v1"


def admin_headers():
    token = Tokens(SECRET, timedelta(hours=1)).issue({"id": 1, "username": "admin", "role": "admin"})
    return {"Authorization": "Bearer " + token["access_token"]}


def assert_error(reply, status, code=None):
    assert reply.status_code == status, reply.text
    assert reply.headers["Content-Type"].startswith("application/json")
    error = reply.json()["error"]
    assert set(error) == {"code", "message", "details"}
    if code:
        assert error["code"] == code, error
    return error


@pytest.mark.parametrize("path", ["/auth/token", "/users"])
def test_json_nested_a_thousand_deep_is_400(gateway, path):
    body = '{"username": ' + "[" * 1000 + "]" * 1000 + ', "password": "x"}'
    reply = requests.post(
        gateway + path, data=body, headers={**admin_headers(), "Content-Type": "application/json"}, timeout=10
    )
    assert_error(reply, 400)


@pytest.mark.parametrize("bad", ["\\ud800", "\\u0000", "a\\udfffb"])
def test_nul_and_lone_surrogates_in_text_are_400_with_the_field(gateway, bad):
    body = '{"username": "li' + bad + '", "password": "sales-pw-1", "display_name": "李娜", "team": "east"}'
    reply = requests.post(
        gateway + "/users",
        data=body,
        headers={**admin_headers(), "Content-Type": "application/json"},
        timeout=10,
    )
    error = assert_error(reply, 400, "validation_error")
    assert "username" in error["details"]
    login = requests.post(
        gateway + "/auth/token",
        data='{"username": "admin' + bad + '", "password": "x"}',
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert "username" in assert_error(login, 400, "validation_error")["details"]


def test_nul_in_a_query_parameter_is_400(gateway):
    reply = requests.get(gateway + "/customers?q=%00abc", headers=admin_headers(), timeout=10)
    assert_error(reply, 400, "validation_error")


@pytest.mark.parametrize(
    "sub",
    ["abc", "1.5", "-1", "0", "99999999999999999999999999", " 1", "١", True, 7, None],
)
def test_a_validly_signed_token_whose_subject_is_not_a_small_integer_is_401(gateway, sub):
    claims = {"sub": sub, "username": "admin", "role": "admin", "exp": 4102444800}
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    reply = requests.get(gateway + "/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert_error(reply, 401, "invalid_token")


@pytest.mark.parametrize("claim", ["role", "team", "username", "name"])
def test_a_validly_signed_token_with_non_text_claims_is_401(gateway, claim):
    claims = {"sub": "1", "username": "admin", "role": "admin", "exp": 4102444800, claim: {"x": [1]}}
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    reply = requests.get(gateway + "/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert_error(reply, 401, "invalid_token")


def raw_exchange(gateway: str, request: bytes) -> tuple[int, dict, bytes]:
    """Send raw bytes; the status, headers and body of the answer (the server closes)."""
    port = int(gateway.split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
            head, _, body = received.partition(b"\r\n\r\n")
            headers = dict(
                line.decode("latin-1").lower().split(": ", 1)
                for line in head.split(b"\r\n")[1:]
                if b": " in line
            )
            if "content-length" in headers and len(body) >= int(headers["content-length"]):
                break
    status = int(received.split(b" ", 2)[1])
    return status, headers, body


def test_an_oversized_url_is_414_with_the_error_body(gateway):
    reply = requests.get(gateway + "/health?q=" + "x" * 9000, timeout=10)
    assert_error(reply, 414, "uri_too_long")


def test_an_oversized_header_is_431_with_the_error_body(gateway):
    reply = requests.get(gateway + "/health", headers={"X-Big": "y" * 9000}, timeout=10)
    assert_error(reply, 431, "headers_too_large")
    many = {f"X-H{i}": "z" * 1000 for i in range(70)}
    reply = requests.get(gateway + "/health", headers=many, timeout=10)
    assert_error(reply, 431, "headers_too_large")


def test_a_malformed_request_line_and_content_length_are_400_with_the_error_body(gateway):
    status, headers, body = raw_exchange(gateway, b"GET /api/v1/health HTTP/9.9 extra\r\n\r\n")
    assert status == 400 and headers["content-type"].startswith("application/json") and b'"code"' in body
    status, headers, body = raw_exchange(
        gateway, b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"
    )
    assert status == 400 and headers["content-type"].startswith("application/json") and b'"code"' in body


def test_a_method_no_route_takes_is_405_with_the_error_body(gateway):
    reply = requests.options(gateway + "/health", timeout=10)
    assert_error(reply, 405, "method_not_allowed")
