"""The OpenAPI document tells clients about Idempotency-Key on every write route, and only there."""

import gateway.service  # noqa: F401 — registers every route
from gateway.api import ROUTES
from gateway.openapi import build_spec


def test_every_authenticated_write_route_documents_the_header_and_its_409():
    spec = build_spec()
    writes = [r for r in ROUTES if r.auth and r.method != "GET"]
    assert len(writes) > 40
    for route in writes:
        operation = spec["paths"][route.openapi_path][route.method.lower()]
        headers = [p["name"] for p in operation.get("parameters", []) if p.get("in") == "header"]
        assert headers == ["Idempotency-Key"], route.path
        assert {"400", "409"} <= set(operation["responses"]), route.path


def test_reads_and_the_login_do_not_take_the_header():
    spec = build_spec()
    for route in ROUTES:
        if route.method == "GET" or not route.auth:
            operation = spec["paths"][route.openapi_path][route.method.lower()]
            assert all(p.get("in") != "header" for p in operation.get("parameters", [])), route.path
