"""The customers table, its keys, revisions, ownership changes, follow-ups and referrals: the
`Store` mixin for them (see `customers.store`), plus rows <-> domain conversions.

Conditional updates (``… WHERE status = :expected``) with a row count check are how a change
of owner or of a decision stays correct when several instances act on one record at once:
exactly one of them sees its row updated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

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
    text,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from customers import domain
from customers.domain import MAX_ID
from customers.exceptions import CustomerNotFound
from customers.models import (
    Customer,
    CustomerKey,
    Followup,
    FuzzyKey,
    OwnershipChange,
    PoolSettings,
    Revision,
)
from customers.normalize import InvalidCompanyName, company_region

_POSTING = "posting"  # marks fuzzy-key rows in a lookup; exact kinds are "name" and "phone"
ABBREVIATION = "abbreviation"  # marks a customer whose whole name key is an abbreviation looked up
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
    parts: list[Select] = []
    if conditions:
        parts.append(
            select(CustomerKey.kind, CustomerKey.key, CustomerKey.customer_id).where(or_(*conditions))
        )
    if abbreviations:
        # a whole name key, in any region: the ``k:`` posting every customer has
        parts.append(
            select(literal(ABBREVIATION).label("kind"), FuzzyKey.key, FuzzyKey.customer_id).where(
                FuzzyKey.key.in_(bindparam("abbreviations", expanding=True))
            )
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


def _entry_facts_statement() -> Select:
    """`CustomerRecords.entry_facts`'s one statement: (fact, value) rows."""
    same_name = (
        select(FuzzyKey.customer_id)
        .where(FuzzyKey.key == bindparam("same_name"))
        .limit(domain.MAX_POSTINGS)
        .subquery()
    )
    return union_all(  # type: ignore[return-value]
        select(literal("limit").label("fact"), PoolSettings.max_customers.label("value")).where(
            PoolSettings.team == bindparam("team")
        ),
        select(literal("held").label("fact"), func.count().label("value"))
        .select_from(Customer)
        .where(Customer.owner_id == bindparam("owner_id"), Customer.status == domain.ACTIVE),
        select(literal("same_name").label("fact"), same_name.c.customer_id.label("value")),
    )


_ENTRY_FACTS = _entry_facts_statement()


@dataclass(frozen=True)
class EntryFacts:
    """What entering a customer must read (the rest the unique keys answer)."""

    max_customers: int | None  # the team's holding limit; None: the team has no pool settings
    held: int  # active customers the owner holds
    same_name: list[int]  # customers holding the name key in any region (its ``k:`` posting)


def snapshot_of(customer: Any) -> dict[str, Any]:
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


def rowcount(result: Any) -> int:
    """How many rows an UPDATE or DELETE touched (a CursorResult's count)."""
    return int(cast(CursorResult, result).rowcount)


def stored(customer: Any, compared_with: str | None = None) -> domain.StoredCustomer:
    """What the duplicate rules see of a stored customer. Its region, read from its name, only
    matters against the same name key: it is read when ``compared_with`` is None or that key."""
    return domain.StoredCustomer(
        customer.id,
        customer.name_key,
        tuple(domain.all_phones(customer.phones or [], customer.contacts or [])),
        _region_of(customer.name) if compared_with in (None, customer.name_key) else None,
    )


def _region_of(name: str | None) -> str | None:
    try:
        return company_region(name or "")
    except InvalidCompanyName:  # stored before today's rules: it still has a key, not a region
        return None


class CustomerRecords:
    """Customers, keys, history, follow-ups, referrals (a mixin of `customers.store.Store`)."""

    session: Session

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
        if rowcount(result) != 1:
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
        parameters: dict[str, Any] = {
            "abbreviations": [domain.same_name_key(name) for name in abbreviations],
            "cap": max_postings,
        }
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
        if not keys:
            return  # a manager's override: every key stays with the customers holding it
        self.session.execute(
            insert(CustomerKey),
            [{"kind": kind, "key": key, "customer_id": customer_id} for kind, key in keys],
        )
        self.session.flush()

    def try_claim_keys(self, customer_id: int, keys: Sequence[tuple[str, str]]) -> bool:
        """`claim_keys`, or False (the transaction rolled back) when another customer took one
        of them at this very moment."""
        try:
            self.claim_keys(customer_id, keys)
        except IntegrityError:
            self.session.rollback()
            return False
        return True

    def entry_facts(self, owner_id: int, team: str | None, name_key: str) -> EntryFacts:
        """In one round trip, what an entry reads: the owner's team's holding limit, how many
        customers the owner holds, and who holds the name key in any region — the region rule,
        which no unique key can hold (see `lock_name`). The exact keys are not read: inserting
        them is the check (`claim_keys` raises IntegrityError for a held one)."""
        rows = self.session.execute(
            _ENTRY_FACTS,
            {"team": team, "owner_id": owner_id, "same_name": domain.same_name_key(name_key)},
        ).all()
        limit = next((value for fact, value in rows if fact == "limit"), None)
        held = next((value for fact, value in rows if fact == "held"), 0)
        return EntryFacts(
            None if limit is None else int(limit),
            int(held or 0),
            [int(value) for fact, value in rows if fact == "same_name"],
        )

    def lock_name(self, name_key: str) -> None:
        """Hold, until the transaction ends, the lock of one name key (all its regions): entries
        of one key then check and write one after the other. The unique keys alone cannot see
        that 华为技术 and 深圳市华为技术 collide (they hold different keys: normalize,
        "Regions"). PostgreSQL: a transaction-level advisory lock; SQLite runs one writer at a
        time already."""
        if self.session.get_bind().dialect.name != "postgresql":
            return
        digest = hashlib.blake2b(name_key.encode(), digest_size=8).digest()
        self.session.execute(
            text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": int.from_bytes(digest, "big", signed=True)}
        )

    def free_keys(self, keys: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """Those of ``keys`` that no customer holds (by the primary key: one indexed read)."""
        if not keys:
            return []
        held = set(
            self.session.execute(
                select(CustomerKey.kind, CustomerKey.key).where(
                    tuple_(CustomerKey.kind, CustomerKey.key).in_(list(keys))
                )
            ).tuples()
        )
        return [key for key in keys if key not in held]

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

    def followups_since(self, since: datetime, offset: int, limit: int) -> list[Followup]:
        """Every follow-up that happened from ``since`` on, oldest first."""
        return list(
            self.session.scalars(
                select(Followup)
                .where(Followup.occurred_at >= since)
                .order_by(Followup.occurred_at, Followup.id)
                .offset(offset)
                .limit(limit)
            )
        )

    def entered_since(self, since: datetime, offset: int, limit: int) -> list[tuple[Customer, int | None]]:
        """Customers entered from ``since`` on, oldest first, each with the owner it was entered
        for (its first ownership change: ``entered`` or ``duplicate_overridden``)."""
        entry_owner = (
            select(OwnershipChange.to_owner_id)
            .where(OwnershipChange.customer_id == Customer.id)
            .order_by(OwnershipChange.id)
            .limit(1)
            .correlate(Customer)
            .scalar_subquery()
        )
        rows = self.session.execute(
            select(Customer, entry_owner)
            .where(Customer.entered_at >= since)
            .order_by(Customer.entered_at, Customer.id)
            .offset(offset)
            .limit(limit)
        )
        return [(customer, owner_id) for customer, owner_id in rows]

    def revisit_as_of(self, customer_id: int, moment: datetime) -> datetime | None:
        """The customer's planned next visit in its latest revision at ``moment``."""
        snapshot = self.session.scalar(
            select(Revision.snapshot)
            .where(Revision.customer_id == customer_id, Revision.changed_at <= moment)
            .order_by(Revision.revision.desc())
            .limit(1)
        )
        visit = (snapshot or {}).get("next_visit_at")
        return datetime.fromisoformat(visit) if visit else None

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
