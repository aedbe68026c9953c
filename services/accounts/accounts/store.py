"""All of the accounts service's SQL, behind one :class:`Store` per worker: users, and the
login-attempt counters shared by every instance (one upsert per key). It gives
:class:`accounts.domain.User` objects; use cases never see a row."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, case, delete, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from accounts.constants import MAX_ID
from accounts.domain import User
from accounts.exceptions import UsernameTaken
from accounts.models import LoginAttempt
from accounts.models import User as UserRow
from crm_common.db import UnitOfWork
from crm_common.timestamps import UtcDateTime

ATTEMPTS = cast(Table, LoginAttempt.__table__)


class Store:
    """The accounts tables through one unit of work (its session and its outbox)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.session = uow.session

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        """Record an event in this transaction (published only if it commits)."""
        self.uow.emit(event_type, data)

    def commit(self) -> None:
        """Commit now (what is written so far counts, whatever follows)."""
        self.session.commit()

    # --- users

    def has_users(self) -> bool:
        return self.session.scalar(select(UserRow.id).limit(1)) is not None

    def user(self, user_id: int) -> User | None:
        row = (
            self.session.get(UserRow, user_id) if isinstance(user_id, int) and 0 < user_id <= MAX_ID else None
        )
        return user_of(row) if row else None

    def user_named(self, username: str) -> User | None:
        row = self.session.scalar(select(UserRow).where(UserRow.username == username))
        return user_of(row) if row else None

    def users(self, user_ids: list[int]) -> list[User]:
        return [user_of(row) for row in self.session.scalars(select(UserRow).where(UserRow.id.in_(user_ids)))]

    def team_members(self, team: str) -> list[User]:
        """Every active user of ``team``, by id."""
        query = select(UserRow).where(UserRow.team == team, UserRow.active.is_(True)).order_by(UserRow.id)
        return [user_of(row) for row in self.session.scalars(query)]

    def visible_users(self, scope: str, value: object) -> list[User]:
        """The users of :func:`accounts.domain.visible_scope`'s answer, by id."""
        query = select(UserRow).order_by(UserRow.id)
        if scope == "team":
            query = query.where(UserRow.team == value)
        elif scope == "self":
            query = query.where(UserRow.id == value)
        return [user_of(row) for row in self.session.scalars(query)]

    def add_user(self, user: dict[str, Any]) -> User:
        """Store a new user (``user``: :class:`accounts.domain.User`'s fields but ``id``);
        UsernameTaken if the username is."""
        row = UserRow(**user)
        self.session.add(row)
        try:
            self.session.flush()
        except IntegrityError as exc:
            raise UsernameTaken(f"username {user['username']!r} is taken", {"username": ["taken"]}) from exc
        return user_of(row)

    def update_user(self, user_id: int, **changes: Any) -> User:
        """Change some of a user's fields (phone, escalate_after_minutes, active)."""
        row = self.session.get(UserRow, user_id)
        assert row is not None, f"no user {user_id}"
        for name, value in changes.items():
            setattr(row, name, value)
        return user_of(row)

    # --- login attempts

    def count_attempt(self, key: str, now: datetime, window: timedelta) -> tuple[int, datetime]:
        """Add one attempt for ``key`` (a new window if the last one is over): (attempts, window start)."""
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        expired = ATTEMPTS.c.window_started_at <= now - window
        statement = (
            insert(ATTEMPTS)
            .values(key=key, attempts=1, window_started_at=now)
            .on_conflict_do_update(
                index_elements=[ATTEMPTS.c.key],
                set_={
                    "attempts": case((expired, 1), else_=ATTEMPTS.c.attempts + 1),
                    "window_started_at": case(
                        (expired, literal(now, UtcDateTime())), else_=ATTEMPTS.c.window_started_at
                    ),
                },
            )
            .returning(ATTEMPTS.c.attempts, ATTEMPTS.c.window_started_at)
        )
        attempts, started = self.session.execute(statement).one()
        return attempts, started

    def clear_attempts(self, key: str) -> None:
        self.session.execute(delete(ATTEMPTS).where(ATTEMPTS.c.key == key))

    def take_back_attempt(self, key: str) -> None:
        self.session.execute(
            update(ATTEMPTS)
            .where(ATTEMPTS.c.key == key, ATTEMPTS.c.attempts > 0)
            .values(attempts=ATTEMPTS.c.attempts - 1)
        )

    def forget_attempts_before(self, moment: datetime) -> int:
        """Delete the counters whose window started at or before ``moment``; how many."""
        result: Any = self.session.execute(delete(ATTEMPTS).where(ATTEMPTS.c.window_started_at <= moment))
        return int(result.rowcount)


def user_of(row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=row.role,
        team=row.team,
        manager_id=row.manager_id,
        phone=row.phone,
        escalate_after_minutes=row.escalate_after_minutes,
        active=row.active,
        created_at=row.created_at,
        password_hash=row.password_hash,
    )
