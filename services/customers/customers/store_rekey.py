"""The reads and writes of the rekey command (customers.rekey), batch by batch: the `Store`
mixin for recomputing stored keys."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from customers import domain
from customers.models import Customer, CustomerKey, FuzzyKey


class RekeyRecords:
    """Stored keys, read and replaced in batches (a mixin of `customers.store.Store`)."""

    session: Session

    def live_batch(self, after_id: int, limit: int) -> Sequence[Any]:
        """The next live customers after ``after_id`` (id, name, name_key, phones, contacts)."""
        return self.session.execute(
            select(Customer.id, Customer.name, Customer.name_key, Customer.phones, Customer.contacts)
            .where(Customer.id > after_id, Customer.status != domain.ARCHIVED)
            .order_by(Customer.id)
            .limit(limit)
        ).all()

    def held_keys(self, ids: Sequence[int]) -> dict[int, set[tuple[str, str]]]:
        held: dict[int, set[tuple[str, str]]] = {cid: set() for cid in ids}
        for cid, kind, key in self.session.execute(
            select(CustomerKey.customer_id, CustomerKey.kind, CustomerKey.key).where(
                CustomerKey.customer_id.in_(ids)
            )
        ):
            held[cid].add((kind, key))
        return held

    def indexed_keys(self, ids: Sequence[int]) -> dict[int, set[str]]:
        indexed: dict[int, set[str]] = {cid: set() for cid in ids}
        for cid, key in self.session.execute(
            select(FuzzyKey.customer_id, FuzzyKey.key).where(FuzzyKey.customer_id.in_(ids))
        ):
            indexed[cid].add(key)
        return indexed

    def key_holders(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        return {
            (kind, key): cid
            for kind, key, cid in self.session.execute(
                select(CustomerKey.kind, CustomerKey.key, CustomerKey.customer_id).where(
                    tuple_(CustomerKey.kind, CustomerKey.key).in_(sorted(wanted))
                )
            )
        }

    def replace_keys(
        self,
        customer_ids: Sequence[int],
        exact_rows: list[dict],
        fuzzy_rows: list[dict],
        name_keys: dict[int, str],
    ) -> None:
        """Replace the exact and fuzzy keys of ``customer_ids``; set the ``name_keys`` that changed."""
        self.session.execute(delete(CustomerKey).where(CustomerKey.customer_id.in_(customer_ids)))
        self.session.execute(delete(FuzzyKey).where(FuzzyKey.customer_id.in_(customer_ids)))
        if exact_rows:
            self.session.execute(insert(CustomerKey), exact_rows)
        self.session.execute(insert(FuzzyKey), fuzzy_rows)
        for cid, name_key in name_keys.items():
            self.session.execute(update(Customer).where(Customer.id == cid).values(name_key=name_key))

    def names_of(self, ids: Sequence[int]) -> dict[int, str]:
        return dict(
            self.session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids)))
            .tuples()
            .all()
        )

    def postings_of(self, keys: Iterable[str]) -> dict[str, list[int]]:
        postings: dict[str, list[int]] = {}
        for key, cid in self.session.execute(
            select(FuzzyKey.key, FuzzyKey.customer_id).where(FuzzyKey.key.in_(sorted(keys)))
        ):
            postings.setdefault(key, []).append(cid)
        return postings

    def live_names(self, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        return {
            row.id: (row.name, row.name_key)
            for row in self.session.execute(
                select(Customer.id, Customer.name, Customer.name_key).where(
                    Customer.id.in_(sorted(ids)), Customer.status != domain.ARCHIVED
                )
            )
        }
