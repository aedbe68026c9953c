"""Amendments, claims and disputes, suspected duplicates and the pool: the `Store` mixin for
the decisions taken on customers (see `customers.store`). Decisions are conditional updates
(``… WHERE status = 'open'``): exactly one of several workers deciding at once wins."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from customers import domain
from customers.domain import MAX_ID
from customers.exceptions import ClaimExists, ConcurrentChange
from customers.models import Amendment, Claim, Customer, Dispute, DuplicateSuspicion
from customers.store_customers import rowcount


class DecisionRecords:
    """Amendments, disputes and claims, suspicions, the pool (a mixin of `customers.store.Store`)."""

    session: Session

    # --- amendments ---------------------------------------------------------------------------

    def add_amendment(self, **values: Any) -> Amendment:
        amendment = Amendment(**values)
        self.session.add(amendment)
        self.session.flush()
        return amendment

    def amendment(self, customer_id: int, amendment_id: int) -> Amendment | None:
        if not isinstance(amendment_id, int) or not 0 < amendment_id <= MAX_ID:
            return None
        amendment = self.session.get(Amendment, amendment_id)
        return amendment if amendment is not None and amendment.customer_id == customer_id else None

    def amendments(self, customer_id: int) -> list[Amendment]:
        return list(
            self.session.scalars(
                select(Amendment).where(Amendment.customer_id == customer_id).order_by(Amendment.id)
            )
        )

    def pending_amendments(self, scope: tuple[str, Any]) -> list[Amendment]:
        statement = select(Amendment).where(Amendment.status == "pending")
        kind, value = scope
        if kind == "team":
            statement = statement.join(Customer, Customer.id == Amendment.customer_id).where(
                Customer.team == value
            )
        elif kind == "own":
            statement = statement.where(Amendment.requested_by == value)
        return list(self.session.scalars(statement.order_by(Amendment.id)))

    def decide_amendment(self, amendment_id: int, **values: Any) -> bool:
        self.session.flush()
        result = self.session.execute(
            update(Amendment)
            .where(Amendment.id == amendment_id, Amendment.status == "pending")
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        self.session.expire_all()
        return rowcount(result) == 1

    # --- claims and disputes ------------------------------------------------------------------

    def open_dispute(self, customer_id: int) -> Dispute | None:
        return self.session.scalar(
            select(Dispute).where(Dispute.customer_id == customer_id, Dispute.status == "open")
        )

    def add_dispute(self, **values: Any) -> Dispute:
        dispute = Dispute(**values)
        self.session.add(dispute)
        self.session.flush()
        return dispute

    def add_claim(self, **values: Any) -> Claim:
        """The claim; ClaimExists when the claimant already claimed the customer."""
        claim = Claim(**values)
        self.session.add(claim)
        try:
            self.session.flush()
        except IntegrityError as exc:
            self.session.rollback()
            raise ClaimExists("you already claimed this customer; the manager will decide") from exc
        return claim

    def open_or_join_dispute(self, customer_id: int, owner_id: int | None, now: Any) -> Dispute:
        """The customer's open dispute, opened now if there is none (one opened by another claim
        at the same moment is joined)."""
        dispute = self.open_dispute(customer_id)
        if dispute is not None:
            return dispute
        try:
            return self.add_dispute(customer_id=customer_id, status="open", owner_id=owner_id, opened_at=now)
        except IntegrityError:
            self.session.rollback()  # opened by another claim at the same moment: join it
            dispute = self.open_dispute(customer_id)
            if dispute is None:
                raise ConcurrentChange("the dispute changed meanwhile: claim again") from None
            return dispute

    def dispute(self, dispute_id: int) -> Dispute | None:
        if not isinstance(dispute_id, int) or not 0 < dispute_id <= MAX_ID:
            return None
        return self.session.get(Dispute, dispute_id)

    def disputes(self, scope: tuple[str, Any], status: str) -> list[Dispute]:
        statement = (
            select(Dispute).join(Customer, Customer.id == Dispute.customer_id).where(Dispute.status == status)
        )
        kind, value = scope
        if kind == "team":
            statement = statement.where(Customer.team == value)
        elif kind == "own":
            claimed = select(Claim.dispute_id).where(Claim.claimant_id == value)
            statement = statement.where(or_(Dispute.owner_id == value, Dispute.id.in_(claimed)))
        return list(self.session.scalars(statement.order_by(Dispute.id)))

    def claims_of_dispute(self, dispute_id: int) -> list[Claim]:
        return list(
            self.session.scalars(select(Claim).where(Claim.dispute_id == dispute_id).order_by(Claim.id))
        )

    def claims_of_customer(self, customer_id: int) -> list[Claim]:
        return list(
            self.session.scalars(select(Claim).where(Claim.customer_id == customer_id).order_by(Claim.id))
        )

    def close_dispute(self, dispute_id: int, **values: Any) -> bool:
        self.session.flush()
        result = self.session.execute(
            update(Dispute)
            .where(Dispute.id == dispute_id, Dispute.status == "open")
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        self.session.expire_all()
        return rowcount(result) == 1

    def settle_claims(self, dispute_id: int, winner_id: int | None, closed: bool = False) -> None:
        """Mark the dispute's open claims won or lost (or closed, when the dispute lapsed)."""
        for claim in self.claims_of_dispute(dispute_id):
            if claim.status == "open":
                claim.status = "closed" if closed else ("won" if claim.claimant_id == winner_id else "lost")
        self.session.flush()

    # --- duplicate suspicions -----------------------------------------------------------------

    def known_pairs(self, pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
        pairs = list(pairs)
        if not pairs:
            return set()
        rows = self.session.execute(
            select(DuplicateSuspicion.customer_id, DuplicateSuspicion.duplicate_of_id).where(
                tuple_(DuplicateSuspicion.customer_id, DuplicateSuspicion.duplicate_of_id).in_(pairs)
            )
        ).all()
        return {(row[0], row[1]) for row in rows}

    def add_suspicion(self, **values: Any) -> DuplicateSuspicion:
        suspicion = DuplicateSuspicion(**values)
        self.session.add(suspicion)
        self.session.flush()
        return suspicion

    def suspicion(self, suspicion_id: int) -> DuplicateSuspicion | None:
        if not isinstance(suspicion_id, int) or not 0 < suspicion_id <= MAX_ID:
            return None
        return self.session.get(DuplicateSuspicion, suspicion_id)

    def suspicions(self, team: str | None, status: str) -> list[DuplicateSuspicion]:
        """Suspected pairs with ``status``; with a team, those where either customer is the team's."""
        statement = select(DuplicateSuspicion).where(DuplicateSuspicion.status == status)
        if team is not None:
            of_team = select(Customer.id).where(Customer.team == team)
            statement = statement.where(
                or_(
                    DuplicateSuspicion.customer_id.in_(of_team),
                    DuplicateSuspicion.duplicate_of_id.in_(of_team),
                )
            )
        return list(
            self.session.scalars(statement.order_by(DuplicateSuspicion.score.desc(), DuplicateSuspicion.id))
        )

    def decide_suspicion(self, suspicion_id: int, **values: Any) -> bool:
        self.session.flush()
        result = self.session.execute(
            update(DuplicateSuspicion)
            .where(DuplicateSuspicion.id == suspicion_id, DuplicateSuspicion.status == "open")
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        self.session.expire_all()
        return rowcount(result) == 1

    # --- the pool ----------------------------------------------------------------------------

    def pool(self, team: str | None) -> list[Customer]:
        statement = select(Customer).where(Customer.status == domain.IN_POOL)
        if team is not None:
            statement = statement.where(Customer.team == team)
        return list(self.session.scalars(statement.order_by(Customer.pooled_at.desc(), Customer.id.desc())))
