"""What every service answers, whatever it owns."""

from __future__ import annotations

from nameko.rpc import rpc

from crm_common.db import read_only


class HealthCheck:
    """Mixin: ``health()`` answers only when the service and its database are up."""

    name: str
    db: object

    @rpc
    @read_only
    def health(self) -> dict:
        """{"status": "ok", "service", "database": "ok"}; raises if the database is down."""
        return {"status": "ok", "service": self.name, "database": self.db.ping()}  # type: ignore[attr-defined]

    @rpc
    def ping(self) -> str:
        """ "pong": an empty round trip, the baseline of every benchmark."""
        return "pong"
