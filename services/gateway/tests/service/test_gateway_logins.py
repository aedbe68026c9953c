"""Logging in and staying logged in, through the real gateway and the real accounts service:
guessing is stopped with 429 and Retry-After, and a deactivated or deleted user's token stops
working within the gateway's cache time."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from accounts.service import AccountsService
from crm_common.clock import Clock, FrozenClock
from gateway.auth import Tokens
from gateway.service import GatewayService

SECRET = "gateway-logins-test-secret"
USER_CHECK_SECONDS = 1


@pytest.fixture
def clock():
    return FrozenClock(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))


@pytest.fixture
def gateway(container_factory, service_config, migrated, web_config, monkeypatch, clock):
    monkeypatch.setenv("CRM_JWT_SECRET", SECRET)
    monkeypatch.setenv("CRM_ADMIN_PASSWORD", "first-admin-pw")
    migrated("accounts")

    class AccountsOnFrozenClock(AccountsService):
        pass

    AccountsOnFrozenClock.clock = Clock(clock)
    limits = {
        "LOGIN_MAX_FAILURES_PER_USER": 5,
        "LOGIN_MAX_FAILURES_PER_CLIENT": 20,
        "LOGIN_WINDOW_SECONDS": 900,
    }
    container_factory(AccountsOnFrozenClock, {**service_config, **limits}).start()
    container_factory(
        GatewayService, {**service_config, **web_config, "USER_CHECK_SECONDS": USER_CHECK_SECONDS}
    ).start()
    return f"http://127.0.0.1:{web_config['WEB_SERVER_ADDRESS'].split(':')[1]}/api/v1"


def login(gateway, username, password):
    return requests.post(
        gateway + "/auth/token", json={"username": username, "password": password}, timeout=10
    )


def bearer(reply):
    assert reply.status_code == 200, reply.text
    return {"Authorization": "Bearer " + reply.json()["access_token"]}


def test_wrong_passwords_end_in_429_with_retry_after_and_the_window_ends_it(gateway, clock):
    for _ in range(5):
        assert login(gateway, "admin", "guess").json()["error"]["code"] == "bad_credentials"
    locked = login(gateway, "admin", "first-admin-pw")
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "too_many_attempts"
    assert 0 < int(locked.headers["Retry-After"]) <= 900
    assert locked.json()["error"]["details"]["retry_after"] == int(locked.headers["Retry-After"])
    clock.advance(seconds=int(locked.headers["Retry-After"]))
    assert login(gateway, "admin", "first-admin-pw").status_code == 200


def test_the_openapi_document_names_429_for_logging_in(gateway):
    spec = requests.get(gateway + "/openapi.json", timeout=10).json()
    assert "429" in spec["paths"]["/api/v1/auth/token"]["post"]["responses"]


def test_a_deactivated_users_token_is_refused_within_the_cache_time(gateway):
    admin = bearer(login(gateway, "admin", "first-admin-pw"))
    created = requests.post(
        gateway + "/users",
        json={"username": "lina", "password": "sales-pw-12", "display_name": "李娜", "team": "east"},
        headers=admin,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    lina = bearer(login(gateway, "lina", "sales-pw-12"))
    assert requests.get(gateway + "/me", headers=lina, timeout=10).status_code == 200

    refused = requests.post(gateway + "/users/1/deactivate", headers=lina, timeout=10)
    assert refused.status_code == 404  # a salesperson does not even see the admin
    gone = requests.post(gateway + f"/users/{created.json()['id']}/deactivate", headers=admin, timeout=10)
    assert gone.status_code == 200 and gone.json()["active"] is False
    deactivated_at = time.monotonic()
    while (reply := requests.get(gateway + "/me", headers=lina, timeout=10)).status_code == 200:
        assert time.monotonic() - deactivated_at < USER_CHECK_SECONDS + 2
        time.sleep(0.1)
    assert reply.status_code == 401 and reply.json()["error"]["code"] == "user_inactive"
    assert login(gateway, "lina", "sales-pw-12").status_code == 401

    back = requests.post(gateway + f"/users/{created.json()['id']}/reactivate", headers=admin, timeout=10)
    assert back.status_code == 200 and back.json()["active"] is True
    reactivated_at = time.monotonic()
    while requests.get(gateway + "/me", headers=lina, timeout=10).status_code != 200:
        assert time.monotonic() - reactivated_at < USER_CHECK_SECONDS + 2
        time.sleep(0.1)


def test_a_token_of_a_user_that_does_not_exist_is_refused(gateway):
    token = Tokens(SECRET, timedelta(hours=1)).issue({"id": 4242, "username": "ghost", "role": "admin"})
    reply = requests.get(
        gateway + "/users", headers={"Authorization": "Bearer " + token["access_token"]}, timeout=10
    )
    assert reply.status_code == 401 and reply.json()["error"]["code"] == "invalid_token"
