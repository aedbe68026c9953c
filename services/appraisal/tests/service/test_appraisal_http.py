"""The appraisal's routes through the real gateway (in the OpenAPI), and 4xx with the one error body
for bad input."""

from datetime import timedelta

import pytest
import requests
from appraisal_support import LI, ZHOU

from appraisal.constants import DEFAULT_SCHEME
from gateway.auth import Tokens
from gateway.service import GatewayService

SECRET = "appraisal-http-test-secret"


@pytest.fixture
def api(appraisal, container_factory, rabbit_config, web_config, monkeypatch):
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


def test_scorecards_over_http(api):
    paths = api(None, "GET", "/openapi.json").json()["paths"]
    assert {
        "/api/v1/appraisal/scheme",
        "/api/v1/appraisal/scorecards/mine",
        "/api/v1/appraisal/scorecards/{scorecard_id}/dispute",
        "/api/v1/appraisal/scorecards/{scorecard_id}/evidence",
    } <= set(paths)

    scheme = api(LI, "GET", "/appraisal/scheme")
    assert scheme.status_code == 200 and scheme.json()["default"] is True
    computed = api(ZHOU, "POST", "/appraisal/scorecards/compute", json={"period": "2026-Q4"})
    assert computed.status_code == 200, computed.text
    card = next(c for c in computed.json() if c["person_id"] == LI[0])
    scores = {"scores": [{"indicator": i["key"], "score": "80", "comment": "好"} for i in DEFAULT_SCHEME]}
    scored = api(ZHOU, "PUT", f"/appraisal/scorecards/{card['id']}/scores", json=scores)
    assert scored.status_code == 200, scored.text
    assert api(ZHOU, "POST", f"/appraisal/scorecards/{card['id']}/publish").status_code == 200
    mine = api(LI, "GET", "/appraisal/scorecards/mine")
    assert [c["id"] for c in mine.json()] == [card["id"]]
    disputed = api(LI, "POST", f"/appraisal/scorecards/{card['id']}/dispute", json={"reason": "不同意"})
    assert disputed.json()["state"] == "disputed"
    evidence = api(LI, "GET", f"/appraisal/scorecards/{card['id']}/evidence", params={"metric": "attainment"})
    assert evidence.status_code == 200 and evidence.json() == []


def test_bad_input_is_400_with_the_error_body(api):
    future = api(ZHOU, "POST", "/appraisal/scorecards/compute", json={"period": "2027-Q1"})
    assert future.status_code == 400 and future.json()["error"]["code"] == "period_in_future"
    uneven = [dict(i) for i in DEFAULT_SCHEME]
    uneven[1] = {**uneven[1], "weight": 25}
    bad = api(ZHOU, "PUT", "/appraisal/scheme", json={"indicators": uneven})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_scheme"
    assert "weights" in bad.json()["error"]["details"]
    shape = api(ZHOU, "PUT", "/appraisal/scheme", json={"indicators": "x"})
    assert shape.status_code == 400
    assert api(LI, "POST", "/appraisal/scorecards/compute", json={"period": "2026-Q4"}).status_code == 403
    assert api(LI, "GET", "/appraisal/scorecards/999").status_code == 404
