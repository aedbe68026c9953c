"""The accounts service in a real container, over a real RabbitMQ vhost and a real database."""

import pytest
from nameko.events import event_handler
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter

from accounts.exceptions import BadCredentials, UsernameTaken
from accounts.service import AccountsService
from crm_common.errors import Forbidden, InvalidInput, Unauthenticated
from tests.support.callers import as_caller


class UserListener:
    name = "listener"
    seen: list = []

    @event_handler("accounts", "user_created")
    def on_user_created(self, event):
        UserListener.seen.append(event)


@pytest.fixture
def accounts(container_factory, service_config, migrated, monkeypatch):
    monkeypatch.setenv("CRM_ADMIN_PASSWORD", "first-admin-pw")
    migrated("accounts")
    container = container_factory(AccountsService, service_config)
    container.start()
    return container


def rpc(config, caller=None):
    return ServiceRpcProxy("accounts", config, context_data=caller or {})


def test_first_start_creates_the_admin_with_the_configured_password(accounts, service_config):
    with rpc(service_config) as proxy:
        admin = proxy.authenticate("admin", "first-admin-pw")
    assert admin["role"] == "admin"
    assert "password_hash" not in admin


def test_wrong_password_is_refused(accounts, service_config):
    with rpc(service_config) as proxy, pytest.raises(BadCredentials):
        proxy.authenticate("admin", "not-it")


def test_admin_builds_a_team_and_user_created_is_published(accounts, service_config, container_factory):
    UserListener.seen = []
    listener = container_factory(UserListener, service_config)
    listener.start()
    admin = as_caller(1, "admin")
    with rpc(service_config, admin) as proxy:
        manager = proxy.create_user(
            {
                "username": "wang",
                "password": "password1",
                "display_name": "王经理",
                "role": "manager",
                "team": "east",
                "phone": "138 0013 8000",
            }
        )

        def is_lis_event(worker_ctx, result, exc_info):
            return worker_ctx.args[0]["data"]["username"] == "li"

        with entrypoint_waiter(listener, "on_user_created", timeout=10, callback=is_lis_event):
            sales = proxy.create_user(
                {
                    "username": "li",
                    "password": "password2",
                    "display_name": "李娜",
                    "team": "east",
                    "manager": "wang",
                    "phone": "+86 139-0013-9000 ext. 12",
                }
            )
    assert manager["phone"] == "+8613800138000"
    assert sales["phone"] == "+8613900139000"
    assert sales["manager"] == "wang" and sales["escalate_after_minutes"] == 10
    names = [event["data"]["username"] for event in UserListener.seen]
    assert "li" in names
    event = next(e for e in UserListener.seen if e["data"]["username"] == "li")
    assert event["version"] == 1 and event["event_id"] and event["occurred_at"]


def test_a_manager_sees_the_team_and_a_salesperson_only_themself(accounts, service_config):
    with rpc(service_config, as_caller(1, "admin")) as proxy:
        wang = proxy.create_user(
            {
                "username": "wang",
                "password": "password1",
                "display_name": "王",
                "role": "manager",
                "team": "east",
            }
        )
        li = proxy.create_user(
            {
                "username": "li",
                "password": "password2",
                "display_name": "李",
                "team": "east",
                "manager": "wang",
            }
        )
        proxy.create_user({"username": "zhao", "password": "password3", "display_name": "赵", "team": "west"})
    with rpc(service_config, as_caller(wang["id"], "manager", "east")) as proxy:
        assert sorted(u["username"] for u in proxy.list_users()) == ["li", "wang"]
    with rpc(service_config, as_caller(li["id"], "sales", "east")) as proxy:
        assert [u["username"] for u in proxy.list_users()] == ["li"]


def test_a_salesperson_may_not_create_users(accounts, service_config):
    with rpc(service_config, as_caller(5, "sales", "east")) as proxy, pytest.raises(Forbidden):
        proxy.create_user({"username": "x1", "password": "password1", "display_name": "X", "team": "east"})


def test_anonymous_calls_are_refused(accounts, service_config):
    with rpc(service_config) as proxy, pytest.raises(Unauthenticated):
        proxy.list_users()


def test_an_invalid_phone_is_a_field_error(accounts, service_config):
    with rpc(service_config, as_caller(1, "admin")) as proxy, pytest.raises(InvalidInput) as error:
        proxy.create_user(
            {"username": "zhou", "password": "password1", "display_name": "周", "phone": "12345"}
        )
    assert "phone" in error.value.details


def test_a_taken_username_is_a_conflict(accounts, service_config):
    user = {"username": "chen", "password": "password1", "display_name": "陈"}
    with rpc(service_config, as_caller(1, "admin")) as proxy:
        proxy.create_user(user)
        with pytest.raises(UsernameTaken):
            proxy.create_user(user)


def test_a_user_changes_their_own_escalation_minutes_and_phone(accounts, service_config):
    with rpc(service_config, as_caller(1, "admin")) as proxy:
        li = proxy.create_user({"username": "li", "password": "password2", "display_name": "李"})
    with rpc(service_config, as_caller(li["id"], "sales")) as proxy:
        updated = proxy.update_settings({"escalate_after_minutes": 3, "phone": "139 0013 9000"})
        assert updated["escalate_after_minutes"] == 3 and updated["phone"] == "+8613900139000"
        with pytest.raises(InvalidInput):
            proxy.update_settings({"escalate_after_minutes": 0})
    with rpc(service_config) as proxy:
        assert proxy.get_users([li["id"]])[str(li["id"])]["escalate_after_minutes"] == 3
