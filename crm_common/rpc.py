"""RPC with a deadline: a service that is down or stuck costs the caller seconds, not forever."""

from __future__ import annotations

from typing import Any

import eventlet
from nameko.exceptions import UnknownService
from nameko.rpc import RpcProxy

from crm_common.errors import ServiceTimeout, ServiceUnavailable

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
    """``proxy.method(*args)`` calls the remote method with the deadline."""

    def __init__(self, proxy: Any, timeout: float) -> None:
        self._proxy = proxy
        self._timeout = timeout

    def with_timeout(self, seconds: float) -> TimedServiceProxy:
        return TimedServiceProxy(self._proxy, seconds)

    def __getattr__(self, method: str) -> Any:
        method_proxy = getattr(self._proxy, method)

        def remote(*args: Any, **kwargs: Any) -> Any:
            return call(method_proxy, *args, timeout=self._timeout, **kwargs)

        return remote


class TimedRpcProxy(RpcProxy):
    """nameko's RpcProxy with a deadline per call (``RPC_TIMEOUT_SECONDS`` in config, default 10)
    and, for requests nobody picks up, a broker-side expiry of the same length: a service that
    comes back does not act on requests whose callers were already told it was down."""

    def setup(self) -> None:
        super().setup()
        self.timeout = float(self.container.config.get("RPC_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT)
        self.options.setdefault("expiration", self.timeout)

    def get_dependency(self, worker_ctx: Any) -> TimedServiceProxy:
        return TimedServiceProxy(super().get_dependency(worker_ctx), self.timeout)
