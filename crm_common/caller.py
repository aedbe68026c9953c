"""The identity of whoever makes a request, and what it may see: plain data, no framework."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm_common.errors import Forbidden

ROLES = ("sales", "manager", "admin")
_KEYS = {
    "user_id": "caller_id",
    "username": "caller_username",
    "role": "caller_role",
    "team": "caller_team",
    "display_name": "caller_display_name",
}


@dataclass(frozen=True)
class Caller:
    user_id: int
    username: str
    role: str
    team: str | None = None
    display_name: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"

    def require_role(self, *roles: str) -> None:
        """Raise Forbidden unless the caller has one of ``roles``."""
        if self.role not in roles:
            raise Forbidden(f"this needs the role {' or '.join(roles)}", {"role": self.role})

    def manages(self, team: str | None) -> bool:
        """An admin manages every team; a manager their own."""
        return self.is_admin or (self.is_manager and team is not None and team == self.team)

    def can_read(self, owner_id: int | None, team: str | None) -> bool:
        """Full read access to a record owned by ``owner_id`` in ``team``."""
        return owner_id == self.user_id or self.manages(team)

    def to_context(self) -> dict[str, Any]:
        return {
            header: getattr(self, field)
            for field, header in _KEYS.items()
            if getattr(self, field) is not None
        }

    @classmethod
    def from_context(cls, context: dict[str, Any]) -> Caller | None:
        if context.get("caller_id") in (None, ""):
            return None
        return cls(
            user_id=int(context["caller_id"]),
            username=str(context.get("caller_username") or ""),
            role=str(context.get("caller_role") or ""),
            team=context.get("caller_team") or None,
            display_name=context.get("caller_display_name") or None,
        )
