"""An in-memory accounts store for the use-case tests (tests/unit/test_accounts_usecases.py).

It answers the use cases as :class:`accounts.store.Store` does; the contract test
``tests/service/test_accounts_store_contract.py`` runs the same checks against it and the real
Store on a real database, so the two cannot drift apart."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from accounts.constants import MAX_ID
from accounts.domain import User
from accounts.exceptions import UsernameTaken


class FakeStore:
    def __init__(self) -> None:
        self.users_by_id: dict[int, User] = {}
        self.attempts: dict[str, tuple[int, datetime]] = {}
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.commits = 0

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        self.events.append((event_type, data))

    def commit(self) -> None:
        self.commits += 1

    # --- users

    def has_users(self) -> bool:
        return bool(self.users_by_id)

    def user(self, user_id: int) -> User | None:
        if not isinstance(user_id, int) or not 0 < user_id <= MAX_ID:
            return None
        return self.users_by_id.get(user_id)

    def user_named(self, username: str) -> User | None:
        return next((user for user in self.users_by_id.values() if user.username == username), None)

    def users(self, user_ids: list[int]) -> list[User]:
        return [self.users_by_id[user_id] for user_id in sorted(set(user_ids)) if user_id in self.users_by_id]

    def team_members(self, team: str) -> list[User]:
        return [user for _id, user in sorted(self.users_by_id.items()) if user.team == team and user.active]

    def visible_users(self, scope: str, value: object) -> list[User]:
        everyone = [user for _id, user in sorted(self.users_by_id.items())]
        if scope == "team":
            return [user for user in everyone if user.team == value]
        if scope == "self":
            return [user for user in everyone if user.id == value]
        return everyone

    def add_user(self, user: dict[str, Any]) -> User:
        if self.user_named(user["username"]) is not None:
            raise UsernameTaken(f"username {user['username']!r} is taken", {"username": ["taken"]})
        fields = {"team": None, "manager_id": None, "phone": None, "active": True, **user}
        stored = User(id=max(self.users_by_id, default=0) + 1, **fields)
        self.users_by_id[stored.id] = stored
        return stored

    def update_user(self, user_id: int, **changes: Any) -> User:
        self.users_by_id[user_id] = dataclasses.replace(self.users_by_id[user_id], **changes)
        return self.users_by_id[user_id]

    # --- login attempts

    def count_attempt(self, key: str, now: datetime, window: timedelta) -> tuple[int, datetime]:
        attempts, started = self.attempts.get(key, (0, now))
        if started <= now - window:
            attempts, started = 0, now
        self.attempts[key] = (attempts + 1, started)
        return self.attempts[key]

    def clear_attempts(self, key: str) -> None:
        self.attempts.pop(key, None)

    def take_back_attempt(self, key: str) -> None:
        if key in self.attempts and self.attempts[key][0] > 0:
            attempts, started = self.attempts[key]
            self.attempts[key] = (attempts - 1, started)

    def forget_attempts_before(self, moment: datetime) -> int:
        old = [key for key, (_attempts, started) in self.attempts.items() if started <= moment]
        for key in old:
            del self.attempts[key]
        return len(old)
