import pytest

from accounts import domain, passwords
from crm_common.caller import Caller
from crm_common.errors import Forbidden, InvalidInput

ADMIN = Caller(1, "admin", "admin")
MANAGER = Caller(2, "wang", "manager", "east")
SALES = Caller(3, "li", "sales", "east")


@pytest.mark.parametrize(
    ("caller", "role", "team", "allowed"),
    [
        (ADMIN, "manager", "east", True),
        (ADMIN, "admin", None, True),
        (MANAGER, "sales", "east", True),
        (MANAGER, "sales", "west", False),
        (MANAGER, "manager", "east", False),
        (SALES, "sales", "east", False),
    ],
)
def test_who_may_create_whom(caller, role, team, allowed):
    if allowed:
        domain.check_may_create(caller, role, team)
    else:
        with pytest.raises(Forbidden):
            domain.check_may_create(caller, role, team)


def test_a_salesperson_reports_to_a_manager_of_their_team():
    domain.check_manager(domain.ManagerLink(2, "manager", "east"), "east", "sales")
    with pytest.raises(InvalidInput, match="same team"):
        domain.check_manager(domain.ManagerLink(2, "manager", "west"), "east", "sales")
    with pytest.raises(InvalidInput, match="manager role"):
        domain.check_manager(domain.ManagerLink(3, "sales", "east"), "east", "sales")


def test_passwords_are_stored_hashed_and_verified():
    stored = passwords.hash_password("s3cret-pass")
    assert "s3cret-pass" not in stored
    assert passwords.password_matches(stored, "s3cret-pass")
    assert not passwords.password_matches(stored, "wrong-pass")
    assert not passwords.password_matches("not-a-hash", "s3cret-pass")


def test_what_each_role_may_list():
    assert domain.visible_scope(ADMIN) == ("all", None)
    assert domain.visible_scope(MANAGER) == ("team", "east")
    assert domain.visible_scope(SALES) == ("self", 3)
