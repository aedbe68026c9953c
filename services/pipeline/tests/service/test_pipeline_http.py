"""The pipeline's routes through the real gateway: the designed response fields, and 4xx (never a
500) with the one error body for bad input."""

from datetime import timedelta

import pytest
import requests
from pipeline_support import LI, WANG, ZHAO, add_customer

from gateway.auth import Tokens
from gateway.service import GatewayService

SECRET = "pipeline-http-test-secret"


@pytest.fixture
def api(pipeline, container_factory, rabbit_config, web_config, monkeypatch):
    monkeypatch.setenv("CRM_JWT_SECRET", SECRET)
    container_factory(GatewayService, {**rabbit_config, **web_config}).start()
    base = f"http://127.0.0.1:{web_config['WEB_SERVER_ADDRESS'].split(':')[1]}/api/v1"
    tokens = Tokens(SECRET, timedelta(hours=1))

    def call(person, method, path, **kwargs):
        headers = kwargs.pop("headers", {})
        if person is not None:
            user_id, role, team = person
            token = tokens.issue({"id": user_id, "username": f"user{user_id}", "role": role, "team": team})
            headers["Authorization"] = "Bearer " + token["access_token"]
        return requests.request(method, base + path, headers=headers, timeout=15, **kwargs)

    return call


def test_forecast_over_http_has_the_fields_the_design_names(api):
    add_customer(501, LI)
    for stage, count in {"s25": 4, "s50": 4, "s75": 3, "s90": 3}.items():
        for _ in range(count):
            created = api(
                LI,
                "POST",
                "/opportunities",
                json={"customer_id": 501, "title": "t", "amount": 10000, "stage": stage},
            )
            assert created.status_code == 201, created.text
    reply = api(LI, "GET", "/forecast", params={"period": "2026-11"})
    assert reply.status_code == 200, reply.text
    forecast = reply.json()
    assert {"weighted_total", "stages", "sample_size", "reliable", "interval", "target", "gap"} <= set(
        forecast
    )
    assert {"stage", "probability", "count", "amount", "weighted"} <= set(forecast["stages"][0])
    assert {"low", "high"} <= set(forecast["interval"])
    assert (forecast["weighted_total"], forecast["sample_size"], forecast["reliable"]) == (
        "79500.00",
        14,
        True,
    )

    funnel = api(LI, "GET", "/funnel").json()
    assert {"stages", "advice"} <= set(funnel)
    assert api(WANG, "GET", "/forecast").json()["by_owner"][0]["owner_id"] == LI[0]


@pytest.fixture
def won_deal(api):
    add_customer(501, LI)
    deal = api(
        LI, "POST", "/opportunities", json={"customer_id": 501, "title": "t", "amount": "5", "stage": "s75"}
    )
    assert deal.status_code == 201, deal.text
    won = api(LI, "POST", f"/opportunities/{deal.json()['id']}/won", json={"reason": "签约"})
    assert won.status_code == 200, won.text
    return won.json()


def test_bad_requests_get_4xx_with_the_error_body(api, won_deal):
    add_customer(502, ZHAO)
    open_deal = api(
        ZHAO, "POST", "/opportunities", json={"customer_id": 502, "title": "t", "amount": "5", "stage": "s75"}
    ).json()
    without_75 = [
        {"key": key, "name": key, "probability": p}
        for key, p in (("s0", 0), ("s10", 10), ("s25", 25), ("s50", 50), ("s90", 90), ("s100", 100))
    ]
    cases = [
        (
            LI,
            "POST",
            "/opportunities",
            {"data": "{oops", "headers": {"Content-Type": "application/json"}},
            400,
            "malformed_json",
        ),
        (
            LI,
            "POST",
            "/opportunities",
            {"json": {"customer_id": 501, "title": "t", "amount": "abc"}},
            400,
            "validation_error",
        ),
        (LI, "POST", "/opportunities", {"json": [1, 2]}, 400, "validation_error"),
        (
            LI,
            "POST",
            "/opportunities",
            {"json": {"customer_id": 501, "title": "t", "amount": "1", "stage": "s7"}},
            400,
            "unknown_stage",
        ),
        (
            LI,
            "POST",
            "/opportunities",
            {"json": {"customer_id": 999, "title": "t", "amount": "1"}},
            404,
            "not_found",
        ),
        (
            LI,
            "POST",
            "/opportunities",
            {"json": {"customer_id": 502, "title": "t", "amount": "1"}},
            403,
            "forbidden",
        ),
        (LI, "POST", "/opportunities/99999/stage", {"json": {"stage": "s50"}}, 404, "opportunity_not_found"),
        (
            LI,
            "POST",
            f"/opportunities/{2**128}/lost",
            {"json": {"reason": "x"}},
            404,
            "not_found",  # the gateway answers ids beyond any table before the service is asked
        ),
        (
            LI,
            "POST",
            f"/opportunities/{open_deal['id']}/stage",
            {"json": {"stage": "s50"}},
            404,
            "opportunity_not_found",
        ),
        (
            LI,
            "POST",
            f"/opportunities/{won_deal['id']}/stage",
            {"json": {"stage": "s50"}},
            409,
            "opportunity_closed",
        ),
        (
            LI,
            "POST",
            f"/opportunities/{won_deal['id']}/lost",
            {"json": {"reason": "x"}},
            409,
            "opportunity_closed",
        ),
        (
            ZHAO,
            "POST",
            f"/opportunities/{open_deal['id']}/stage",
            {"json": {"stage": "s100"}},
            409,
            "reason_required",
        ),
        (
            ZHAO,
            "POST",
            f"/opportunities/{open_deal['id']}/stage",
            {"json": {"stage": "s75"}},
            409,
            "already_in_stage",
        ),
        (ZHAO, "POST", f"/opportunities/{open_deal['id']}/won", {"json": {}}, 400, "validation_error"),
        (LI, "GET", "/forecast?period=2026-13", {}, 400, "validation_error"),
        (LI, "GET", "/forecast?owner=abc", {}, 400, "validation_error"),
        (LI, "GET", "/forecast?colour=red", {}, 400, "validation_error"),
        (LI, "GET", f"/forecast?owner={ZHAO[0]}", {}, 403, "forbidden"),
        (LI, "GET", "/funnel?team=east", {}, 403, "forbidden"),
        (WANG, "GET", "/forecast?owner=4242", {}, 404, "not_found"),
        (LI, "GET", "/opportunities?limit=0", {}, 400, "validation_error"),
        (LI, "PUT", "/stages", {"json": {"stages": without_75}}, 403, "forbidden"),
        (WANG, "PUT", "/stages", {"json": {"stages": without_75}}, 409, "stage_in_use"),
        (
            WANG,
            "PUT",
            "/stages",
            {"json": {"stages": [{"key": "a", "name": "A", "probability": 50}]}},
            400,
            "invalid_stage_set",
        ),
        (
            LI,
            "PUT",
            "/targets",
            {"json": {"owner": LI[0], "period": "2026-12", "amount": "1"}},
            403,
            "forbidden",
        ),
        (
            WANG,
            "PUT",
            "/targets",
            {"json": {"owner": 4242, "period": "2026-12", "amount": "1"}},
            400,
            "unknown_owner",
        ),
        (
            WANG,
            "PUT",
            "/targets",
            {"json": {"owner": LI[0], "period": "next month", "amount": "1"}},
            400,
            "validation_error",
        ),
        (LI, "GET", "/stages/calibration", {}, 403, "forbidden"),
        (LI, "GET", "/stages?version=99999", {}, 404, "not_found"),
        (None, "GET", "/forecast", {}, 401, "unauthenticated"),
    ]
    for person, method, path, kwargs, status, code in cases:
        reply = api(person, method, path, **kwargs)
        assert (reply.status_code, reply.json()["error"]["code"]) == (status, code), (
            method,
            path,
            reply.text,
        )
        assert set(reply.json()["error"]) == {"code", "message", "details"}
