"""The gateway: the only HTTP surface. Authenticates (JWT), then asks the services over RPC."""

from __future__ import annotations

import eventlet
from werkzeug.routing import BaseConverter, Rule
from werkzeug.wrappers import Request, Response

from crm_common.errors import CrmError
from crm_common.identity import CallerIdentity
from crm_common.registry import BACKEND_PROGRAMS
from crm_common.rpc import AnyServiceRpc, TimedRpcProxy
from gateway.api import API_PREFIX, json_response, route
from gateway.auth import ActiveUsers, TokenAuthority
from gateway.console import ConsoleRoutes
from gateway.errors import error_body
from gateway.http import GatewayHttp, http
from gateway.openapi import build_spec
from gateway.routes_accounts import AccountsRoutes
from gateway.routes_appraisal import AppraisalRoutes
from gateway.routes_customers import CustomersRoutes
from gateway.routes_customers_ownership import CustomersOwnershipRoutes
from gateway.routes_knowledge import KnowledgeRoutes
from gateway.routes_notify import NotifyRoutes
from gateway.routes_pipeline import PipelineRoutes
from gateway.schemas import HealthSchema, PongSchema

HEALTH_TIMEOUT = 2.0


class _AnyPath(BaseConverter):
    """Any rest of a path, including characters werkzeug's ``path`` does not match (a newline)."""

    part_isolating = False
    regex = "(?s:.*)"
    weight = 300


class _AnyPathRule(Rule):
    def get_converter(self, variable_name, converter_name, args, kwargs):  # type: ignore[no-untyped-def]
        if converter_name == "anypath":
            return _AnyPath(self.map, *args, **kwargs)
        return super().get_converter(variable_name, converter_name, args, kwargs)


class _CatchAllHandler(GatewayHttp):
    """``@http`` for the fallback route: every path no other route takes gets the JSON 404."""

    def get_url_rule(self) -> Rule:
        return _AnyPathRule(self.url, methods=self.method.split(","))


catch_all = _CatchAllHandler.decorator


class GatewayService(
    AccountsRoutes,
    CustomersRoutes,
    CustomersOwnershipRoutes,
    PipelineRoutes,
    NotifyRoutes,
    KnowledgeRoutes,
    AppraisalRoutes,
    ConsoleRoutes,
):
    name = "gateway"

    caller = CallerIdentity()
    tokens = TokenAuthority()
    active_users = ActiveUsers()
    # pass_first: a service records the request id of the HTTP request itself
    accounts = TimedRpcProxy("accounts", pass_first=True)
    customers = TimedRpcProxy("customers", pass_first=True)
    pipeline = TimedRpcProxy("pipeline", pass_first=True)
    notify = TimedRpcProxy("notify", pass_first=True)
    knowledge = TimedRpcProxy("knowledge", pass_first=True)
    appraisal = TimedRpcProxy("appraisal", pass_first=True)
    # every back-end process by name, for /health (customers-scanner has no proxy of its own)
    processes = AnyServiceRpc()

    @route(
        "GET",
        "/health",
        summary="Every back-end process's health (customers-scanner included): ok or down; 503 if any is down",
        tag="ops",
        response=HealthSchema,
        auth=False,
    )
    def health(self, request: Request) -> Response:
        def ask(name: str) -> tuple[str, str]:
            try:
                self.processes(name).with_timeout(HEALTH_TIMEOUT).health()
                return name, "ok"
            except (CrmError, Exception):
                return name, "down"

        names = [process.name for process in BACKEND_PROGRAMS]
        pool = eventlet.GreenPool(len(names))
        services = dict(pool.imap(ask, names))
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

    @catch_all("GET,POST,PUT,PATCH,DELETE", "/<anypath:unknown>")
    def unknown_route(self, request: Request, unknown: str) -> Response:
        return json_response(error_body("not_found", f"no such route: {request.method} /{unknown}"), 404)
