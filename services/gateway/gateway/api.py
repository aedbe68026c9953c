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
from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response

from crm_common.errors import InvalidInput, MalformedJson, NotFound
from gateway.errors import describe

API_PREFIX = "/api/v1"
# Ids are 32-bit integer columns: a larger id names nothing (and must not reach the database).
MAX_ID = 2**31 - 1


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
    return json_response(body, status)


def parse_json(request: Request) -> Any:
    """The request body as JSON; MalformedJson (400) if it is not."""
    raw = request.get_data(as_text=True)
    if not raw.strip():
        raise MalformedJson("the request needs a JSON body")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise MalformedJson(f"the body is not valid JSON: {exc}") from exc


def validate(schema: type[Schema], payload: Any) -> None:
    """Raise InvalidInput (400) with field details unless ``payload`` fits ``schema``."""
    if not isinstance(payload, dict):
        raise InvalidInput("expected a JSON object", {"_schema": ["expected a JSON object"]})
    errors = schema().validate(payload)
    if errors:
        raise InvalidInput("some fields are invalid", errors)


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
) -> Callable:
    """Declare ``METHOD /api/v1<path>``.

    The handler gets ``(self, request, **path_params)`` plus ``body`` (the JSON object, checked
    against ``body``) and ``query`` (the query string, checked against ``query``); it returns
    JSON-safe data (sent with ``status``) or a Response. With ``auth``, the caller from the
    bearer token is bound to the worker before the handler runs, so every RPC carries it.
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
                    self.caller.bind(self.tokens.verify(request.headers.get("Authorization")))
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

        return http(method, API_PREFIX + path)(entrypoint)

    return decorate
