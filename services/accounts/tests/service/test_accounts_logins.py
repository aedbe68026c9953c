"""Logins and offboarding in the real accounts service: attempts are limited per username and per
client (in the database, so every instance shares them), unknown users cost one password check
like known ones, and a deactivated user is told apart from an active one."""

from datetime import UTC, datetime

import pytest
from nameko.events import event_handler
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter

from accounts import passwords
from accounts.exceptions import (
    BadCredentials,
    CannotDeactivateSelf,
    ColleagueNotEligible,
    TooManyAttempts,
    UnknownColleague,
)
from accounts.service import AccountsService
from crm_common.clock import Clock, FrozenClock
from crm_common.errors import Forbidden, InvalidInput, NotFound
from tests.support.callers import as_caller

START = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
LIMITS = {"LOGIN_MAX_FAILURES_PER_USER": 3, "LOGIN_MAX_FAILURES_PER_CLIENT": 5, "LOGIN_WINDOW_SECONDS": 600}


class OffboardingListener:
    name = "offboarding_listener"
    seen: list = []

    @event_handler("accounts", "user_deactivated")
    def on_deactivated(self, event):
        OffboardingListener.seen.append(event)

    @event_handler("accounts", "user_reactivated")
    def on_reactivated(self, event):
        OffboardingListener.seen.append(event)


@pytest.fixture
def clock():
    return FrozenClock(START)


@pytest.fixture
def accounts(container_factory, service_config, migrated, monkeypatch, clock):
    monkeypatch.setenv("CRM_ADMIN_PASSWORD", "first-admin-pw")
    migrated("accounts")

    class AccountsOnFrozenClock(AccountsService):
        pass

    AccountsOnFrozenClock.clock = Clock(clock)
    container = container_factory(AccountsOnFrozenClock, {**service_config, **LIMITS})
    container.start()
    return container


def rpc(config, caller=None):
    return ServiceRpcProxy("accounts", config, context_data=caller or {})


def create(service_config, username, role="sales", team="east", caller=None):
    with rpc(service_config, caller or as_caller(1, "admin")) as proxy:
        return proxy.create_user(
            {
                "username": username,
                "password": "password-" + username,
                "display_name": username,
                "role": role,
                "team": team,
            }
        )


def test_wrong_passwords_lock_the_username_until_the_window_passes(accounts, service_config, clock):
    create(service_config, "lina")
    with rpc(service_config) as proxy:
        for _ in range(3):
            with pytest.raises(BadCredentials):
                proxy.authenticate("lina", "guess", "10.0.0.1")
        with pytest.raises(TooManyAttempts) as locked:
            proxy.authenticate("lina", "password-lina", "10.0.0.2")  # even the right one, from elsewhere
        assert 0 < locked.value.details["retry_after"] <= 600
        clock.advance(seconds=601)
        assert proxy.authenticate("lina", "password-lina", "10.0.0.2")["username"] == "lina"


def test_a_successful_login_clears_the_username_count(accounts, service_config):
    create(service_config, "lina")
    with rpc(service_config) as proxy:
        for _ in range(2):
            with pytest.raises(BadCredentials):
                proxy.authenticate("lina", "guess", "10.0.0.1")
        proxy.authenticate("lina", "password-lina", "10.0.0.1")
        for _ in range(2):
            with pytest.raises(BadCredentials):
                proxy.authenticate("lina", "guess", "10.0.0.1")
        assert proxy.authenticate("lina", "password-lina", "10.0.0.1")["username"] == "lina"


def test_one_client_guessing_many_usernames_is_limited(accounts, service_config):
    with rpc(service_config) as proxy:
        for name in ("a1", "a2", "a3", "a4", "a5"):
            with pytest.raises(BadCredentials):
                proxy.authenticate(name, "guess", "10.9.9.9")
        with pytest.raises(TooManyAttempts):
            proxy.authenticate("a6", "guess", "10.9.9.9")
        with pytest.raises(BadCredentials):
            proxy.authenticate("a6", "guess", "10.0.0.1")  # another client is not affected


def test_the_successful_logins_of_a_shared_office_address_are_not_counted(accounts, service_config):
    for n in range(8):
        create(service_config, f"sales{n}")
    with rpc(service_config) as proxy:
        for n in range(8):
            assert (
                proxy.authenticate(f"sales{n}", f"password-sales{n}", "10.1.1.1")["username"] == f"sales{n}"
            )


def test_unknown_and_inactive_users_cost_one_password_check_like_known_ones(
    accounts, service_config, monkeypatch
):
    lina = create(service_config, "lina")
    with rpc(service_config, as_caller(1, "admin")) as proxy:
        proxy.deactivate_user(create(service_config, "gone")["id"])
    checks = []
    real_verify = passwords.PasswordHasher.verify

    def counting_verify(self, hashed, password):
        checks.append(hashed)
        return real_verify(self, hashed, password)

    monkeypatch.setattr(passwords.PasswordHasher, "verify", counting_verify)
    with rpc(service_config) as proxy:
        for username in ("lina", "nobody", "gone"):
            with pytest.raises(BadCredentials):
                proxy.authenticate(username, "wrong-password", "10.0.0.1")
    assert len(checks) == 3
    assert checks[0] != checks[1]  # the unknown user was checked against a stand-in hash of the same cost
    assert passwords.PasswordHasher().check_needs_rehash(checks[1]) is False
    assert lina["active"] is True


def test_an_admin_deactivates_and_reactivates_a_user_with_events(accounts, service_config, container_factory):
    OffboardingListener.seen = []
    listener = container_factory(OffboardingListener, service_config)
    listener.start()
    lina = create(service_config, "lina")
    with rpc(service_config, as_caller(1, "admin")) as proxy:
        with entrypoint_waiter(listener, "on_deactivated", timeout=10):
            gone = proxy.deactivate_user(lina["id"])
        assert gone["active"] is False
        with rpc(service_config) as anonymous, pytest.raises(BadCredentials):
            anonymous.authenticate("lina", "password-lina", "10.0.0.1")
        assert proxy.get_users([lina["id"]])[str(lina["id"])]["active"] is False
        with entrypoint_waiter(listener, "on_reactivated", timeout=10):
            back = proxy.reactivate_user(lina["id"])
        assert back["active"] is True
    assert [(e["event_type"], e["data"]["id"], e["data"]["by"]) for e in OffboardingListener.seen] == [
        ("user_deactivated", lina["id"], 1),
        ("user_reactivated", lina["id"], 1),
    ]


def test_who_may_deactivate_whom(accounts, service_config):
    wang = create(service_config, "wang", role="manager")
    lina = create(service_config, "lina")
    zhao = create(service_config, "zhao", team="west")
    with rpc(service_config, as_caller(wang["id"], "manager", "east")) as proxy:
        assert proxy.deactivate_user(lina["id"])["active"] is False
        with pytest.raises(NotFound):  # another team's user is not even visible to a manager
            proxy.deactivate_user(zhao["id"])
        with pytest.raises(CannotDeactivateSelf):
            proxy.deactivate_user(wang["id"])
    with rpc(service_config, as_caller(lina["id"], "sales", "east")) as proxy, pytest.raises(Forbidden):
        proxy.reactivate_user(lina["id"])
    with rpc(service_config, as_caller(1, "admin")) as proxy, pytest.raises(NotFound):
        proxy.deactivate_user(99999)


def test_a_manager_hands_a_leavers_customers_to_a_colleague_of_the_team(
    accounts, service_config, container_factory
):
    OffboardingListener.seen = []
    listener = container_factory(OffboardingListener, service_config)
    listener.start()
    wang = create(service_config, "wang", role="manager")
    lina, zhou, zhao = (
        create(service_config, "lina"),
        create(service_config, "zhou"),
        create(service_config, "zhao", team="west"),
    )
    with rpc(service_config, as_caller(wang["id"], "manager", "east")) as proxy:
        with pytest.raises(ColleagueNotEligible) as other_team:
            proxy.deactivate_user(lina["id"], {"hand_over_to": zhao["id"]})
        with pytest.raises(InvalidInput):
            proxy.deactivate_user(lina["id"], {"hand_over_to": zhou["id"], "to_pool": True})
        with pytest.raises(UnknownColleague):
            proxy.deactivate_user(lina["id"], {"hand_over_to": 99999})
        with entrypoint_waiter(listener, "on_deactivated", timeout=10):
            assert proxy.deactivate_user(lina["id"], {"hand_over_to": zhou["id"]})["active"] is False

    assert other_team.value.details["reason"] == "other_team"
    [event] = OffboardingListener.seen
    assert {
        key: event["data"][key] for key in ("id", "by", "hand_over_to", "hand_over_to_name", "to_pool")
    } == {
        "id": lina["id"],
        "by": wang["id"],
        "hand_over_to": zhou["id"],
        "hand_over_to_name": "zhou",
        "to_pool": False,
    }
