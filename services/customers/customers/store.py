"""All of the customers service's SQL behind one `Store`, built on the worker's UnitOfWork
(`Store(self.db)`, or `Store(UnitOfWork(sessions, "customers"))` outside a worker).

The tables are split by area into mixins: `store_customers` (customers, keys, history,
follow-ups, referrals), `store_decisions` (amendments, disputes and claims, suspected
duplicates, the pool), `store_imports` (import jobs and their set-wise writes; the runner's
leases) and `store_rekey` (the rekey command) and `store_offboarding` (hand-overs of a deactivated user's
customers). Outbox events are recorded with `emit`, in the
same transaction. A lost race for a unique key (IntegrityError) never leaves the store: it
becomes a typed error, a False, or a retry through `retry_on_race`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_common.db import UnitOfWork
from customers.store_customers import CustomerRecords, row_values, snapshot_of, stored
from customers.store_decisions import DecisionRecords
from customers.store_imports import ImportLeases, ImportRecords
from customers.store_offboarding import HandoverRecords
from customers.store_pool import PoolRecords
from customers.store_rekey import RekeyRecords

__all__ = ["ImportLeases", "Store", "retry_on_race", "row_values", "snapshot_of", "stored"]

log = logging.getLogger(__name__)

T = TypeVar("T")


def retry_on_race(
    action: Callable[[], T],
    *,
    attempts: int,
    rollback: Callable[[], None],
    gave_up: Callable[[], Exception],
    on_race: Callable[[], None] | None = None,
) -> T:
    """Run ``action``; when it loses a race for a unique key (IntegrityError), ``rollback``, call
    ``on_race()`` (which may raise the error that names the key's holder) and run it again (the
    next pass sees the winner), at most ``attempts`` times, then raise ``gave_up()``: more lost
    races than that means contention."""
    for _attempt in range(attempts):
        try:
            return action()
        except IntegrityError:
            rollback()
            log.info("a unique key is held: checking again")
            if on_race is not None:
                on_race()
    raise gave_up()


class Store(CustomerRecords, DecisionRecords, ImportRecords, PoolRecords, RekeyRecords, HandoverRecords):
    """The customers tables through one unit of work (session + outbox)."""

    def __init__(self, unit: UnitOfWork) -> None:
        self.unit = unit

    @classmethod
    def on_session(cls, session: Session) -> Store:
        """A store over a bare session (tools, benchmarks, tests), without an outbox."""
        return cls(_BareUnit(session))  # type: ignore[arg-type]

    @property
    def session(self) -> Session:  # type: ignore[override]
        return self.unit.session

    def emit(self, event_type: str, data: dict[str, Any]) -> dict:
        """Record an outbox event in this transaction (published only if it commits)."""
        return self.unit.emit(event_type, data)

    def emit_many(self, event_type: str, facts: list[dict[str, Any]]) -> list[dict]:
        return self.unit.emit_many(event_type, facts)

    def rollback(self) -> None:
        self.unit.rollback()

    def retry_on_race(
        self,
        action: Callable[[], T],
        attempts: int,
        gave_up: Callable[[], Exception],
        on_race: Callable[[], None] | None = None,
    ) -> T:
        """`retry_on_race` within this unit of work (rolled back between the attempts)."""
        return retry_on_race(
            action, attempts=attempts, rollback=self.session.rollback, gave_up=gave_up, on_race=on_race
        )


class _BareUnit:
    """A session without an outbox: emitting an event from it is a mistake."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def emit(self, event_type: str, data: dict[str, Any]) -> dict:
        raise RuntimeError(f"no outbox here for {event_type}")

    emit_many = emit

    def rollback(self) -> None:
        self.session.rollback()
