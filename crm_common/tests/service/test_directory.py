"""The shared accounts client and the shared accounts stand-in.

The stand-in (tests/support/fake_accounts.py) is checked against the real accounts service: the
same users, the same questions, the same answers — so the other services' tests, which run on
the stand-in, test against what accounts really says.
"""

import pytest
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy

from accounts.exceptions import BadCredentials
from accounts.service import AccountsService
from crm_common.caller import Caller
from crm_common.directory import Directory, People
from crm_common.errors import ServiceUnavailable
from tests.support.callers import as_caller
from tests.support.fake_accounts import FakeAccounts

PASSWORD = "contract-pw-1"
NEW_USERS = [
    {"username": "wang", "display_name": "王经理", "role": "manager", "team": "east", "phone": "13800138000"},
    {"username": "lina", "display_name": "李娜", "role": "sales", "team": "east", "manager": "wang"},
    {"username": "zhang", "display_name": "张伟", "role": "sales", "team": "east", "manager": "wang"},
    {"username": "chen", "display_name": "陈静", "role": "sales", "team": "west"},
]


@pytest.fixture
def real_users(container_factory, service_config, migrated, monkeypatch):
    """The real accounts service with NEW_USERS created (zhang then deactivated): its container
    and the users (the admin's too) as get_users returns them."""
    monkeypatch.setenv("CRM_ADMIN_PASSWORD", PASSWORD)
    migrated("accounts")
    container = container_factory(AccountsService, service_config)
    container.start()
    admin = as_caller(1, "admin", username="admin")
    with ServiceRpcProxy("accounts", service_config, context_data=admin) as accounts:
        created = [accounts.create_user({**user, "password": PASSWORD}) for user in NEW_USERS]
        zhang = next(user for user in created if user["username"] == "zhang")
        accounts.deactivate_user(zhang["id"])
        ids = [1] + [user["id"] for user in created]
        users = {int(key): user for key, user in accounts.get_users(ids).items()}
    return container, users


def questions(config, users):
    """Every question the other services ask accounts, and the answers, in order."""
    by_name = {user["username"]: user for user in users.values()}
    answers = []
    with ServiceRpcProxy("accounts", config) as accounts:
        ids = sorted(users) + [9999]
        answers.append(accounts.get_users(ids))
        answers.append(accounts.get_users([]))
        for team in ("east", "west", "nobody"):
            answers.append(accounts.get_team(team))
        answers.append(accounts.authenticate("lina", PASSWORD))
        for username, password in (("lina", "wrong"), ("zhang", PASSWORD), ("ghost", PASSWORD)):
            with pytest.raises(BadCredentials) as refused:
                accounts.authenticate(username, password)
            answers.append(refused.value.args[0] if refused.value.args else str(refused.value))
    for username in ("admin", "wang", "lina"):
        user = by_name[username]
        caller = as_caller(user["id"], user["role"], user["team"], username)
        with ServiceRpcProxy("accounts", config, context_data=caller) as accounts:
            answers.append(accounts.list_users())
    return answers


def test_the_stand_in_answers_as_accounts_does(real_users, service_config, container_factory, rabbit_config):
    container, users = real_users
    real = questions(service_config, users)
    container.stop()  # the stand-in takes over the same vhost
    FakeAccounts.use(users, password=PASSWORD)
    fake_config = {"AMQP_URI": rabbit_config["AMQP_URI"]}
    container_factory(FakeAccounts, fake_config).start()
    assert questions(fake_config, FakeAccounts.users) == real


class CountingAccounts:
    """accounts as People sees it, counting calls; ``down`` makes it not answer."""

    def __init__(self, users):
        self.users = users
        self.calls = 0
        self.down = False

    def get_users(self, user_ids):
        self.calls += 1
        if self.down:
            raise ServiceUnavailable("accounts is not running")
        return {str(uid): self.users[uid] for uid in user_ids if uid in self.users}

    def get_team(self, team):
        self.calls += 1
        if self.down:
            raise ServiceUnavailable("accounts is not running")
        return [user for user in self.users.values() if user["team"] == team]


USERS = {
    11: {"id": 11, "username": "lina", "display_name": "李娜", "role": "sales", "team": "east"},
    12: {"id": 12, "username": "zhang", "display_name": "张伟", "role": "sales", "team": "east"},
}


def people(accounts, now):
    return People(accounts, {}, ttl=60, clock=lambda: now[0])


def test_people_caches_users_for_the_ttl_then_asks_again():
    accounts, now = CountingAccounts(USERS), [0.0]
    directory = people(accounts, now)
    assert directory.users([11, 12, None]) == {11: USERS[11], 12: USERS[12]}
    assert directory.user(11) == USERS[11] and accounts.calls == 1
    now[0] = 61
    assert directory.user(12) == USERS[12] and accounts.calls == 2


def test_when_accounts_is_down_what_each_method_does():
    accounts, now = CountingAccounts(USERS), [0.0]
    directory = people(accounts, now)
    directory.users([11])
    accounts.down = True
    assert directory.user(11) == USERS[11]  # cached
    with pytest.raises(ServiceUnavailable):
        directory.users([12])
    with pytest.raises(ServiceUnavailable):
        directory.team("east")
    assert directory.try_users([12]) is None
    assert directory.try_team("east") is None
    assert directory.display_names([11, 12]) == {11: "李娜"}
    assert directory.display_name(12, "zhang") == "zhang"
    assert directory.name_of(Caller(12, "zhang", "sales", "east")) == "zhang"
    assert directory.name_of(Caller(12, "zhang", "sales", "east", display_name="张伟")) == "张伟"


class UsesDirectory:
    name = "uses_directory"
    people = Directory(timeout_seconds=2)

    @rpc
    def names(self, user_ids):
        return self.people.display_names(user_ids)

    @rpc
    def team(self, team):
        return [user["username"] for user in self.people.team(team)]


def test_directory_injects_people_over_rpc(container_factory, rabbit_config):
    FakeAccounts.use(USERS.values())
    config = {"AMQP_URI": rabbit_config["AMQP_URI"]}
    container_factory(FakeAccounts, config).start()
    container_factory(UsesDirectory, config).start()
    with ServiceRpcProxy("uses_directory", config) as service:
        assert service.names([11, 12, 99]) == {"11": "李娜", "12": "张伟"}
        assert service.team("east") == ["lina", "zhang"]
