"""Rules about users: who may create whom, who manages whom, who sees whom, login limits.
Plain Python (password hashing is :mod:`accounts.passwords`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from accounts.exceptions import ColleagueNotEligible, UnknownColleague
from crm_common.caller import Caller
from crm_common.errors import Forbidden, InvalidInput


@dataclass(frozen=True)
class User:
    """A user as stored (``password_hash`` never leaves the service)."""

    id: int
    username: str
    display_name: str
    role: str
    team: str | None
    manager_id: int | None
    phone: str | None
    escalate_after_minutes: int
    active: bool
    created_at: datetime
    password_hash: str


@dataclass(frozen=True)
class LoginLimits:
    """At most ``per_user`` attempts for one username and ``per_client`` failed ones from one
    client address within ``window`` (0: no limit)."""

    per_user: int
    per_client: int
    window: timedelta


def retry_after(window_started_at: datetime, window: timedelta, now: datetime) -> int:
    """Whole seconds until the window that started at ``window_started_at`` is over (at least 1)."""
    return max(1, math.ceil((window_started_at + window - now).total_seconds()))


def login_key(kind: str, name: str) -> str:
    """The login-attempt counter of a username (``kind="user"``) or a client address (``"client"``)."""
    return f"{kind}:{name}"


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


def check_colleague(leaving: User, colleague: User | None, colleague_id: int) -> None:
    """The colleague who takes a leaving user's customers: an existing, active user of the same
    team (a salesperson or the team's manager), not the leaving user. UnknownColleague (400),
    ColleagueNotEligible (409, ``details["reason"]``)."""
    if colleague is None:
        raise UnknownColleague(f"no user {colleague_id}", {"hand_over_to": ["no such user"]})

    def refuse(reason: str, message: str) -> None:
        raise ColleagueNotEligible(message, {"reason": reason, "hand_over_to": colleague_id})

    if colleague.id == leaving.id:
        refuse("same_user", "the customers cannot go to the user who leaves")
    if not colleague.active:
        refuse("inactive", f"{colleague.username} is deactivated: choose an active colleague")
    if colleague.role not in ("sales", "manager"):
        refuse("role", f"{colleague.username} is not a salesperson or manager")
    if leaving.team is None or colleague.team != leaving.team:
        refuse("other_team", f"{colleague.username} is not in the team of {leaving.username}")


def visible_scope(caller: Caller) -> tuple[str, object]:
    """Which users the caller may list: ("all", None), ("team", team) or ("self", user_id)."""
    if caller.is_admin:
        return "all", None
    if caller.is_manager and caller.team:
        return "team", caller.team
    return "self", caller.user_id
