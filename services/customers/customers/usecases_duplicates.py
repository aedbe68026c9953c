"""Near-duplicates: the scan of a new or corrected customer, and the managers' decisions on the
suspected pairs."""

from __future__ import annotations

from typing import Any

from crm_common.caller import Caller
from crm_common.errors import NotFound
from customers import domain
from customers.exceptions import AlreadyDecided, CustomerArchived, CustomerInPool
from customers.usecases_common import Clock, columns
from customers.usecases_matching import suspected_duplicates
from customers.usecases_ownership import hand_over


def scan(store: Any, customer_id: int, *, clock: Clock) -> None:
    """Compare a customer with its candidates; store and emit the pairs not known yet."""
    customer = store.get(customer_id)
    if customer is None or customer.status == domain.ARCHIVED:
        return
    suspects = suspected_duplicates(store, customer)
    known = store.known_pairs((later.id, earlier.id) for earlier, later, _ in suspects)
    now = clock.now()
    for earlier, later, suspicion in suspects:
        if (later.id, earlier.id) in known:
            continue
        row = store.add_suspicion(
            customer_id=later.id,
            duplicate_of_id=earlier.id,
            score=suspicion.score,
            reason=suspicion.reason,
            status="open",
            detected_at=now,
        )
        store.emit(
            "customer_duplicate_suspected",
            {
                "suspicion_id": row.id,
                "customer_id": later.id,
                "name": later.name,
                "owner_id": later.owner_id,
                "duplicate_of_id": earlier.id,
                "duplicate_of_name": earlier.name,
                "duplicate_owner_id": earlier.owner_id,
                "team": later.team,
                "duplicate_team": earlier.team,
                "score": suspicion.score,
                "reason": suspicion.reason,
            },
        )


def suspicion_view(suspicion: Any, customers: dict[int, Any]) -> dict:
    return {
        **columns(suspicion),
        "customer": customers[suspicion.customer_id],
        "duplicate_of": customers[suspicion.duplicate_of_id],
    }


def list_duplicates(store: Any, caller: Caller, status: str) -> list[dict]:
    domain.check_is_manager(caller, "suspected duplicates")
    suspicions = store.suspicions(None if caller.is_admin else caller.team, status)
    customers = store.by_ids(cid for s in suspicions for cid in (s.customer_id, s.duplicate_of_id))
    return [suspicion_view(s, customers) for s in suspicions]


def _open_suspicion(store: Any, caller: Caller, suspicion_id: int) -> tuple[Any, Any, Any]:
    suspicion = store.suspicion(suspicion_id)
    if suspicion is None:
        raise NotFound(f"no suspected duplicate {suspicion_id}")
    later = store.require(suspicion.customer_id)
    earlier = store.require(suspicion.duplicate_of_id)
    domain.check_manages_either(
        caller, (later.team, earlier.team), "only the teams' managers or an admin decide suspected duplicates"
    )
    if suspicion.status != "open":
        raise AlreadyDecided(f"the pair is already {suspicion.status}", {"status": suspicion.status})
    return suspicion, later, earlier


def _decide(store: Any, caller: Caller, suspicion: Any, status: str, note: str | None, clock: Clock) -> None:
    if not store.decide_suspicion(
        suspicion.id, status=status, decided_by=caller.user_id, decided_at=clock.now(), note=note
    ):
        raise AlreadyDecided("the pair was decided meanwhile")


def dismiss_duplicate(
    store: Any, caller: Caller, suspicion_id: int, note: str | None, *, clock: Clock
) -> dict:
    """Not the same company: the pair is kept as dismissed."""
    suspicion, later, earlier = _open_suspicion(store, caller, suspicion_id)
    _decide(store, caller, suspicion, "dismissed", note, clock)
    return suspicion_view(suspicion, {later.id: later, earlier.id: earlier})


def confirm_duplicate(
    store: Any, caller: Caller, suspicion_id: int, note: str | None, *, clock: Clock
) -> dict:
    """The same company: the later customer goes to the earlier one's owner."""
    suspicion, later, earlier = _open_suspicion(store, caller, suspicion_id)
    if later.status == domain.ARCHIVED:
        raise CustomerArchived("the later customer is archived", {"customer_id": later.id})
    if earlier.status != domain.ACTIVE:
        raise CustomerInPool(
            "the earlier customer has no owner (pool or archived): take it from the pool instead",
            {"customer_id": earlier.id, "status": earlier.status},
        )
    _decide(store, caller, suspicion, "confirmed", note, clock)
    if later.owner_id != earlier.owner_id or later.status != domain.ACTIVE:
        owner = domain.Owner(earlier.owner_id, earlier.owner_name or "", earlier.team)
        hand_over(
            store,
            later,
            owner,
            "duplicate_confirmed",
            note or suspicion.reason,
            caller.user_id,
            clock=clock,
            suspicion_id=suspicion.id,
        )
    return suspicion_view(suspicion, {later.id: later, earlier.id: earlier})
