"""Accounts: users, roles, teams, phones and per-user settings."""

from __future__ import annotations

import logging
import os
from typing import Any

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accounts import domain
from accounts.exceptions import BadCredentials, UnknownManager, UsernameTaken
from accounts.models import Base, User
from accounts.schemas import CredentialsSchema, NewUserSchema, SettingsSchema, UserSchema
from crm_common.clock import Clock, utcnow
from crm_common.db import Database
from crm_common.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from crm_common.identity import CallerIdentity
from crm_common.phones import InvalidPhone, normalize_phone
from crm_common.service import HealthCheck
from crm_common.validation import load

log = logging.getLogger(__name__)

user_schema = UserSchema()


def _dump(user: User, manager_username: str | None = None) -> dict:
    data = user_schema.dump(user)
    data["manager"] = manager_username
    return data


class FirstAdmin(DependencyProvider):
    """On start with no users, creates ``admin`` with the password in CRM_ADMIN_PASSWORD."""

    def start(self) -> None:
        database = next(d for d in self.container.extensions if isinstance(d, Database))
        password = os.environ.get("CRM_ADMIN_PASSWORD") or "admin"
        with Session(database.engine) as session:
            if session.scalar(select(User.id).limit(1)) is not None:
                return
            session.add(
                User(
                    username=domain.FIRST_ADMIN_USERNAME,
                    display_name="Administrator",
                    role="admin",
                    password_hash=domain.hash_password(password),
                    escalate_after_minutes=domain.DEFAULT_ESCALATE_AFTER_MINUTES,
                    created_at=utcnow(),
                )
            )
            try:
                session.commit()
            except IntegrityError:  # another instance created it first
                return
        shown = password if "CRM_ADMIN_PASSWORD" not in os.environ else "(from CRM_ADMIN_PASSWORD)"
        print(f"accounts: created the first user: admin / {shown} — change it for production", flush=True)


class AccountsService(HealthCheck):
    name = "accounts"

    db = Database(Base.metadata)
    caller = CallerIdentity()
    clock = Clock()
    first_admin = FirstAdmin()
    config = Config()

    @rpc(expected_exceptions=(InvalidInput, Unauthenticated))
    def authenticate(self, username: str, password: str) -> dict:
        """The user for these credentials; BadCredentials if unknown, inactive or wrong."""
        credentials = load(CredentialsSchema(), {"username": username, "password": password})
        user = self.db.session.scalar(select(User).where(User.username == credentials["username"]))
        if user is None or not user.active or not domain.password_matches(user.password_hash, password):
            raise BadCredentials("wrong username or password")
        return self._with_manager(user)

    @rpc(expected_exceptions=(Unauthenticated, NotFound))
    def get_user(self, user_id: int) -> dict:
        """One user the caller may see; NotFound otherwise."""
        caller = self.caller.require()
        user = self.db.session.get(User, user_id)
        if user is None or not (user.id == caller.user_id or caller.manages(user.team)):
            raise NotFound(f"no user {user_id}")
        return self._with_manager(user)

    @rpc
    def get_users(self, user_ids: list[int]) -> dict[str, dict]:
        """Names, teams, phones and settings of users by id, for other services (no caller check)."""
        users = self.db.session.scalars(select(User).where(User.id.in_(user_ids))).all()
        return {str(user.id): _dump(user) for user in users}

    @rpc
    def get_team(self, team: str) -> list[dict]:
        """Every active user of ``team``, for other services (no caller check)."""
        users = self.db.session.scalars(
            select(User).where(User.team == team, User.active.is_(True)).order_by(User.id)
        ).all()
        return [_dump(user) for user in users]

    @rpc(expected_exceptions=(Unauthenticated,))
    def list_users(self) -> list[dict]:
        """The users the caller may see: all (admin), the team (manager), themself (sales)."""
        scope, value = domain.visible_scope(self.caller.require())
        query = select(User).order_by(User.id)
        if scope == "team":
            query = query.where(User.team == value)
        elif scope == "self":
            query = query.where(User.id == value)
        users = self.db.session.scalars(query).all()
        usernames = {user.id: user.username for user in users}
        return [_dump(user, usernames.get(user.manager_id) if user.manager_id else None) for user in users]

    @rpc(expected_exceptions=(Unauthenticated, InvalidInput))
    def update_settings(self, payload: dict[str, Any]) -> dict:
        """Change the caller's own escalation minutes and/or phone; the updated user.

        Emits ``user_settings_changed``. InvalidInput for a bad phone or minutes out of 1–1440.
        """
        caller = self.caller.require()
        settings = load(SettingsSchema(), payload)
        user = self.db.session.get(User, caller.user_id)
        if user is None:
            raise Unauthenticated("the user of this token no longer exists")
        if "escalate_after_minutes" in settings:
            user.escalate_after_minutes = settings["escalate_after_minutes"]
        if "phone" in settings:
            user.phone = self._phone(settings["phone"]) if settings["phone"] else None
        self.db.emit(
            "user_settings_changed",
            {"id": user.id, "phone": user.phone, "escalate_after_minutes": user.escalate_after_minutes},
        )
        return self._with_manager(user)

    @rpc(expected_exceptions=(Unauthenticated, Forbidden, InvalidInput, UsernameTaken))
    def create_user(self, payload: dict[str, Any]) -> dict:
        """Create a user; emits ``user_created``. Forbidden, InvalidInput, UsernameTaken."""
        caller = self.caller.require()
        new = load(NewUserSchema(), payload)
        domain.check_may_create(caller, new["role"], new["team"])
        phone = self._phone(new["phone"]) if new["phone"] else None
        manager = self._manager_named(new["manager"])
        domain.check_manager(
            domain.ManagerLink(manager.id, manager.role, manager.team) if manager else None,
            new["team"],
            new["role"],
        )
        user = User(
            username=new["username"],
            display_name=new["display_name"],
            role=new["role"],
            team=new["team"],
            manager_id=manager.id if manager else None,
            phone=phone,
            escalate_after_minutes=new["escalate_after_minutes"],
            password_hash=domain.hash_password(new["password"]),
            active=True,
            created_at=self.clock.now(),
        )
        session = self.db.session
        session.add(user)
        try:
            session.flush()
        except IntegrityError as exc:
            raise UsernameTaken(f"username {new['username']!r} is taken", {"username": ["taken"]}) from exc
        created = _dump(user, manager.username if manager else None)
        self.db.emit("user_created", {key: created[key] for key in _EVENT_FIELDS})
        return created

    def _phone(self, raw: str) -> str:
        try:
            return normalize_phone(raw, self.config.get("PHONE_REGION") or "CN")
        except InvalidPhone as exc:
            raise InvalidInput(str(exc), {"phone": [str(exc)]}) from exc

    def _manager_named(self, username: str | None) -> User | None:
        if not username:
            return None
        manager = self.db.session.scalar(select(User).where(User.username == username))
        if manager is None:
            raise UnknownManager(f"no user named {username!r}", {"manager": ["no such user"]})
        return manager

    def _with_manager(self, user: User) -> dict:
        manager = self.db.session.get(User, user.manager_id) if user.manager_id else None
        return _dump(user, manager.username if manager else None)


_EVENT_FIELDS = (
    "id",
    "username",
    "display_name",
    "role",
    "team",
    "manager_id",
    "phone",
    "escalate_after_minutes",
)
