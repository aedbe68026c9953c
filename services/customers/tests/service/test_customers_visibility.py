"""Who reads what: a salesperson their own customers, a manager the team's, an admin all."""

import pytest

from customers.exceptions import CustomerNotFound, NotYourCustomer

# reader → (reads lina's east customer, reads chen's west customer)
MATRIX = {
    "lina": (True, False),  # the owner
    "zhang": (False, False),  # a colleague in the same team
    "wang": (True, False),  # the east manager
    "zhao": (False, True),  # the west manager
    "chen": (False, True),  # the west owner
    "admin": (True, True),
}


@pytest.fixture
def two_teams(as_user, users, new_customer):
    with as_user(users.lina) as service:
        east = service.create_customer(new_customer("东方电子有限公司", phone="13800138000"))
    with as_user(users.chen) as service:
        west = service.create_customer(new_customer("西部矿业有限公司", phone="13900139000"))
    return east, west


@pytest.mark.parametrize("reader", sorted(MATRIX))
def test_visibility_matrix(as_user, users, two_teams, reader):
    with as_user(getattr(users, reader)) as service:
        for customer, allowed in zip(two_teams, MATRIX[reader], strict=True):
            if allowed:
                read = service.get_customer(customer["id"])
                assert read["phones"] == customer["phones"] and read["contacts"] == customer["contacts"]
            else:
                with pytest.raises(NotYourCustomer):
                    service.get_customer(customer["id"])
        listed = {item["id"] for item in service.list_customers()["items"]}
    assert listed == {
        customer["id"] for customer, allowed in zip(two_teams, MATRIX[reader], strict=True) if allowed
    }


def test_an_unknown_customer_is_not_found(as_user, users):
    with as_user(users.admin) as service, pytest.raises(CustomerNotFound):
        service.get_customer(424242)


def test_history_and_follow_ups_follow_the_same_rule(as_user, users, two_teams):
    east, _west = two_teams
    with as_user(users.zhang) as service:
        with pytest.raises(NotYourCustomer):
            service.get_history(east["id"])
        with pytest.raises(NotYourCustomer):
            service.list_followups(east["id"])
        with pytest.raises(NotYourCustomer):
            service.record_followup(east["id"], {"kind": "call", "summary": "冒充拜访"})


def test_list_searches_by_name_or_phone_and_pages(as_user, users, new_customer):
    with as_user(users.lina) as service:
        for index in range(5):
            service.create_customer(
                new_customer(f"宏达{'一二三四五'[index]}号机械有限公司", phone=f"1380000000{index}")
            )
        by_name = service.list_customers({"q": "三号"})
        by_phone = service.list_customers({"q": "138 0000 0004"})
        first_page = service.list_customers({"per_page": 2})
        third_page = service.list_customers({"per_page": 2, "page": 3})
    assert [item["name"] for item in by_name["items"]] == ["宏达三号机械有限公司"]
    assert [item["name"] for item in by_phone["items"]] == ["宏达五号机械有限公司"]
    assert first_page["total"] == 5 and len(first_page["items"]) == 2
    assert [item["name"] for item in third_page["items"]] == ["宏达一号机械有限公司"]
