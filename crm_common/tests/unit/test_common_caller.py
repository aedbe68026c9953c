import pytest

from crm_common.caller import Caller
from crm_common.errors import Forbidden


def test_identity_survives_the_trip_through_context_data():
    caller = Caller(user_id=7, username="li", role="sales", team="east", display_name="李娜")
    assert Caller.from_context(caller.to_context()) == caller


def test_no_context_means_no_caller():
    assert Caller.from_context({}) is None


@pytest.mark.parametrize(
    ("caller", "owner", "team", "allowed"),
    [
        (Caller(1, "li", "sales", "east"), 1, "east", True),
        (Caller(1, "li", "sales", "east"), 2, "east", False),
        (Caller(3, "wang", "manager", "east"), 2, "east", True),
        (Caller(3, "wang", "manager", "east"), 2, "west", False),
        (Caller(9, "admin", "admin", None), 2, "west", True),
    ],
)
def test_who_reads_a_record_in_full(caller, owner, team, allowed):
    assert caller.can_read(owner, team) is allowed


def test_a_salesperson_lacks_the_manager_role():
    with pytest.raises(Forbidden):
        Caller(1, "li", "sales", "east").require_role("manager", "admin")
