"""A new team's first minutes, through HTTP, against every service running as `make run` starts it."""

import pytest
import requests

from crm_common.registry import BACKEND_PROGRAMS
from tests.support.system import api

pytestmark = pytest.mark.flow


def test_admin_builds_a_team_that_can_log_in(system):
    admin = system.client("admin", system.admin_password)
    manager = api(
        system,
        admin,
        "POST",
        "/users",
        json={
            "username": "wangfang",
            "password": "manager-pw-1",
            "display_name": "王芳",
            "role": "manager",
            "team": "华东",
            "phone": "13800138000",
        },
    )
    assert manager.status_code == 201, manager.text
    sales = api(
        system,
        admin,
        "POST",
        "/users",
        json={
            "username": "lina",
            "password": "sales-pw-12",
            "display_name": "李娜",
            "team": "华东",
            "manager": "wangfang",
            "phone": "+86 139 0013 9000",
        },
    )
    assert sales.status_code == 201, sales.text

    lina = system.client("lina", "sales-pw-12")
    me = api(system, lina, "GET", "/me").json()
    assert me["display_name"] == "李娜" and me["manager"] == "wangfang" and me["phone"] == "+8613900139000"

    wang = system.client("wangfang", "manager-pw-1")
    team = api(system, wang, "GET", "/users").json()
    assert {user["username"] for user in team} == {"wangfang", "lina"}

    refused = api(
        system,
        lina,
        "POST",
        "/users",
        json={"username": "sneaky", "password": "password-1", "display_name": "X", "team": "华东"},
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"


def test_every_service_reports_ok(system):
    reply = requests.get(system.base_url + "/health", timeout=10)
    assert reply.status_code == 200
    # every back-end process, customers-scanner included: a stopped scanner means no suspicions
    every_process = [process.name for process in BACKEND_PROGRAMS]
    assert reply.json() == {"status": "ok", "services": dict.fromkeys(every_process, "ok")}


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer not-a-jwt",
        "Basic abc",
        "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIiwicm9sZSI6ImFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwfQ.forgedsignature",
    ],
)
def test_no_or_forged_token_is_401(system, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    reply = requests.get(system.base_url + "/me", headers=headers, timeout=10)
    assert reply.status_code == 401
    assert reply.json()["error"]["code"] in ("unauthenticated", "invalid_token")


def test_a_token_signed_with_another_secret_is_401(system):
    import jwt

    forged = jwt.encode({"sub": "1", "role": "admin", "exp": 4102444800}, "guessed-secret", algorithm="HS256")
    reply = requests.get(
        system.base_url + "/users", headers={"Authorization": f"Bearer {forged}"}, timeout=10
    )
    assert reply.status_code == 401


def test_malformed_json_is_400_with_the_error_body(system):
    admin = system.client("admin", system.admin_password)
    reply = api(
        system, admin, "POST", "/users", data="{username: oops", headers={"Content-Type": "application/json"}
    )
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "malformed_json"
    missing = api(system, admin, "POST", "/users", json={"username": "ab"})
    assert missing.status_code == 400
    assert set(missing.json()["error"]["details"]) >= {"password", "display_name"}


def test_wrong_password_is_401_and_unknown_route_is_404(system):
    reply = requests.post(
        system.base_url + "/auth/token", json={"username": "admin", "password": "nope"}, timeout=10
    )
    assert reply.status_code == 401 and reply.json()["error"]["code"] == "bad_credentials"
    assert requests.get(system.base_url + "/no/such/thing", timeout=10).status_code == 404


def test_openapi_covers_every_route(system):
    spec = requests.get(system.base_url + "/openapi.json", timeout=10).json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/auth/token", "/api/v1/me", "/api/v1/users", "/api/v1/health"):
        assert path in spec["paths"]


def test_make_run_signs_with_a_random_owner_only_secret_not_a_constant(system):
    import stat

    import jwt

    secret_file = system.var_dir / "jwt_secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    old_constant = "dev-only-secret-set-CRM_JWT_SECRET-in-production"
    forged = jwt.encode(
        {"sub": "1", "username": "admin", "role": "admin", "exp": 4102444800}, old_constant, algorithm="HS256"
    )
    reply = requests.get(
        system.base_url + "/users", headers={"Authorization": f"Bearer {forged}"}, timeout=10
    )
    assert reply.status_code == 401 and reply.json()["error"]["code"] == "invalid_token"
    made_with_the_file = jwt.encode(
        {"sub": "1", "username": "admin", "role": "admin", "exp": 4102444800},
        secret_file.read_text().strip(),
        algorithm="HS256",
    )
    reply = requests.get(
        system.base_url + "/me", headers={"Authorization": f"Bearer {made_with_the_file}"}, timeout=10
    )
    assert reply.status_code == 200 and reply.json()["username"] == "admin"
