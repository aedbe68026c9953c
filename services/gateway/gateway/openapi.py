"""The OpenAPI document, generated from the route table and the marshmallow schemas."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from gateway.api import IDEMPOTENCY_HEADER, ROUTES, Route
from gateway.schemas import ErrorSchema

ERROR_TEXT = {
    400: "invalid input (code validation_error or malformed_json; field errors in details;"
    " invalid_idempotency_key for a malformed Idempotency-Key)",
    401: "not logged in, wrong credentials, or a bad or expired token",
    403: "not allowed for this caller",
    404: "not found",
    409: "refused by a business rule (idempotency_key_reused: the Idempotency-Key was used for"
    " another request)",
    413: "the request body is too large (code payload_too_large)",
    429: "too many attempts (too_many_attempts, too_many_requests), or too many open connections from your address"
    " (too_many_connections, answered by any route): wait the seconds in the Retry-After header",
    503: "a service needed for the answer is down, or the server holds too many connections"
    " (server_busy, answered by any route; see Retry-After)",
    504: "a service needed for the answer did not answer in time",
}


IDEMPOTENCY_PARAMETER = {
    "name": IDEMPOTENCY_HEADER,
    "in": "header",
    "required": False,
    "description": (
        "A key the client chooses for this write (a UUID; 1–255 visible ASCII characters). A retry"
        " with the same key and the same request creates nothing new and gets the first answer"
        " again (same status and body); the same key with another request is 409"
        " idempotency_key_reused. Keys are per user and remembered for 24 hours."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
}


def _operation(route: Route) -> dict[str, Any]:
    success: dict[str, Any] = {"description": route.summary}
    if route.response is not None:
        schema: Any = route.response
        if route.many:
            schema = {"type": "array", "items": route.response}
        success["content"] = {route.content_type: {"schema": schema}}
    responses: dict[str, Any] = {str(route.status): success}
    # 429 and 503 can come from the HTTP server itself, before any route runs (gateway.http's
    # connection limits), so every operation documents them
    codes = set(route.errors) | {429, 503, 504}
    if route.body is not None or route.query is not None:
        codes.add(400)
    if route.body is not None or route.method in ("POST", "PUT", "PATCH"):
        codes.add(413)
    if route.auth:
        codes.add(401)
    if route.writes:
        codes |= {400, 409}
    for code in sorted(codes):
        responses[str(code)] = {
            "description": ERROR_TEXT[code],
            "content": {"application/json": {"schema": ErrorSchema}},
        }
    operation: dict[str, Any] = {
        "summary": route.summary,
        "tags": [route.tag],
        "operationId": f"{route.method.lower()}_{route.tag}_{route.path.strip('/').replace('/', '_')}",
        "responses": responses,
    }
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": kind}}
        for name, kind in route.path_params
    ]
    if route.query is not None:
        parameters.append({"in": "query", "schema": route.query})
    if route.writes:
        parameters.append(IDEMPOTENCY_PARAMETER)
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": route.body}},
        }
    if route.auth:
        operation["security"] = [{"bearer": []}]
    return operation


def build_spec() -> dict[str, Any]:
    spec = APISpec(
        title="Sales CRM API",
        version="1",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "销售CRM: customers, pipeline, reminders and knowledge for a sales floor."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    operations: dict[str, dict[str, Any]] = defaultdict(dict)
    for route in ROUTES:
        operations[route.openapi_path][route.method.lower()] = _operation(route)
    for path, path_operations in operations.items():
        spec.path(path=path, operations=path_operations)
    return spec.to_dict()
