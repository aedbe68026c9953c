"""Who is calling, and for which request: set by the gateway, carried by nameko across RPC hops.

The identity travels as nameko context data (AMQP headers ``nameko.caller_*``), so every
service downstream of the gateway sees the same caller and enforces its own rules. Beside it
travels the request id (``nameko.request_id``) that makes each write happen once
(``crm_common.idempotency``).
"""

from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider

from crm_common.caller import Caller
from crm_common.errors import Unauthenticated
from crm_common.idempotency import REQUEST_ID_KEY


class CallerContext:
    """What a worker knows about its caller; the gateway also binds one."""

    def __init__(self, worker_ctx: Any) -> None:
        self._worker_ctx = worker_ctx

    @property
    def current(self) -> Caller | None:
        return Caller.from_context(self._worker_ctx.data)

    def require(self) -> Caller:
        """The caller, or Unauthenticated for a call that carries no identity."""
        caller = self.current
        if caller is None:
            raise Unauthenticated("this call needs an authenticated caller")
        return caller

    def bind(self, caller: Caller) -> None:
        """Make ``caller`` the identity of this worker and of every RPC it makes."""
        self._worker_ctx.data.update(caller.to_context())

    @property
    def request_id(self) -> str | None:
        return self._worker_ctx.data.get(REQUEST_ID_KEY) or None

    def bind_request(self, request_id: str) -> None:
        """Make ``request_id`` the id of this worker's request: the writes it asks for happen
        once per id (see ``crm_common.idempotency``)."""
        self._worker_ctx.data[REQUEST_ID_KEY] = request_id


class CallerIdentity(DependencyProvider):
    """Injects a CallerContext built from the worker's context data."""

    def get_dependency(self, worker_ctx: Any) -> CallerContext:
        return CallerContext(worker_ctx)
