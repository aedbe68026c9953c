"""Accounts: users, roles, teams, phones and per-user settings.

Entrypoints only: validate (:mod:`accounts.schemas`) → one use case (:mod:`accounts.usecases`)
on a :class:`accounts.store.Store` → dump."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from nameko.dependency_providers import Config
from nameko.rpc import rpc
from nameko.timer import timer

from accounts import usecases
from accounts.dependencies import FirstAdmin
from accounts.domain import LoginLimits
from accounts.exceptions import CannotDeactivateSelf, ColleagueNotEligible, UsernameTaken
from accounts.models import Base
from accounts.schemas import (
    CredentialsSchema,
    DeactivateSchema,
    NewUserSchema,
    SettingsSchema,
    UserSchema,
)
from accounts.store import Store
from crm_common.clock import Clock
from crm_common.db import Database
from crm_common.errors import Forbidden, InvalidInput, NotFound, TooManyRequests, Unauthenticated
from crm_common.idempotency import idempotent
from crm_common.identity import CallerIdentity
from crm_common.phones import InvalidPhone, normalize_phone
from crm_common.service import HealthCheck
from crm_common.validation import load

user_schema = UserSchema()


class AccountsService(HealthCheck):
    name = "accounts"

    db = Database(Base.metadata)
    caller = CallerIdentity()
    clock = Clock()
    first_admin = FirstAdmin()
    config = Config()

    @property
    def store(self) -> Store:
        return Store(self.db)

    @rpc(expected_exceptions=(InvalidInput, Unauthenticated, TooManyRequests))
    def authenticate(self, username: str, password: str, client: str | None = None) -> dict:
        """The user for these credentials; BadCredentials if unknown, inactive or wrong;
        TooManyAttempts (``details["retry_after"]``, seconds) when this username or ``client``
        (the caller's address) has tried too often. Unknown users cost one password check too."""
        credentials = load(
            CredentialsSchema(), {"username": username, "password": password, "client": client}
        )
        user = usecases.authenticate(self.store, credentials, clock=self.clock, limits=self._login_limits())
        return user_schema.dump(user)

    @timer(interval=300)
    def forget_old_login_attempts(self) -> None:
        """Counts whose window is over are deleted (usernames that never existed included)."""
        usecases.forget_old_login_attempts(self.store, clock=self.clock, limits=self._login_limits())

    @rpc(expected_exceptions=(Unauthenticated, NotFound))
    def get_user(self, user_id: int) -> dict:
        """One user the caller may see; NotFound otherwise."""
        return user_schema.dump(usecases.read_user(self.store, self.caller.require(), user_id))

    @rpc
    def get_users(self, user_ids: list[int]) -> dict[str, dict]:
        """Names, teams, phones and settings of users by id, for other services (no caller check)."""
        return {
            key: user_schema.dump(user) for key, user in usecases.users_by_id(self.store, user_ids).items()
        }

    @rpc
    def get_team(self, team: str) -> list[dict]:
        """Every active user of ``team``, for other services (no caller check)."""
        return user_schema.dump(usecases.team_members(self.store, team), many=True)

    @rpc(expected_exceptions=(Unauthenticated,))
    def list_users(self) -> list[dict]:
        """The users the caller may see: all (admin), the team (manager), themself (sales)."""
        return user_schema.dump(usecases.list_users(self.store, self.caller.require()), many=True)

    @rpc(expected_exceptions=(Unauthenticated, InvalidInput))
    @idempotent
    def update_settings(self, payload: dict[str, Any]) -> dict:
        """Change the caller's own escalation minutes and/or phone; the updated user.

        Emits ``user_settings_changed``. InvalidInput for a bad phone or minutes out of 1–1440.
        """
        caller = self.caller.require()
        settings = load(SettingsSchema(), payload)
        user = usecases.update_settings(self.store, caller, settings, normalise_phone=self._phone)
        return user_schema.dump(user)

    @rpc(expected_exceptions=(Unauthenticated, Forbidden, InvalidInput, UsernameTaken))
    @idempotent
    def create_user(self, payload: dict[str, Any]) -> dict:
        """Create a user; emits ``user_created``. Forbidden, InvalidInput, UsernameTaken."""
        caller = self.caller.require()
        new = load(NewUserSchema(), payload)
        user = usecases.create_user(self.store, caller, new, clock=self.clock, normalise_phone=self._phone)
        return user_schema.dump(user)

    @rpc(
        expected_exceptions=(
            Unauthenticated,
            Forbidden,
            NotFound,
            InvalidInput,
            CannotDeactivateSelf,
            ColleagueNotEligible,
        )
    )
    @idempotent
    def deactivate_user(self, user_id: int, payload: dict[str, Any] | None = None) -> dict:
        """Deactivate a user (admin; a manager for their team's salespeople): they can no longer
        log in and the gateway refuses their tokens within seconds. ``payload`` says where their
        customers go (:class:`accounts.schemas.DeactivateSchema`: ``hand_over_to`` a colleague of
        the same team, or ``to_pool``; default the team pool). Emits ``user_deactivated`` with
        that choice (not again for a user already inactive). NotFound, Forbidden, InvalidInput
        (UnknownColleague, a bad choice), CannotDeactivateSelf, ColleagueNotEligible."""
        caller = self.caller.require()
        hand_over = load(DeactivateSchema(), payload or {})
        return user_schema.dump(usecases.set_active(self.store, caller, user_id, False, hand_over))

    @rpc(expected_exceptions=(Unauthenticated, Forbidden, NotFound))
    @idempotent
    def reactivate_user(self, user_id: int) -> dict:
        """Make a deactivated user active again (same rights); emits ``user_reactivated``."""
        return user_schema.dump(usecases.set_active(self.store, self.caller.require(), user_id, True))

    def _login_limits(self) -> LoginLimits:
        config = self.config
        return LoginLimits(
            per_user=int(config.get("LOGIN_MAX_FAILURES_PER_USER") or 0),
            per_client=int(config.get("LOGIN_MAX_FAILURES_PER_CLIENT") or 0),
            window=timedelta(seconds=int(config.get("LOGIN_WINDOW_SECONDS") or 900)),
        )

    def _phone(self, raw: str) -> str:
        try:
            return normalize_phone(raw, self.config.get("PHONE_REGION") or "CN")
        except InvalidPhone as exc:
            raise InvalidInput(str(exc), {"phone": [str(exc)]}) from exc
