"""The accounts use cases without a broker or a database: the in-memory store of
``tests/fakes.py`` (held to the real Store by tests/service/test_accounts_store_contract.py)
and a frozen clock. Phones go through crm_common.phones, as in the service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts import passwords, usecases
from accounts.domain import LoginLimits
from accounts.exceptions import (
    BadCredentials,
    CannotDeactivateSelf,
    TooManyAttempts,
    UnknownManager,
    UsernameTaken,
)
from crm_common.caller import Caller
from crm_common.clock import FrozenClock
from crm_common.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from crm_common.phones import InvalidPhone, normalize_phone
from services.accounts.tests.fakes import FakeStore

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LIMITS = LoginLimits(per_user=3, per_client=5, window=timedelta(minutes=15))
PASSWORD = "secret-pw-1"


def phone(raw: str) -> str:
    try:
        return normalize_phone(raw, "CN")
    except InvalidPhone as exc:
        raise InvalidInput(str(exc), {"phone": [str(exc)]}) from exc


@pytest.fixture
def store():
    store = FakeStore()
    assert usecases.create_first_admin(store, "admin-pw", START)
    return store


@pytest.fixture
def clock():
    return FrozenClock(START)


def admin(store: FakeStore) -> Caller:
    user = store.user_named("admin")
    assert user is not None
    return Caller(user.id, user.username, user.role, user.team)


def new_user(username: str, role: str = "sales", team: str | None = "east", **fields) -> dict:
    return {
        "username": username,
        "password": PASSWORD,
        "display_name": username.title(),
        "role": role,
        "team": team,
        "phone": None,
        "manager": None,
        "escalate_after_minutes": 10,
        **fields,
    }


def create(store, clock, caller, username, **fields) -> dict:
    return usecases.create_user(
        store, caller, new_user(username, **fields), clock=clock, normalise_phone=phone
    )


def login(store, clock, username, password=PASSWORD, client="10.0.0.1") -> dict:
    credentials = {"username": username, "password": password, "client": client}
    return usecases.authenticate(store, credentials, clock=clock, limits=LIMITS)


def test_the_first_admin_is_made_once(store) -> None:
    assert usecases.create_first_admin(store, "another", START) is False
    assert [user.username for user in store.visible_users("all", None)] == ["admin"]


def test_an_admin_builds_a_team_and_user_created_is_published(store, clock) -> None:
    wang = create(store, clock, admin(store), "wang", role="manager")
    lina = create(store, clock, admin(store), "lina", manager="wang", phone="138 0013 8000")

    assert (lina["manager"], lina["manager_id"], lina["phone"]) == ("wang", wang["id"], "+8613800138000")
    assert store.events[-1] == (
        "user_created",
        {key: lina[key] for key in usecases.USER_CREATED_FIELDS},
    )
    assert passwords.password_matches(store.user(lina["id"]).password_hash, PASSWORD)


def test_who_may_create_whom_and_with_which_manager(store, clock) -> None:
    create(store, clock, admin(store), "wang", role="manager")
    wang = Caller(2, "wang", "manager", "east")

    assert create(store, clock, wang, "lina")["team"] == "east"
    with pytest.raises(Forbidden):
        create(store, clock, wang, "chen", team="west")
    with pytest.raises(UnknownManager):
        create(store, clock, admin(store), "zhang", manager="nobody")
    with pytest.raises(InvalidInput):
        create(store, clock, admin(store), "zhao", team="west", manager="wang")
    with pytest.raises(UsernameTaken):
        create(store, clock, admin(store), "lina")
    with pytest.raises(InvalidInput):
        create(store, clock, admin(store), "qian", phone="12")


def test_a_login_answers_with_the_user_and_wrong_ones_are_refused(store, clock) -> None:
    create(store, clock, admin(store), "lina")

    assert login(store, clock, "lina")["username"] == "lina"
    with pytest.raises(BadCredentials):
        login(store, clock, "lina", "wrong-pass")
    with pytest.raises(BadCredentials):
        login(store, clock, "nobody")
    assert store.commits == 3  # every attempt counted before the password is checked


def test_too_many_attempts_lock_the_username_until_the_window_passes(store, clock) -> None:
    create(store, clock, admin(store), "lina")
    for _ in range(3):
        with pytest.raises(BadCredentials):
            login(store, clock, "lina", "wrong-pass")

    with pytest.raises(TooManyAttempts) as refused:
        login(store, clock, "lina")
    assert refused.value.details == {"retry_after": 900}

    clock.advance(minutes=15)
    assert login(store, clock, "lina")["username"] == "lina"
    assert usecases.forget_old_login_attempts(store, clock=clock, limits=LIMITS) == 0


def test_a_good_login_clears_the_username_and_takes_back_the_clients_attempt(store, clock) -> None:
    create(store, clock, admin(store), "lina")
    with pytest.raises(BadCredentials):
        login(store, clock, "lina", "wrong-pass")

    login(store, clock, "lina")

    assert "user:lina" not in store.attempts
    assert store.attempts["client:10.0.0.1"][0] == 1  # the failure still counts for the address


def test_deactivated_users_cannot_log_in_until_reactivated(store, clock) -> None:
    lina = create(store, clock, admin(store), "lina")

    assert usecases.set_active(store, admin(store), lina["id"], False)["active"] is False
    assert usecases.set_active(store, admin(store), lina["id"], False)["active"] is False
    with pytest.raises(BadCredentials):
        login(store, clock, "lina")
    usecases.set_active(store, admin(store), lina["id"], True)

    assert login(store, clock, "lina")["active"] is True
    assert [event for event, _data in store.events[-2:]] == ["user_deactivated", "user_reactivated"]
    assert store.events[-1][1] == {
        "id": lina["id"],
        "username": "lina",
        "role": "sales",
        "team": "east",
        "by": 1,
    }


def test_who_may_deactivate_whom(store, clock) -> None:
    create(store, clock, admin(store), "wang", role="manager")
    chen = create(store, clock, admin(store), "chen", team="west")
    wang = Caller(2, "wang", "manager", "east")

    with pytest.raises(CannotDeactivateSelf):
        usecases.set_active(store, admin(store), 1, False)
    with pytest.raises(NotFound):
        usecases.set_active(store, wang, chen["id"], False)
    with pytest.raises(NotFound):
        usecases.set_active(store, wang, 2**40, False)


def test_listing_reading_and_settings(store, clock) -> None:
    create(store, clock, admin(store), "wang", role="manager")
    lina = create(store, clock, admin(store), "lina", manager="wang")
    create(store, clock, admin(store), "chen", team="west")
    wang = Caller(2, "wang", "manager", "east")
    lina_caller = Caller(lina["id"], "lina", "sales", "east")

    assert [user["username"] for user in usecases.list_users(store, wang)] == ["wang", "lina"]
    assert [user["username"] for user in usecases.list_users(store, lina_caller)] == ["lina"]
    assert usecases.read_user(store, wang, lina["id"])["manager"] == "wang"
    with pytest.raises(NotFound):
        usecases.read_user(store, lina_caller, 2)
    assert sorted(usecases.users_by_id(store, [lina["id"], 999])) == [str(lina["id"])]
    assert [user["username"] for user in usecases.team_members(store, "east")] == ["wang", "lina"]

    changed = usecases.update_settings(
        store, lina_caller, {"escalate_after_minutes": 30, "phone": "13800138000"}, normalise_phone=phone
    )
    assert (changed["escalate_after_minutes"], changed["phone"], changed["manager"]) == (
        30,
        "+8613800138000",
        "wang",
    )
    assert store.events[-1] == (
        "user_settings_changed",
        {"id": lina["id"], "phone": "+8613800138000", "escalate_after_minutes": 30},
    )
    with pytest.raises(Unauthenticated):
        usecases.update_settings(store, Caller(99, "gone", "sales"), {}, normalise_phone=phone)
