"""A manager hands a customer to another salesperson of the team (someone left, a reorganisation)."""

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from crm_common.errors import Conflict, Forbidden, InvalidInput


@pytest.fixture
def linas_customer(as_user, users, new_customer):
    with as_user(users.lina) as service:
        return service.create_customer(new_customer("金顺五金商行"))


def test_the_teams_manager_hands_a_customer_to_a_colleague(as_user, users, linas_customer, events):
    with as_user(users.wang) as service:
        handed = service.transfer_customer(
            linas_customer["id"], {"owner_id": users.zhang["id"], "reason": "李娜休产假"}
        )
        history = service.get_history(linas_customer["id"])
    assert handed["owner_id"] == users.zhang["id"] and handed["owner_name"] == "张伟"
    change = history["ownership_changes"][-1]
    assert (change["reason"], change["note"], change["changed_by_name"]) == ("admin", "李娜休产假", "王经理")
    transferred = events.wait_for("customer_transferred", customer_id=linas_customer["id"])
    assert (
        transferred["data"]["reason"] == "admin" and transferred["data"]["from_owner_id"] == users.lina["id"]
    )


def test_entered_since_names_the_owner_customer_created_named_after_a_transfer(
    as_user, users, linas_customer, events, service_config
):
    with as_user(users.wang) as service:
        service.transfer_customer(linas_customer["id"], {"owner_id": users.zhang["id"], "reason": "调岗"})
    created = events.wait_for("customer_created", customer_id=linas_customer["id"])

    with ServiceRpcProxy("customers", service_config) as system:
        entered = system.entered_since({"since": linas_customer["entered_at"], "limit": 1000})
        later = system.entered_since({"since": "2199-01-01T00:00:00+00:00"})
        with pytest.raises(InvalidInput):
            system.entered_since({"since": "2024-05-06"})  # no offset: ambiguous
    mine = [row for row in entered if row["customer_id"] == linas_customer["id"]]
    assert mine == [{key: created["data"][key] for key in mine[0]}]  # what customer_created said
    assert mine[0]["owner_id"] == users.lina["id"] and later == []
    with as_user(users.wang) as service, pytest.raises(Forbidden):
        service.entered_since({"since": created["occurred_at"]})


@pytest.mark.parametrize(
    ("who", "to", "refusal"),
    [
        ("zhang", "zhang", Forbidden),  # a salesperson does not reassign
        ("zhao", "chen", Forbidden),  # another team's manager
        ("wang", "chen", Forbidden),  # to another team
        ("wang", "lina", Conflict),  # already hers
    ],
)
def test_transfers_outside_the_managers_team_are_refused(as_user, users, linas_customer, who, to, refusal):
    with as_user(getattr(users, who)) as service, pytest.raises(refusal):
        service.transfer_customer(linas_customer["id"], {"owner_id": getattr(users, to)["id"], "reason": "x"})
