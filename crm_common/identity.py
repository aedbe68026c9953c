"""Who is calling: set by the gateway from the JWT, carried by nameko across RPC hops.

The identity travels as nameko context data (AMQP headers ``nameko.caller_*``), so every
service downstream of the gateway sees the same caller and enforces its own rules.
"""

from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider

from crm_common.caller import Caller
from crm_common.errors import Unauthenticated


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


class CallerIdentity(DependencyProvider):
    """Injects a CallerContext built from the worker's context data."""

    def get_dependency(self, worker_ctx: Any) -> CallerContext:
        return CallerContext(worker_ctx)
