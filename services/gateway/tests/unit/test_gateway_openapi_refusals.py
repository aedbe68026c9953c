"""The HTTP server refuses a connection over its limits before any route runs (429
too_many_connections for one address, 503 server_busy for all), so every operation documents both:
a client that opened too many connections got an undocumented 429 on GET /ping before."""

import gateway.service  # noqa: F401 — registers every route
from gateway.api import ROUTES
from gateway.http import CODES
from gateway.openapi import build_spec


def test_every_operation_documents_the_servers_own_refusals_with_the_error_body():
    spec = build_spec()
    for route in ROUTES:
        responses = spec["paths"][route.openapi_path][route.method.lower()]["responses"]
        for status in ("429", "503"):
            assert status in responses, (route.method, route.path, status)
            assert "application/json" in responses[status]["content"], route.path


def test_the_refusals_documented_are_the_ones_the_server_sends():
    text = build_spec()["paths"]["/api/v1/ping"]["get"]["responses"]
    assert CODES[429] in text["429"]["description"]
    assert CODES[503] in text["503"]["description"]
