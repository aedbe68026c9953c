"""People leave, customers stay: when accounts deactivates a user (``user_deactivated``), every
active customer they own goes, in one hand-over, to the colleague the manager chose
(``customer_transferred``, reason "offboarding": open deals and reminders follow the new owner)
or to the team pool (``customer_abandoned``, reason "offboarding", no alarm: open deals end lost
as on abandonment, reminders are cancelled). Each move is an ownership change in the history
(reason "offboarding", by the admin or manager who deactivated the user).

Safe to retry and to cut short: the hand-over is recorded and committed before the first move;
customers then move in batches, each batch committed with its events (the outbox) and the
hand-over's progress under its lease. A worker that dies mid-way leaves the lease to run out and
:func:`resume_stale_handovers` takes it up again; since it moves only what the user still owns,
and each move is a conditional update, no customer moves twice and none is left behind.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from customers import domain
from customers.constants import OFFBOARDING_CAUSE
from customers.exceptions import ConcurrentChange
from customers.usecases_common import Clock
from customers.usecases_ownership import hand_over, move

log = logging.getLogger(__name__)

OFFBOARDING = "offboarding"  # the reason on history rows and events
HANDOVER_BATCH = 100
HANDOVER_LEASE = timedelta(seconds=60)


def start_handover(store: Any, fact: dict, event_id: str, *, clock: Clock) -> tuple[int, str]:
    """Record the hand-over ``user_deactivated`` asks for (``fact``: its data, loaded by
    :class:`customers.schemas.UserDeactivatedSchema`) and commit it — with the handler's
    processed mark — before anything moves: (its id, the lease token)."""
    now, token = clock.now(), str(uuid.uuid4())
    colleague = fact["hand_over_to"]
    handover = store.add_handover(
        event_id=event_id,
        user_id=fact["id"],
        username=fact["username"],
        team=fact["team"],
        to_owner_id=colleague,
        to_owner_name=(fact["hand_over_to_name"] or f"#{colleague}") if colleague else None,
        by=fact["by"],
        state="running",
        moved=0,
        claim_token=token,
        lease_until=now + HANDOVER_LEASE,
        started_at=now,
    )
    store.commit()
    return handover.id, token


def run_handover(
    store: Any,
    handover_id: int,
    token: str,
    *,
    clock: Clock,
    batch: int = HANDOVER_BATCH,
    between_batches: Callable[[], None] = lambda: None,
) -> int:
    """Move the leaving user's active customers, ``batch`` at a time, each batch committed with
    its events and the hand-over's progress while ``token`` holds the lease; the hand-over is done
    when the user owns none. How many this run moved (it stops, rolled back, if it lost the lease)."""
    handover = store.handover(handover_id)
    user_id, username, by = handover.user_id, handover.username, handover.by
    colleague = (
        domain.Owner(handover.to_owner_id, handover.to_owner_name, handover.team)
        if handover.to_owner_id is not None
        else None
    )
    total, after = 0, 0
    while True:
        customers = store.customers_owned_by(user_id, after, batch)
        if not customers:
            break
        moved = 0
        for customer in customers:
            after = customer.id
            try:
                if colleague is not None:
                    to_colleague(store, customer, colleague, username, by, clock=clock)
                else:
                    to_pool(store, customer, username, by, clock=clock)
                moved += 1
            except ConcurrentChange:
                log.info("customer %s changed hands meanwhile: not handed over", customer.id)
        if not store.record_handover_progress(
            handover_id, token, moved, {"lease_until": clock.now() + HANDOVER_LEASE}
        ):
            store.rollback()
            log.warning("hand-over %s: lease lost, another worker carries on", handover_id)
            return total
        store.commit()
        total += moved
        between_batches()
    if store.record_handover_progress(
        handover_id, token, 0, {"state": "done", "finished_at": clock.now(), "lease_until": None}
    ):
        store.commit()
    log.info("hand-over %s of user %s: %s customers moved", handover_id, user_id, total)
    return total


def resume_stale_handovers(store: Any, *, clock: Clock, limit: int = 10, **options: Any) -> int:
    """Take up the hand-overs whose worker died (lease run out) and finish them; how many moved."""
    moved = 0
    for handover_id in store.stale_handovers(clock.now(), limit):
        token = str(uuid.uuid4())
        if not store.take_handover(handover_id, token, clock.now(), clock.now() + HANDOVER_LEASE):
            store.rollback()
            continue
        store.commit()
        log.info("hand-over %s taken up again after its worker stopped", handover_id)
        moved += run_handover(store, handover_id, token, clock=clock, **options)
    return moved


def to_colleague(
    store: Any, customer: Any, colleague: domain.Owner, username: str | None, by: int | None, *, clock: Clock
) -> None:
    """One customer to the colleague: emits ``customer_transferred`` (reason "offboarding")."""
    team = colleague.team or customer.team
    owner = domain.Owner(colleague.user_id, colleague.display_name, team)
    hand_over(store, customer, owner, OFFBOARDING, _note(username), by, clock=clock)  # type: ignore[arg-type]


def to_pool(store: Any, customer: Any, username: str | None, by: int | None, *, clock: Clock) -> None:
    """One customer to its team's pool: emits ``customer_abandoned`` (reason "offboarding",
    ``alarm_id`` null), which pipeline and notify handle as an abandonment."""
    now, former = clock.now(), customer.owner_id
    change = domain.abandon(former, customer.status, _note(username), now, OFFBOARDING_CAUSE)
    move(store, customer, replace(change, reason=OFFBOARDING), _note(username), by, now)  # type: ignore[arg-type]
    store.emit(
        "customer_abandoned",
        {
            "customer_id": customer.id,
            "name": customer.name,
            "owner_id": former,
            "team": customer.team,
            "reason": OFFBOARDING,
            "alarm_id": None,
            "cause": OFFBOARDING_CAUSE,
        },
    )


def _note(username: str | None) -> str:
    return f"员工离职交接（{username or '已停用用户'}）"
