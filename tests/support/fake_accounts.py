"""The one stand-in for accounts in the other services' tests.

It answers the RPCs other services make of accounts (``get_users``, ``get_team``,
``list_users``, ``authenticate``) from ``FakeAccounts.users``, shaped as accounts shapes them.
``crm_common/tests/service/test_directory.py`` runs the same questions against the real accounts
service and this fake with the same users and requires the same answers, so the two cannot drift.
"""

from __future__ import annotations

from typing import Any, ClassVar

from nameko.rpc import rpc

from crm_common.errors import Unauthenticated
from crm_common.identity import CallerIdentity

DEFAULT_PASSWORD = "secret-pw-1"
DEFAULT_ESCALATE_AFTER_MINUTES = 10
CREATED_AT = "2026-01-05T08:00:00+00:00"


def account(
    user_id: int,
    username: str,
    role: str,
    team: str | None = None,
    display_name: str | None = None,
    **fields: Any,
) -> dict:
    """A user as ``accounts.get_users`` returns one (every field, defaults for the rest)."""
    return {
        "id": user_id,
        "username": username,
        "display_name": display_name or username,
        "role": role,
        "team": team,
        "manager_id": None,
        "manager": None,
        "phone": None,
        "escalate_after_minutes": DEFAULT_ESCALATE_AFTER_MINUTES,
        "active": True,
        "created_at": CREATED_AT,
        **fields,
    }


class FakeAccounts:
    """A nameko service named ``accounts``; set ``FakeAccounts.use(users)`` before starting it
    (a test may change ``FakeAccounts.users`` while it runs)."""

    name = "accounts"
    users: ClassVar[dict[int, dict]] = {}
    password: ClassVar[str] = DEFAULT_PASSWORD
    caller = CallerIdentity()

    @classmethod
    def use(cls, users: Any, password: str = DEFAULT_PASSWORD) -> dict[int, dict]:
        """Serve ``users`` (dicts with at least id, username, role; the rest filled as accounts
        fills it); returns the dict served, which a test may change."""
        listed = users.values() if isinstance(users, dict) else users
        cls.users = {
            int(user["id"]): account(user_id=int(user["id"]), **_without_id(user)) for user in listed
        }
        cls.password = password
        return cls.users

    @rpc
    def get_users(self, user_ids: list[int]) -> dict[str, dict]:
        return {str(uid): _public(FakeAccounts.users[uid]) for uid in user_ids if uid in FakeAccounts.users}

    @rpc
    def get_team(self, team: str) -> list[dict]:
        return [
            _public(user)
            for _, user in sorted(FakeAccounts.users.items())
            if user["team"] == team and user["active"]
        ]

    @rpc(expected_exceptions=(Unauthenticated,))
    def list_users(self) -> list[dict]:
        caller = self.caller.require()
        users = [user for _, user in sorted(FakeAccounts.users.items())]
        if caller.is_admin:
            visible = users
        elif caller.is_manager and caller.team:
            visible = [user for user in users if user["team"] == caller.team]
        else:
            visible = [user for user in users if user["id"] == caller.user_id]
        # as accounts does: a manager is named only when the caller may see them too
        names = {user["id"]: user["username"] for user in visible}
        return [{**user, "manager": names.get(user["manager_id"])} for user in visible]

    @rpc
    def authenticate(self, username: str, password: str, client: str | None = None) -> dict:
        from accounts.exceptions import BadCredentials

        user = next((u for u in FakeAccounts.users.values() if u["username"] == username), None)
        if user is None or not user["active"] or password != FakeAccounts.password:
            raise BadCredentials("wrong username or password")
        return _public(user, with_manager=True)


def _without_id(user: dict) -> dict:
    return {key: value for key, value in user.items() if key != "id"}


def _public(user: dict, with_manager: bool = False) -> dict:
    manager = FakeAccounts.users.get(user["manager_id"]) if with_manager and user["manager_id"] else None
    return {**user, "manager": manager["username"] if manager else None}
