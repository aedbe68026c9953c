"""Who owns a customer: the ownership state machine (`domain_ownership`: abandon to the pool,
hand over, archive) applied to the store — transfers by a manager, taking from the pool,
giving up with an answered difficulty alarm, archiving."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm_common.caller import Caller
from crm_common.errors import Conflict
from crm_common.validation import load
from customers import domain
from customers.exceptions import ConcurrentChange, CustomerArchived, NotInPool
from customers.models import Customer
from customers.schemas import ArchiveSchema
from customers.usecases_common import Clock, People, caller_as_owner, columns, event_data


def move(
    store: Any,
    customer: Customer,
    change: domain.Move,
    note: str | None,
    by: int | None,
    now: datetime,
    race_message: str = "the customer changed meanwhile: try again",
    references: dict[str, int] | None = None,
) -> None:
    """Apply one move of the state machine: the conditional update (ConcurrentChange with
    ``race_message`` when another worker moved the customer first), the ownership change, and
    the open dispute lapsed when the move takes the customer away from it."""
    if not store.update_customer(customer.id, change.expected, change.values):
        raise ConcurrentChange(race_message)
    store.add_ownership_change(
        customer_id=customer.id,
        from_owner_id=change.from_owner_id,
        to_owner_id=change.to_owner_id,
        from_status=change.from_status,
        to_status=change.to_status,
        reason=change.reason,
        note=note,
        changed_by=by,
        changed_at=now,
        **(references or {}),
    )
    if change.lapses_dispute:
        lapse_dispute(store, customer.id, now)


def lapse_dispute(store: Any, customer_id: int, now: datetime) -> None:
    """A customer that left its owner another way leaves its dispute without object."""
    dispute = store.open_dispute(customer_id)
    if dispute is not None and store.close_dispute(
        dispute.id, status="closed", resolved_at=now, note="the customer changed hands meanwhile"
    ):
        store.settle_claims(dispute.id, None, closed=True)


def hand_over(
    store: Any,
    customer: Customer,
    owner: domain.Owner,
    reason: str,
    note: str | None,
    by: int,
    *,
    clock: Clock,
    **references: int,
) -> None:
    """Make ``owner`` the customer's owner (from its current owner or the pool); emits
    ``customer_transferred``. ConcurrentChange if the customer changed meanwhile."""
    former, now = customer.owner_id, clock.now()
    change = domain.hand_over(former, customer.status, owner, reason, now)
    move(store, customer, change, note, by, now, references=references)
    store.emit(
        "customer_transferred",
        {
            **event_data(customer),
            "from_owner_id": former,
            "to_owner_id": owner.user_id,
            "to_owner_name": owner.display_name,
            "reason": reason,
        },
    )


def transfer_customer(
    store: Any, caller: Caller, customer_id: int, request: dict, *, clock: Clock, people: People
) -> Customer:
    """The team's manager (or an admin) hands a customer to another salesperson."""
    customer = store.require(customer_id)
    domain.check_manages(caller, customer.team, "reassign customers")
    if customer.status == domain.ARCHIVED:
        raise CustomerArchived("the customer is archived")
    user = people.user(request["owner_id"])
    domain.check_may_assign(caller, user, "assign customers")
    assert user is not None  # check_may_assign refuses None
    if user["id"] == customer.owner_id:
        raise Conflict("that salesperson already owns the customer")
    owner = domain.Owner(user["id"], user["display_name"], user.get("team"))
    hand_over(store, customer, owner, "admin", request["reason"], caller.user_id, clock=clock)
    return customer  # type: ignore[no-any-return]


def take_from_pool(store: Any, caller: Caller, customer_id: int, *, clock: Clock, people: People) -> Customer:
    """A salesperson of the pool's team takes a customer; NotInPool if someone took it first."""
    name = caller_as_owner(caller, people).display_name
    customer = store.require(customer_id)
    domain.check_may_take(caller, customer.team, customer.status)
    try:
        hand_over(
            store,
            customer,
            domain.Owner(caller.user_id, name, customer.team),
            "pool_take",
            None,
            caller.user_id,
            clock=clock,
        )
    except ConcurrentChange as exc:
        raise NotInPool("someone took this customer from the pool first") from exc
    return customer  # type: ignore[no-any-return]


def abandon_customer(
    store: Any,
    caller: Caller,
    customer_id: int,
    request: dict,
    *,
    clock: Clock,
    alarms: Any,
    cause: str = domain.ABANDONED_CAUSE,
) -> Customer:
    """The owner gives up a customer to the team's pool, with a difficulty alarm knowledge
    confirms; emits ``customer_abandoned``. ``cause`` "released" is 退回公海: the same rule."""
    customer = store.require(customer_id)
    domain.check_may_abandon(caller, customer.owner_id, customer.status, request["alarm_id"])
    domain.check_abandon_alarm(alarms.for_abandon(request["alarm_id"]), customer.id)
    now, former_owner = clock.now(), customer.owner_id
    change = domain.abandon(former_owner, customer.status, request["reason"], now, cause)
    move(
        store,
        customer,
        change,
        request["reason"],
        caller.user_id,
        now,
        race_message="the customer changed meanwhile",
        references={"alarm_id": request["alarm_id"]},
    )
    store.emit(
        "customer_abandoned",
        {
            "customer_id": customer.id,
            "name": customer.name,
            "owner_id": former_owner,
            "team": customer.team,
            "reason": request["reason"],
            "alarm_id": request["alarm_id"],
            "cause": cause,
        },
    )
    return customer  # type: ignore[no-any-return]


def archive_customer(
    store: Any, caller: Caller, customer_id: int, payload: dict, *, clock: Clock
) -> Customer:
    """An admin archives a customer (never deletes it): its keys are free again; emits
    ``customer_archived``."""
    domain.check_may_archive(caller)
    reason = load(ArchiveSchema(), payload)["reason"]
    customer = store.require(customer_id)
    domain.check_archivable(customer.status)
    now = clock.now()
    move(
        store, customer, domain.archive(customer.owner_id, customer.status, now), reason, caller.user_id, now
    )
    store.release_keys(customer.id)
    store.emit(
        "customer_archived",
        {
            "customer_id": customer.id,
            "name": customer.name,
            "owner_id": customer.owner_id,
            "team": customer.team,
            "reason": reason,
            "archived_by": caller.user_id,
        },
    )
    return customer  # type: ignore[no-any-return]


def list_pool(store: Any, caller: Caller, *, people: People) -> list[dict]:
    """The caller's team's customers without an owner (an admin: every team's), latest first."""
    sees, team = domain.pool_team(caller)
    if not sees:
        return []
    pool = store.pool(team)
    names = people.display_names([customer.pooled_from for customer in pool])
    return [{**columns(c), "pooled_from_name": names.get(c.pooled_from)} for c in pool]
