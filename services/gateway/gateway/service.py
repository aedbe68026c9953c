"""The gateway: the only HTTP surface. Authenticates (JWT), then asks the services over RPC."""

from __future__ import annotations

import eventlet
from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response

from crm_common.config import SERVICE_NAMES
from crm_common.errors import CrmError
from crm_common.identity import CallerIdentity
from crm_common.rpc import TimedRpcProxy
from gateway.api import API_PREFIX, json_response, route
from gateway.auth import TokenAuthority
from gateway.errors import error_body
from gateway.openapi import build_spec
from gateway.routes_accounts import AccountsRoutes
from gateway.routes_customers import CustomersRoutes
from gateway.routes_knowledge import KnowledgeRoutes
from gateway.routes_notify import NotifyRoutes
from gateway.routes_pipeline import PipelineRoutes
from gateway.schemas import HealthSchema, PongSchema

HEALTH_TIMEOUT = 2.0


class GatewayService(AccountsRoutes, CustomersRoutes, PipelineRoutes, NotifyRoutes, KnowledgeRoutes):
    name = "gateway"

    caller = CallerIdentity()
    tokens = TokenAuthority()
    accounts = TimedRpcProxy("accounts")
    customers = TimedRpcProxy("customers")
    pipeline = TimedRpcProxy("pipeline")
    notify = TimedRpcProxy("notify")
    knowledge = TimedRpcProxy("knowledge")

    @route(
        "GET",
        "/health",
        summary="Every service's health: ok or down; 503 if any is down",
        tag="ops",
        response=HealthSchema,
        auth=False,
    )
    def health(self, request: Request) -> Response:
        def ask(service: str) -> tuple[str, str]:
            try:
                getattr(self, service).with_timeout(HEALTH_TIMEOUT).health()
                return service, "ok"
            except (CrmError, Exception):
                return service, "down"

        pool = eventlet.GreenPool(len(SERVICE_NAMES))
        services = dict(pool.imap(ask, SERVICE_NAMES))
        healthy = all(state == "ok" for state in services.values())
        return json_response(
            {"status": "ok" if healthy else "degraded", "services": services}, 200 if healthy else 503
        )

    @route(
        "GET",
        "/ping",
        summary="An empty round trip gateway → accounts → gateway",
        tag="ops",
        response=PongSchema,
        auth=False,
    )
    def ping(self, request: Request) -> dict:
        return {"pong": self.accounts.ping() == "pong"}

    @http("GET", API_PREFIX + "/openapi.json")
    def openapi(self, request: Request) -> Response:
        return json_response(build_spec())

    @http("GET,POST,PUT,PATCH,DELETE", "/<path:unknown>")
    def unknown_route(self, request: Request, unknown: str) -> Response:
        return json_response(error_body("not_found", f"no such route: {request.method} /{unknown}"), 404)
