"""Rules about users: who may create whom, who sees whom, how passwords are kept."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from crm_common.caller import Caller
from crm_common.errors import Forbidden, InvalidInput

ROLES = ("sales", "manager", "admin")
DEFAULT_ESCALATE_AFTER_MINUTES = 10
FIRST_ADMIN_USERNAME = "admin"

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted; safe to store)."""
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_may_create(caller: Caller, role: str, team: str | None) -> None:
    """An admin creates anyone; a manager creates salespeople of their own team; else Forbidden."""
    if caller.is_admin:
        return
    if caller.is_manager and role == "sales" and team is not None and team == caller.team:
        return
    raise Forbidden("you may not create this user", {"role": role, "team": team})


@dataclass(frozen=True)
class ManagerLink:
    user_id: int
    role: str
    team: str | None


def check_manager(manager: ManagerLink | None, team: str | None, role: str) -> None:
    """A user's manager must be a manager (or admin) of the same team; admins have none."""
    if manager is None:
        return
    if role == "admin":
        raise InvalidInput("an admin has no manager", {"manager": ["an admin has no manager"]})
    if manager.role not in ("manager", "admin"):
        raise InvalidInput("the manager must have the manager role", {"manager": ["not a manager"]})
    if manager.role == "manager" and manager.team != team:
        raise InvalidInput(
            "the manager must belong to the same team", {"manager": ["manager of another team"]}
        )


def visible_scope(caller: Caller) -> tuple[str, object]:
    """Which users the caller may list: ("all", None), ("team", team) or ("self", user_id)."""
    if caller.is_admin:
        return "all", None
    if caller.is_manager and caller.team:
        return "team", caller.team
    return "self", caller.user_id
