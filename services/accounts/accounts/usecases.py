"""Use cases of accounts: logging in (with attempt limits), reading and listing users, creating
them, their own settings, deactivating and reactivating them, the first admin.

Plain functions taking the store, the caller, what the request asked (loaded by its schema), the
clock; they answer with plain dicts (:func:`user_view`) and raise :mod:`accounts.exceptions`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from accounts import domain, passwords
from accounts.constants import DEFAULT_ESCALATE_AFTER_MINUTES, FIRST_ADMIN_USERNAME
from accounts.domain import LoginLimits, User
from accounts.exceptions import (
    BadCredentials,
    CannotDeactivateSelf,
    TooManyAttempts,
    UnknownManager,
    UsernameTaken,
)
from accounts.store import Store
from crm_common.caller import Caller
from crm_common.errors import NotFound, Unauthenticated

# a raw phone number → E.164 (crm_common.phones, in the service's region); InvalidInput otherwise
PhoneNormaliser = Callable[[str], str]

USER_CREATED_FIELDS = (
    "id",
    "username",
    "display_name",
    "role",
    "team",
    "manager_id",
    "phone",
    "escalate_after_minutes",
)


class Clock(Protocol):
    def now(self) -> datetime: ...


# --- logging in


def authenticate(
    store: Store, credentials: dict[str, Any], *, clock: Clock, limits: LoginLimits
) -> dict[str, Any]:
    """The user for these credentials. The attempt is counted (and committed) before the
    password is checked, so parallel guesses cannot slip past the limit; a good login clears
    the username's count and takes back the client's. TooManyAttempts, BadCredentials."""
    username, password, client = credentials["username"], credentials["password"], credentials["client"]
    wait = reserve_attempt(store, username, client, clock.now(), limits)
    store.commit()  # the attempt counts, whatever follows, for every instance
    if wait is not None:
        raise TooManyAttempts(f"too many login attempts: try again in {wait} seconds", {"retry_after": wait})
    user = store.user_named(username)
    matches = passwords.password_matches(user.password_hash if user else None, password)
    if user is None or not user.active or not matches:
        raise BadCredentials("wrong username or password")
    store.clear_attempts(domain.login_key("user", username))
    if client:
        store.take_back_attempt(domain.login_key("client", client))
    return with_manager(store, user)


def reserve_attempt(
    store: Store, username: str, client: str | None, now: datetime, limits: LoginLimits
) -> int | None:
    """Count this attempt for the username and the client; the seconds to wait if either is
    over its limit, else None."""
    waits = []
    checks = [(domain.login_key("user", username), limits.per_user)]
    if client:
        checks.append((domain.login_key("client", client), limits.per_client))
    for key, limit in checks:
        if not limit:
            continue
        attempts, started = store.count_attempt(key, now, limits.window)
        if attempts > limit:
            waits.append(domain.retry_after(started, limits.window, now))
    return max(waits) if waits else None


def forget_old_login_attempts(store: Store, *, clock: Clock, limits: LoginLimits) -> int:
    """Delete the counts whose window is over (usernames that never existed included); how many."""
    return store.forget_attempts_before(clock.now() - limits.window)


# --- users


def read_user(store: Store, caller: Caller, user_id: int) -> dict[str, Any]:
    """One user the caller may see (themself, or a user of a team they manage); NotFound otherwise."""
    user = store.user(user_id)
    if user is None or not (user.id == caller.user_id or caller.manages(user.team)):
        raise NotFound(f"no user {user_id}")
    return with_manager(store, user)


def users_by_id(store: Store, user_ids: list[int]) -> dict[str, dict[str, Any]]:
    """For other services: the users by id (text keys), without their managers' names."""
    return {str(user.id): user_view(user) for user in store.users(user_ids)}


def team_members(store: Store, team: str) -> list[dict[str, Any]]:
    """For other services: every active user of ``team``."""
    return [user_view(user) for user in store.team_members(team)]


def list_users(store: Store, caller: Caller) -> list[dict[str, Any]]:
    """All users (admin), the team (manager), themself (sales)."""
    users = store.visible_users(*domain.visible_scope(caller))
    usernames = {user.id: user.username for user in users}
    return [user_view(user, usernames.get(user.manager_id) if user.manager_id else None) for user in users]


def create_user(
    store: Store, caller: Caller, new: dict[str, Any], *, clock: Clock, normalise_phone: PhoneNormaliser
) -> dict[str, Any]:
    """A new active user; publishes ``user_created``. Forbidden, InvalidInput, UnknownManager,
    UsernameTaken."""
    domain.check_may_create(caller, new["role"], new["team"])
    phone = normalise_phone(new["phone"]) if new["phone"] else None
    manager = manager_named(store, new["manager"])
    domain.check_manager(
        domain.ManagerLink(manager.id, manager.role, manager.team) if manager else None,
        new["team"],
        new["role"],
    )
    user = store.add_user(
        {
            "username": new["username"],
            "display_name": new["display_name"],
            "role": new["role"],
            "team": new["team"],
            "manager_id": manager.id if manager else None,
            "phone": phone,
            "escalate_after_minutes": new["escalate_after_minutes"],
            "password_hash": passwords.hash_password(new["password"]),
            "active": True,
            "created_at": clock.now(),
        }
    )
    created = user_view(user, manager.username if manager else None)
    store.emit("user_created", {key: created[key] for key in USER_CREATED_FIELDS})
    return created


def update_settings(
    store: Store, caller: Caller, settings: dict[str, Any], *, normalise_phone: PhoneNormaliser
) -> dict[str, Any]:
    """The caller's own escalation minutes and/or phone; publishes ``user_settings_changed``."""
    user = store.user(caller.user_id)
    if user is None:
        raise Unauthenticated("the user of this token no longer exists")
    changes: dict[str, Any] = {}
    if "escalate_after_minutes" in settings:
        changes["escalate_after_minutes"] = settings["escalate_after_minutes"]
    if "phone" in settings:
        changes["phone"] = normalise_phone(settings["phone"]) if settings["phone"] else None
    user = store.update_user(user.id, **changes)
    store.emit(
        "user_settings_changed",
        {"id": user.id, "phone": user.phone, "escalate_after_minutes": user.escalate_after_minutes},
    )
    return with_manager(store, user)


def set_active(
    store: Store, caller: Caller, user_id: int, active: bool, hand_over: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Deactivate (``active=False``) or reactivate a user: an admin anyone, a manager their
    team's salespeople, nobody themself. Publishes ``user_deactivated``/``user_reactivated``
    when the state changes. A deactivation says where the user's customers go
    (``hand_over``: :class:`accounts.schemas.DeactivateSchema`'s answer — a colleague of the same
    team, or the team pool when none is named); customers carries it out on the event.
    NotFound, Forbidden, CannotDeactivateSelf, UnknownColleague, ColleagueNotEligible."""
    user = store.user(user_id)
    if user is None or not (user.id == caller.user_id or caller.manages(user.team)):
        raise NotFound(f"no user {user_id}")
    if user.id == caller.user_id and not active:
        raise CannotDeactivateSelf("you cannot deactivate yourself")
    domain.check_may_create(caller, user.role, user.team)
    colleague = None
    colleague_id = (hand_over or {}).get("hand_over_to")
    if not active and colleague_id is not None:
        colleague = store.user(colleague_id)
        domain.check_colleague(user, colleague, colleague_id)
    if user.active != active:
        user = store.update_user(user.id, active=active)
        fact = {
            "id": user.id,
            "username": user.username,
            "role": user.role,
            "team": user.team,
            "by": caller.user_id,
        }
        if not active:
            fact |= {
                "hand_over_to": colleague.id if colleague else None,
                "hand_over_to_name": colleague.display_name if colleague else None,
                "to_pool": colleague is None,
            }
        store.emit("user_reactivated" if active else "user_deactivated", fact)
    return with_manager(store, user)


def create_first_admin(store: Store, password: str, now: datetime) -> bool:
    """With no users yet, ``admin`` with ``password``; False if there are users (or another
    instance created it first)."""
    if store.has_users():
        return False
    try:
        store.add_user(
            {
                "username": FIRST_ADMIN_USERNAME,
                "display_name": "Administrator",
                "role": "admin",
                "password_hash": passwords.hash_password(password),
                "escalate_after_minutes": DEFAULT_ESCALATE_AFTER_MINUTES,
                "created_at": now,
            }
        )
    except UsernameTaken:
        return False
    return True


# --- helpers


def manager_named(store: Store, username: str | None) -> User | None:
    if not username:
        return None
    manager = store.user_named(username)
    if manager is None:
        raise UnknownManager(f"no user named {username!r}", {"manager": ["no such user"]})
    return manager


def with_manager(store: Store, user: User) -> dict[str, Any]:
    manager = store.user(user.manager_id) if user.manager_id else None
    return user_view(user, manager.username if manager else None)


def user_view(user: User, manager_username: str | None = None) -> dict[str, Any]:
    """What :class:`accounts.schemas.UserSchema` dumps (never the password hash)."""
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "team": user.team,
        "manager_id": user.manager_id,
        "manager": manager_username,
        "phone": user.phone,
        "escalate_after_minutes": user.escalate_after_minutes,
        "active": user.active,
        "created_at": user.created_at,
    }
