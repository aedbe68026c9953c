"""RPC with a deadline: a service that is down or stuck costs the caller seconds, not forever.

Each call also carries a request id of its own, derived from the worker's (see
``crm_common.idempotency``): a write asked for while handling a request happens once even when
that request is delivered again.
"""

from __future__ import annotations

from typing import Any

import eventlet
from nameko.exceptions import UnknownService
from nameko.rpc import RpcProxy, ServiceProxy

from crm_common.errors import ServiceTimeout, ServiceUnavailable
from crm_common.idempotency import REQUEST_ID_KEY, derive_request_id

DEFAULT_TIMEOUT = 10.0


def call(method_proxy: Any, *args: Any, timeout: float = DEFAULT_TIMEOUT, **kwargs: Any) -> Any:
    """Call a remote method, giving up after ``timeout`` seconds.

    A service with no running instance is ServiceUnavailable (503) at once; one that does not
    answer in time is ServiceTimeout (504). The remote method's own errors pass through.
    """
    try:
        reply = method_proxy.call_async(*args, **kwargs)
    except UnknownService as exc:
        raise ServiceUnavailable(f"service {exc.args[0]} is not running") from exc
    except OSError as exc:
        raise ServiceUnavailable("the message broker is not reachable") from exc
    try:
        with eventlet.Timeout(timeout):
            return reply.result()
    except eventlet.Timeout as exc:
        raise ServiceTimeout(f"{method_proxy} did not answer within {timeout:g}s") from exc


class TimedServiceProxy:
    """``proxy.method(*args)`` calls the remote method with the deadline.

    The n-th call to ``service.method`` from a worker handling request R carries the request id
    ``derive_request_id(R, "service.method", n)``: the same on every redelivery of R, different
    for each call. With ``pass_first`` (the gateway, which records nothing itself) the first
    call to each method carries R unchanged.
    """

    def __init__(
        self, proxy: Any, timeout: float, calls: dict[str, int] | None = None, pass_first: bool = False
    ) -> None:
        self._proxy = proxy
        self._timeout = timeout
        self._calls: dict[str, int] = {} if calls is None else calls
        self._pass_first = pass_first

    def with_timeout(self, seconds: float) -> TimedServiceProxy:
        return TimedServiceProxy(self._proxy, seconds, self._calls, self._pass_first)

    def __getattr__(self, method: str) -> Any:
        method_proxy = getattr(self._proxy, method)  # a new MethodProxy on every lookup

        def remote(*args: Any, **kwargs: Any) -> Any:
            self._carry_request_id(method_proxy)
            return call(method_proxy, *args, timeout=self._timeout, **kwargs)

        return remote

    def _carry_request_id(self, method_proxy: Any) -> None:
        parent = method_proxy.worker_ctx.data.get(REQUEST_ID_KEY)
        if not parent:
            return
        target = f"{method_proxy.service_name}.{method_proxy.method_name}"
        occurrence = self._calls[target] = self._calls.get(target, 0) + 1
        request_id = (
            parent if self._pass_first and occurrence == 1 else derive_request_id(parent, target, occurrence)
        )
        headers = method_proxy.get_message_headers

        def with_request_id(worker_ctx: Any) -> dict:
            carried = headers(worker_ctx)
            carried[method_proxy._get_header_name(REQUEST_ID_KEY)] = request_id
            return carried

        method_proxy.get_message_headers = with_request_id


class TimedRpcProxy(RpcProxy):
    """nameko's RpcProxy with a deadline per call (``RPC_TIMEOUT_SECONDS`` in config, default 10)
    and, for requests nobody picks up, a broker-side expiry of the same length: a service that
    comes back does not act on requests whose callers were already told it was down.

    ``pass_first=True`` (the gateway) hands the worker's request id unchanged to the first call
    of each method; services derive a new id for every call (see ``TimedServiceProxy``)."""

    def __init__(self, target_service: str, pass_first: bool = False, **options: Any) -> None:
        super().__init__(target_service, **options)
        self.pass_first = pass_first

    def setup(self) -> None:
        super().setup()
        self.timeout = float(self.container.config.get("RPC_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT)
        self.options.setdefault("expiration", self.timeout)

    def get_dependency(self, worker_ctx: Any) -> TimedServiceProxy:
        return TimedServiceProxy(super().get_dependency(worker_ctx), self.timeout, pass_first=self.pass_first)


class AnyServiceRpc(TimedRpcProxy):
    """Injects a function ``name -> TimedServiceProxy`` that calls any process by its nameko name,
    with the deadline: for asking every process the same thing (the gateway's ``/health``) when
    the list comes from the registry, not from one attribute per service."""

    def __init__(self, **options: Any) -> None:
        super().__init__("", **options)

    def get_dependency(self, worker_ctx: Any) -> Any:
        def proxy(name: str) -> TimedServiceProxy:
            target = ServiceProxy(worker_ctx, name, self.rpc_reply_listener, **self.options)
            return TimedServiceProxy(target, self.timeout)

        return proxy
