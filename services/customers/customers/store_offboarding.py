"""Hand-overs of a deactivated user's customers: the `Store` mixin (see `customers.store`). A
hand-over is worked under a lease (``claim_token`` until ``lease_until``) like an import job: its
progress is written under the condition that the token still holds, so of two workers only the
one holding the lease commits a batch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from customers import domain
from customers.models import Customer, Handover
from customers.store_customers import rowcount


class HandoverRecords:
    """Hand-overs and the customers they move (a mixin of `customers.store.Store`)."""

    session: Session

    def commit(self) -> None:
        """Commit now: what is written so far (a batch and its events) holds, whatever follows."""
        self.session.commit()

    def add_handover(self, **values: Any) -> Handover:
        """Record a hand-over (``event_id`` is unique: it is written with the handler's
        processed mark, so a redelivery never gets this far)."""
        handover = Handover(**values)
        self.session.add(handover)
        self.session.flush()
        return handover

    def handover(self, handover_id: int) -> Handover | None:
        return self.session.get(Handover, handover_id)

    def handovers_of(self, user_id: int) -> list[Handover]:
        return list(
            self.session.scalars(select(Handover).where(Handover.user_id == user_id).order_by(Handover.id))
        )

    def stale_handovers(self, now: datetime, limit: int) -> list[int]:
        """Running hand-overs whose lease has run out (their worker died), oldest first."""
        query = (
            select(Handover.id)
            .where(Handover.state == "running", Handover.lease_until < now)
            .order_by(Handover.id)
            .limit(limit)
        )
        return list(self.session.scalars(query))

    def take_handover(self, handover_id: int, token: str, now: datetime, lease_until: datetime) -> bool:
        """Take a running hand-over whose lease ran out; False if another worker took it first."""
        result = self.session.execute(
            update(Handover)
            .where(Handover.id == handover_id, Handover.state == "running", Handover.lease_until < now)
            .values(claim_token=token, lease_until=lease_until)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    def record_handover_progress(
        self, handover_id: int, token: str, moved: int, values: dict[str, Any]
    ) -> bool:
        """Add ``moved`` and set ``values`` if ``token`` still holds the lease; False if it was lost."""
        result = self.session.execute(
            update(Handover)
            .where(Handover.id == handover_id, Handover.claim_token == token, Handover.state == "running")
            .values(moved=Handover.moved + moved, **values)
            .execution_options(synchronize_session=False)
        )
        self.session.expire_all()
        return rowcount(result) == 1

    def customers_owned_by(self, user_id: int, after_id: int, limit: int) -> Sequence[Customer]:
        """The active customers ``user_id`` owns with an id above ``after_id``, by id."""
        query = (
            select(Customer)
            .where(Customer.owner_id == user_id, Customer.status == domain.ACTIVE, Customer.id > after_id)
            .order_by(Customer.id)
            .limit(limit)
        )
        return list(self.session.scalars(query))
