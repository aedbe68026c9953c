"""A deactivation says where the leaving user's customers go: a colleague of the same team or the
team pool. The choice is checked here (schema and use case, on the fake store) and carried in
``user_deactivated`` for customers to carry out."""

from __future__ import annotations

import pytest

from accounts import usecases
from accounts.exceptions import ColleagueNotEligible, UnknownColleague
from accounts.schemas import DeactivateSchema
from crm_common.caller import Caller
from crm_common.errors import InvalidInput
from crm_common.validation import load
from services.accounts.tests.unit.test_accounts_usecases import admin, clock, create, store  # noqa: F401


def choice(payload: dict) -> dict:
    return load(DeactivateSchema(), payload)


def test_the_choice_defaults_to_the_pool_and_refuses_both_or_neither() -> None:
    assert choice({}) == {"hand_over_to": None, "to_pool": None}
    assert choice({"to_pool": True})["to_pool"] is True
    assert choice({"hand_over_to": 5})["hand_over_to"] == 5
    for bad in (
        {"hand_over_to": 5, "to_pool": True},
        {"to_pool": False},
        {"hand_over_to": "5"},
        {"hand_over_to": 0},
        {"hand_over_to": 2**40},
        {"to_pool": "yes please"},
        {"somewhere": 1},
    ):
        with pytest.raises(InvalidInput):
            choice(bad)


def test_a_hand_over_to_a_colleague_is_carried_in_the_event(store, clock) -> None:  # noqa: F811
    wang = create(store, clock, admin(store), "wang", role="manager")
    lina = create(store, clock, admin(store), "lina", manager="wang")
    zhou = create(store, clock, admin(store), "zhou", manager="wang")
    manager = Caller(wang["id"], "wang", "manager", "east")

    gone = usecases.set_active(store, manager, lina["id"], False, choice({"hand_over_to": zhou["id"]}))

    assert gone["active"] is False
    assert store.events[-1] == (
        "user_deactivated",
        {
            "id": lina["id"],
            "username": "lina",
            "role": "sales",
            "team": "east",
            "by": wang["id"],
            "hand_over_to": zhou["id"],
            "hand_over_to_name": "Zhou",
            "to_pool": False,
        },
    )


def test_without_a_colleague_the_customers_go_to_the_pool(store, clock) -> None:  # noqa: F811
    lina = create(store, clock, admin(store), "lina")

    usecases.set_active(store, admin(store), lina["id"], False, choice({}))

    _kind, data = store.events[-1]
    assert (data["hand_over_to"], data["hand_over_to_name"], data["to_pool"]) == (None, None, True)


@pytest.mark.parametrize(
    ("colleague", "reason"),
    [("chen", "other_team"), ("gone", "inactive"), ("lina", "same_user"), ("admin", "role")],
)
def test_a_colleague_who_cannot_take_the_customers_is_refused(store, clock, colleague, reason) -> None:  # noqa: F811
    lina = create(store, clock, admin(store), "lina")
    create(store, clock, admin(store), "chen", team="west")
    gone = create(store, clock, admin(store), "gone")
    usecases.set_active(store, admin(store), gone["id"], False, choice({}))
    events_before = len(store.events)
    colleague_id = store.user_named(colleague).id

    with pytest.raises(ColleagueNotEligible) as refused:
        usecases.set_active(store, admin(store), lina["id"], False, choice({"hand_over_to": colleague_id}))

    assert refused.value.details["reason"] == reason
    assert store.user(lina["id"]).active is True
    assert len(store.events) == events_before


def test_an_unknown_colleague_is_bad_input(store, clock) -> None:  # noqa: F811
    lina = create(store, clock, admin(store), "lina")

    with pytest.raises(UnknownColleague) as refused:
        usecases.set_active(store, admin(store), lina["id"], False, choice({"hand_over_to": 4242}))

    assert refused.value.code == "unknown_colleague" and "hand_over_to" in refused.value.details
    assert store.user(lina["id"]).active is True
