"""The fake store of the use-case tests (``tests/fakes.py``) and the real :class:`Store` on a real
database (SQLite, and PostgreSQL where CRM_TEST_DB_URL is set) answer the same checks alike, so
the fast tests cannot drift from what production runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from accounts.exceptions import UsernameTaken
from accounts.models import Base
from accounts.store import Store
from crm_common.db import UnitOfWork
from services.accounts.tests.fakes import FakeStore

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


@pytest.fixture(params=["fake", "real"])
def store(request, migrated):
    if request.param == "fake":
        yield FakeStore()
        return
    engine = create_engine(migrated("accounts"))
    uow = UnitOfWork(
        sessionmaker(bind=engine, expire_on_commit=False, info={"metadata": Base.metadata}), "accounts"
    )
    yield Store(uow)
    uow.rollback()
    uow.close()
    engine.dispose()


def fields(username: str, team: str | None = "east", role: str = "sales", **more) -> dict:
    return {
        "username": username,
        "display_name": username.title(),
        "role": role,
        "team": team,
        "password_hash": "hash-of-" + username,
        "escalate_after_minutes": 10,
        "created_at": NOW,
        **more,
    }


def test_users_are_kept_as_given_and_usernames_are_unique(store) -> None:
    assert store.has_users() is False
    wang = store.add_user(fields("wang", role="manager"))
    lina = store.add_user(fields("lina", manager_id=wang.id, phone="+8613800138000"))

    assert store.has_users() is True
    assert store.user(lina.id) == lina == store.user_named("lina")
    assert (lina.manager_id, lina.phone, lina.active, lina.created_at) == (
        wang.id,
        "+8613800138000",
        True,
        NOW,
    )
    assert store.user(4242) is None and store.user(2**40) is None and store.user_named("nobody") is None
    with pytest.raises(UsernameTaken):
        store.add_user(fields("lina"))


def test_listings_by_id_team_and_scope(store) -> None:
    wang = store.add_user(fields("wang", role="manager"))
    lina = store.add_user(fields("lina"))
    chen = store.add_user(fields("chen", team="west"))
    store.update_user(lina.id, active=False)

    assert sorted(user.username for user in store.users([lina.id, chen.id, 999])) == ["chen", "lina"]
    assert [user.username for user in store.team_members("east")] == ["wang"]
    assert [user.id for user in store.visible_users("all", None)] == [wang.id, lina.id, chen.id]
    assert [user.id for user in store.visible_users("team", "east")] == [wang.id, lina.id]
    assert [user.id for user in store.visible_users("self", chen.id)] == [chen.id]


def test_settings_change_only_what_is_given(store) -> None:
    lina = store.add_user(fields("lina"))

    changed = store.update_user(lina.id, phone="+8613800138000", escalate_after_minutes=30)

    assert (changed.phone, changed.escalate_after_minutes, changed.username) == ("+8613800138000", 30, "lina")
    assert store.user(lina.id) == changed


def test_login_attempts_count_per_window_and_are_forgotten_after_it(store) -> None:
    assert store.count_attempt("user:lina", NOW, WINDOW) == (1, NOW)
    assert store.count_attempt("user:lina", NOW + timedelta(minutes=1), WINDOW) == (2, NOW)
    later = NOW + WINDOW
    assert store.count_attempt("user:lina", later, WINDOW) == (1, later)  # a new window

    store.count_attempt("client:10.0.0.1", NOW, WINDOW)
    store.count_attempt("client:10.0.0.1", NOW, WINDOW)
    store.take_back_attempt("client:10.0.0.1")
    assert store.count_attempt("client:10.0.0.1", NOW, WINDOW) == (2, NOW)

    store.clear_attempts("user:lina")
    assert store.count_attempt("user:lina", later, WINDOW) == (1, later)
    assert store.forget_attempts_before(NOW) == 1  # the client's window started at NOW
    assert store.count_attempt("client:10.0.0.1", later, WINDOW) == (1, later)
