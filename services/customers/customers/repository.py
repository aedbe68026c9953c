"""The customers service's reads and writes over one SQLAlchemy session, in domain words.

Conditional updates (``… WHERE status = :expected``) with a row count check are how a change
of owner or of a decision stays correct when several instances act on one record at once:
exactly one of them sees its row updated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from customers import domain
from customers.domain import MAX_ID
from customers.exceptions import CustomerNotFound
from customers.models import (
    Amendment,
    Claim,
    Customer,
    CustomerKey,
    Dispute,
    DuplicateSuspicion,
    Followup,
    FuzzyKey,
    OwnershipChange,
    Revision,
)

_POSTING = "posting"  # marks fuzzy-key rows in a lookup; exact kinds are "name" and "phone"
SUMMARY_COLUMNS = (
    Customer.id,
    Customer.name,
    Customer.name_key,
    Customer.phones,
    Customer.contacts,
    Customer.owner_id,
    Customer.owner_name,
    Customer.team,
    Customer.status,
    Customer.entered_at,
)


_SUMMARIES = select(*SUMMARY_COLUMNS).where(
    Customer.id.in_(bindparam("ids", expanding=True)), Customer.status != domain.ARCHIVED
)


@lru_cache(maxsize=256)
def _lookup_statement(exact_keys: int, abbreviations: bool, candidate_keys: int) -> Select:
    """The lookup of `Records.lookup` for one shape of input, built once: building a statement
    of this size costs more than running it."""
    conditions = [
        and_(CustomerKey.kind == bindparam(f"kind{index}"), CustomerKey.key == bindparam(f"key{index}"))
        for index in range(exact_keys)
    ]
    if abbreviations:
        conditions.append(
            and_(
                CustomerKey.kind == domain.NAME_KEY,
                CustomerKey.key.in_(bindparam("abbreviations", expanding=True)),
            )
        )
    parts: list[Select] = []
    if conditions:
        parts.append(
            select(CustomerKey.kind, CustomerKey.key, CustomerKey.customer_id).where(or_(*conditions))
        )
    for index in range(candidate_keys):
        # one posting more than the cap is read, and the postings are returned only if they fit:
        # the rows of a common key never leave the database
        limited = (
            select(FuzzyKey.key, FuzzyKey.customer_id)
            .where(FuzzyKey.key == bindparam(f"candidate{index}"))
            .limit(bindparam("cap") + 1)
            .subquery()
        )
        counted = select(
            limited.c.key, limited.c.customer_id, func.count().over().label("postings")
        ).subquery()
        parts.append(
            select(literal(_POSTING).label("kind"), counted.c.key, counted.c.customer_id).where(
                counted.c.postings <= bindparam("cap")
            )
        )
    return union_all(*parts) if len(parts) > 1 else parts[0]  # type: ignore[return-value]


def snapshot_of(customer: Customer) -> dict[str, Any]:
    """The amendable fields of a customer in canonical form (what a revision stores)."""
    return {
        "name": customer.name,
        "phones": list(customer.phones or []),
        "address": customer.address,
        "industry": customer.industry,
        "birthday": customer.birthday,
        "next_visit_at": customer.next_visit_at.isoformat() if customer.next_visit_at else None,
        "next_visit_contact": customer.next_visit_contact,
        "referred_by": customer.referred_by,
        "contacts": [dict(contact) for contact in customer.contacts or []],
    }


def row_values(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Column values for a canonical snapshot (the inverse of snapshot_of)."""
    values = dict(snapshot)
    visit = values.get("next_visit_at")
    values["next_visit_at"] = datetime.fromisoformat(visit) if visit else None
    values["name_key"] = domain.normalize_company_name(values["name"])
    return values


def stored(customer: Any) -> domain.StoredCustomer:
    """What the duplicate rules see of a stored customer."""
    return domain.StoredCustomer(
        customer.id,
        customer.name_key,
        tuple(domain.all_phones(customer.phones or [], customer.contacts or [])),
    )


class Records:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- customers ---------------------------------------------------------------------------

    def get(self, customer_id: int) -> Customer | None:
        if not isinstance(customer_id, int) or not 0 < customer_id <= MAX_ID:
            return None
        return self.session.get(Customer, customer_id)

    def require(self, customer_id: int) -> Customer:
        customer = self.get(customer_id)
        if customer is None:
            raise CustomerNotFound(f"no customer {customer_id}", {"customer_id": customer_id})
        return customer

    def by_ids(self, customer_ids: Iterable[int]) -> dict[int, Customer]:
        wanted = {cid for cid in customer_ids if cid is not None}
        if not wanted:
            return {}
        return {c.id: c for c in self.session.scalars(select(Customer).where(Customer.id.in_(wanted)))}

    def add_customer(self, values: dict[str, Any]) -> Customer:
        customer = Customer(**values)
        self.session.add(customer)
        self.session.flush()
        return customer

    def page(self, scope: tuple[str, Any], query: dict[str, Any]) -> tuple[list[Customer], int]:
        """Customers in the caller's scope, filtered by name or phone and status, newest first."""
        statement = select(Customer)
        kind, value = scope
        if kind == "team":
            statement = statement.where(Customer.team == value)
        elif kind == "own":
            statement = statement.where(Customer.owner_id == value)
        if kind == "own":  # a salesperson reads only the customers they own now
            statement = statement.where(Customer.status == domain.ACTIVE)
        elif query.get("status"):
            statement = statement.where(Customer.status == query["status"])
        else:
            statement = statement.where(Customer.status != domain.ARCHIVED)
        if query.get("owner_id"):
            statement = statement.where(Customer.owner_id == query["owner_id"])
        if query.get("phone"):
            owning = select(CustomerKey.customer_id).where(
                CustomerKey.kind == domain.PHONE_KEY, CustomerKey.key == query["phone"]
            )
            statement = statement.where(Customer.id.in_(owning))
        elif query.get("q"):
            statement = statement.where(Customer.name.icontains(query["q"], autoescape=True))
        total = self.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        offset = (query["page"] - 1) * query["per_page"]
        items = self.session.scalars(
            statement.order_by(Customer.id.desc()).offset(offset).limit(query["per_page"])
        ).all()
        return list(items), total

    def update_customer(self, customer_id: int, expected: dict[str, Any], values: dict[str, Any]) -> bool:
        """Set ``values`` if the row still has the ``expected`` values; False if it changed."""
        self.session.flush()  # pending changes first: the rows are re-read after the update
        conditions = [Customer.id == customer_id]
        for column, value in expected.items():
            attribute = getattr(Customer, column)
            conditions.append(attribute.is_(None) if value is None else attribute == value)
        result = self.session.execute(
            update(Customer).where(*conditions).values(**values).execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            return False
        self.session.expire_all()
        return True

    # --- keys: the exact block and the fuzzy candidates ---------------------------------------

    def lookup(
        self,
        keys: Sequence[tuple[str, str]],
        abbreviations: Sequence[str] = (),
        candidate_keys: Iterable[str] = (),
        max_postings: int = domain.MAX_POSTINGS,
    ) -> tuple[list[tuple[int, str, str]], dict[str, list[int]]]:
        """In one round trip: (customer_id, kind, key) of the live customers holding one of the
        exact ``keys`` or whose whole name key is one of ``abbreviations``; and the customers under
        each of ``candidate_keys`` that has at most ``max_postings`` of them, read through the index
        at most ``max_postings + 1`` deep (a key with more says nothing and is left out)."""
        candidates = sorted(set(candidate_keys))
        if not (keys or abbreviations or candidates):
            return [], {}
        parameters: dict[str, Any] = {"abbreviations": list(abbreviations), "cap": max_postings}
        for index, (kind, key) in enumerate(keys):
            parameters |= {f"kind{index}": kind, f"key{index}": key}
        parameters |= {f"candidate{index}": key for index, key in enumerate(candidates)}
        statement = _lookup_statement(len(keys), bool(abbreviations), len(candidates))
        holders: list[tuple[int, str, str]] = []
        found: dict[str, list[int]] = {}
        for kind, key, customer_id in self.session.execute(statement, parameters):
            if kind == _POSTING:
                found.setdefault(key, []).append(customer_id)
            else:
                holders.append((customer_id, kind, key))
        return holders, found

    def summaries(self, customer_ids: Iterable[int]) -> dict[int, Any]:
        """What matching and scanning read of live customers, as light rows (not entities)."""
        wanted = {cid for cid in customer_ids if cid is not None}
        if not wanted:
            return {}
        return {row.id: row for row in self.session.execute(_SUMMARIES, {"ids": sorted(wanted)})}

    def claim_keys(self, customer_id: int, keys: Sequence[tuple[str, str]]) -> None:
        """Insert the customer's exact keys; raises IntegrityError if another customer holds one."""
        self.session.execute(
            insert(CustomerKey),
            [{"kind": kind, "key": key, "customer_id": customer_id} for kind, key in keys],
        )
        self.session.flush()

    def release_keys(self, customer_id: int) -> None:
        """Drop the customer's exact and fuzzy keys (renamed or archived: the keys are free)."""
        self.session.execute(delete(CustomerKey).where(CustomerKey.customer_id == customer_id))
        self.session.execute(delete(FuzzyKey).where(FuzzyKey.customer_id == customer_id))

    def index_for_scan(self, customer_id: int, keys: Iterable[str]) -> None:
        """Index the customer under its `domain.candidate_keys` for later scans."""
        self.session.execute(insert(FuzzyKey), [{"key": key, "customer_id": customer_id} for key in keys])

    # --- history ------------------------------------------------------------------------------

    def add_revision(self, **values: Any) -> Revision:
        revision = Revision(**values)
        self.session.add(revision)
        return revision

    def add_ownership_change(self, **values: Any) -> OwnershipChange:
        change = OwnershipChange(**values)
        self.session.add(change)
        return change

    def revisions(self, customer_id: int) -> list[Revision]:
        return list(
            self.session.scalars(
                select(Revision).where(Revision.customer_id == customer_id).order_by(Revision.revision)
            )
        )

    def ownership_changes(self, customer_id: int) -> list[OwnershipChange]:
        return list(
            self.session.scalars(
                select(OwnershipChange)
                .where(OwnershipChange.customer_id == customer_id)
                .order_by(OwnershipChange.changed_at, OwnershipChange.id)
            )
        )

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
        return result.rowcount == 1

    # --- follow-ups ---------------------------------------------------------------------------

    def add_followup(self, **values: Any) -> Followup:
        followup = Followup(**values)
        self.session.add(followup)
        self.session.flush()
        return followup

    def followups(self, customer_id: int, limit: int | None = None) -> list[Followup]:
        statement = (
            select(Followup)
            .where(Followup.customer_id == customer_id)
            .order_by(Followup.occurred_at.desc(), Followup.id.desc())
        )
        if limit:
            statement = statement.limit(limit)
        return list(self.session.scalars(statement))

    def followup(self, customer_id: int, followup_id: int) -> Followup | None:
        if not isinstance(followup_id, int) or not 0 < followup_id <= MAX_ID:
            return None
        followup = self.session.get(Followup, followup_id)
        return followup if followup is not None and followup.customer_id == customer_id else None

    # --- referrals ----------------------------------------------------------------------------

    def referred_by(self, customer_id: int) -> list[int]:
        return list(
            self.session.scalars(
                select(Customer.id).where(Customer.referred_by == customer_id).order_by(Customer.id)
            )
        )

    def referrer_of(self, customer_id: int) -> int | None:
        return self.session.scalar(select(Customer.referred_by).where(Customer.id == customer_id))

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
        claim = Claim(**values)
        self.session.add(claim)
        self.session.flush()
        return claim

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
        return result.rowcount == 1

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
        return result.rowcount == 1

    # --- the pool ----------------------------------------------------------------------------

    def pool(self, team: str | None) -> list[Customer]:
        statement = select(Customer).where(Customer.status == domain.IN_POOL)
        if team is not None:
            statement = statement.where(Customer.team == team)
        return list(self.session.scalars(statement.order_by(Customer.pooled_at.desc(), Customer.id.desc())))
