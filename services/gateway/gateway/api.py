"""How a gateway route is declared: one decorator that registers the route for OpenAPI,
authenticates, parses and validates JSON, and turns every error into the one error body."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema
from werkzeug.wrappers import Request, Response

from crm_common.errors import InvalidInput, MalformedJson, NotFound, TooManyRequests
from crm_common.idempotency import new_request_id, request_id_for_key
from crm_common.validation import MAX_DEPTH, check_text
from gateway.errors import describe
from gateway.http import http

API_PREFIX = "/api/v1"
# Ids are 32-bit integer columns: a larger id names nothing (and must not reach the database).
MAX_ID = 2**31 - 1
IDEMPOTENCY_HEADER = "Idempotency-Key"
READ_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass
class Route:
    method: str
    path: str
    summary: str
    tag: str
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    response: type[Schema] | None = None
    many: bool = False
    status: int = 200
    auth: bool = True
    errors: tuple[int, ...] = ()
    content_type: str = "application/json"
    extra: dict = field(default_factory=dict)

    @property
    def writes(self) -> bool:
        """An authenticated POST, PUT, PATCH or DELETE: it gets a request id and honours
        ``Idempotency-Key``."""
        return self.auth and self.method not in READ_METHODS

    @property
    def openapi_path(self) -> str:
        return API_PREFIX + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", self.path)

    @property
    def path_params(self) -> list[tuple[str, str]]:
        return [
            (name, "integer" if converter == "int" else "string")
            for converter, name in re.findall(r"<(?:(\w+):)?(\w+)>", self.path)
        ]


ROUTES: list[Route] = []


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False, default=str), status=status, mimetype="application/json"
    )


def error_response(exc: BaseException) -> Response:
    status, body = describe(exc)
    response = json_response(body, status)
    if isinstance(exc, TooManyRequests) and isinstance(exc.details, dict) and "retry_after" in exc.details:
        response.headers["Retry-After"] = str(int(exc.details["retry_after"]))
    return response


def parse_json(request: Request) -> Any:
    """The request body as JSON; MalformedJson (400) if it is not."""
    raw = request.get_data(as_text=True)
    if not raw.strip():
        raise MalformedJson("the request needs a JSON body")
    try:
        payload = json.loads(raw)
    except RecursionError as exc:
        raise MalformedJson(f"the body nests deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:
        raise MalformedJson(f"the body is not valid JSON: {exc}") from exc
    check_text(payload)  # NUL, lone surrogates, depth: 400 with the field, before any service
    return payload


def validate(schema: type[Schema], payload: Any) -> None:
    """Raise InvalidInput (400) with field details unless ``payload`` fits ``schema``."""
    if not isinstance(payload, dict):
        raise InvalidInput("expected a JSON object", {"_schema": ["expected a JSON object"]})
    check_text(payload)
    errors = schema().validate(payload)
    if errors:
        raise InvalidInput("some fields are invalid", errors)


def optional_body(request: Request, schema: type[Schema]) -> dict:
    """The JSON body checked against ``schema`` when one was sent; an empty body is ``{}``
    (a decision's ``{"note": …}``, an optional reason)."""
    if not request.get_data(as_text=True).strip():
        return {}
    payload = parse_json(request)
    validate(schema, payload)
    return payload  # type: ignore[no-any-return]


def given(query: dict) -> dict:
    """The query parameters that were sent (a loaded query schema's None means absent)."""
    return {name: value for name, value in query.items() if value is not None}


def request_id(request: Request, user_id: int) -> str:
    """The id of this write request: derived from the client's ``Idempotency-Key`` (scoped to
    the user) when it sends one, so its retries are the same request; else a fresh one.
    InvalidIdempotencyKey (400) for a malformed key."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return new_request_id()
    return request_id_for_key(user_id, key)


def route(
    method: str,
    path: str,
    *,
    summary: str,
    tag: str,
    body: type[Schema] | None = None,
    query: type[Schema] | None = None,
    response: type[Schema] | None = None,
    many: bool = False,
    status: int = 200,
    auth: bool = True,
    errors: tuple[int, ...] = (),
    body_limit: str = "MAX_BODY_BYTES",
) -> Callable:
    """Declare ``METHOD /api/v1<path>``.

    The handler gets ``(self, request, **path_params)`` plus ``body`` (the JSON object, checked
    against ``body``) and ``query`` (the query string, checked against ``query``); it returns
    JSON-safe data (sent with ``status``) or a Response. With ``auth``, the caller from the
    bearer token is bound to the worker before the handler runs, so every RPC carries it; a
    write (POST, PUT, PATCH, DELETE) also gets its request id (``Idempotency-Key``), so the
    service runs it once however often it is delivered or retried. A route makes at most one
    write RPC per service method (a second call to the same method gets a derived id).
    ``body_limit`` names the gateway setting that caps the request body (413 beyond it).
    """
    spec = Route(method, path, summary, tag, body, query, response, many, status, auth, errors)
    ROUTES.append(spec)

    def decorate(handler: Callable) -> Callable:
        @functools.wraps(handler)
        def entrypoint(self: Any, request: Request, **path_params: Any) -> Response:
            try:
                for name, kind in spec.path_params:
                    if kind == "integer" and not 0 < path_params[name] <= MAX_ID:
                        raise NotFound(f"no such {name.removesuffix('_id')}: {path_params[name]}")
                if auth:
                    caller = self.tokens.verify(request.headers.get("Authorization"))
                    self.caller.bind(caller)
                    if spec.writes:
                        self.caller.bind_request(request_id(request, caller.user_id))
                    self.active_users.require(caller.user_id, self.accounts)
                if body is not None:
                    payload = parse_json(request)
                    validate(body, payload)
                    path_params["body"] = payload
                if query is not None:
                    arguments = request.args.to_dict()
                    validate(query, arguments)
                    path_params["query"] = query().load(arguments)
                result = handler(self, request, **path_params)
            except Exception as exc:
                return error_response(exc)
            if isinstance(result, Response):
                return result
            return json_response(result, status)

        return http(method, API_PREFIX + path, body_limit=body_limit)(entrypoint)

    return decorate
