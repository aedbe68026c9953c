"""A small in-memory stand-in for `customers.store.Store`: the part of it the ownership, claim
and follow-up use cases use, on real model instances kept in dicts (no database). The checks in
``store_checks.py`` run against it (tests/unit) and against the real Store (tests/service), so
it cannot drift from what the store does."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from customers import domain
from customers.exceptions import ClaimExists, CustomerNotFound
from customers.models import (
    Amendment,
    Claim,
    Customer,
    Dispute,
    Followup,
    Handover,
    OwnershipChange,
    PoolSettings,
    Revision,
)


class FakeStore:
    def __init__(self) -> None:
        self.customers: dict[int, Customer] = {}
        self.keys: dict[tuple[str, str], int] = {}
        self.changes: list[OwnershipChange] = []
        self.disputes: dict[int, Dispute] = {}
        self.claims: dict[int, Claim] = {}
        self.followup_rows: dict[int, Followup] = {}
        self.amendment_rows: dict[int, Amendment] = {}
        self.revision_rows: list[Revision] = []
        self.handover_rows: dict[int, Handover] = {}
        self.events: list[tuple[str, dict]] = []
        self.settings_rows: dict[str, PoolSettings] = {}
        self._ids = 0

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    # --- customers

    def get(self, customer_id: int) -> Customer | None:
        if not isinstance(customer_id, int) or not 0 < customer_id <= domain.MAX_ID:
            return None
        return self.customers.get(customer_id)

    def require(self, customer_id: int) -> Customer:
        customer = self.get(customer_id)
        if customer is None:
            raise CustomerNotFound(f"no customer {customer_id}", {"customer_id": customer_id})
        return customer

    def by_ids(self, customer_ids: Iterable[int]) -> dict[int, Customer]:
        return {cid: self.customers[cid] for cid in customer_ids if cid in self.customers}

    def add_customer(self, values: dict[str, Any]) -> Customer:
        customer = Customer(id=self._next_id(), **values)
        self.customers[customer.id] = customer
        return customer

    def update_customer(self, customer_id: int, expected: dict[str, Any], values: dict[str, Any]) -> bool:
        customer = self.customers.get(customer_id)
        if customer is None or any(getattr(customer, column) != value for column, value in expected.items()):
            return False
        for column, value in values.items():
            setattr(customer, column, value)
        return True

    def pool(self, team: str | None) -> list[Customer]:
        pooled = [
            c
            for c in self.customers.values()
            if c.status == domain.IN_POOL and (team is None or c.team == team)
        ]
        return sorted(pooled, key=lambda c: (c.pooled_at, c.id), reverse=True)

    # --- keys

    def claim_keys(self, customer_id: int, keys: Sequence[tuple[str, str]]) -> None:
        if any(key in self.keys for key in keys):
            raise ValueError("a key is held")  # the real store raises IntegrityError
        self.keys.update({key: customer_id for key in keys})

    def try_claim_keys(self, customer_id: int, keys: Sequence[tuple[str, str]]) -> bool:
        if any(self.keys.get(key, customer_id) != customer_id for key in keys):
            return False
        self.keys.update({key: customer_id for key in keys})
        return True

    def release_keys(self, customer_id: int) -> None:
        self.keys = {key: cid for key, cid in self.keys.items() if cid != customer_id}

    def lock_name(self, name_key: str) -> None:
        pass

    # --- history

    def add_ownership_change(self, **values: Any) -> OwnershipChange:
        change = OwnershipChange(id=len(self.changes) + 1, **values)
        self.changes.append(change)
        return change

    def ownership_changes(self, customer_id: int) -> list[OwnershipChange]:
        mine = [c for c in self.changes if c.customer_id == customer_id]
        return sorted(mine, key=lambda c: (c.changed_at, c.id))

    def add_revision(self, **values: Any) -> Revision:
        revision = Revision(id=len(self.revision_rows) + 1, **values)
        self.revision_rows.append(revision)
        return revision

    def revisions(self, customer_id: int) -> list[Revision]:
        return sorted(
            (r for r in self.revision_rows if r.customer_id == customer_id), key=lambda r: r.revision
        )

    # --- amendments

    def add_amendment(self, **values: Any) -> Amendment:
        amendment = Amendment(id=self._next_id(), **values)
        self.amendment_rows[amendment.id] = amendment
        return amendment

    def amendment(self, customer_id: int, amendment_id: int) -> Amendment | None:
        amendment = self.amendment_rows.get(amendment_id)
        return amendment if amendment is not None and amendment.customer_id == customer_id else None

    def amendments(self, customer_id: int) -> list[Amendment]:
        return sorted(
            (a for a in self.amendment_rows.values() if a.customer_id == customer_id), key=lambda a: a.id
        )

    def pending_amendments(self, scope: tuple[str, Any]) -> list[Amendment]:
        kind, value = scope
        pending = [a for a in self.amendment_rows.values() if a.status == "pending"]
        if kind == "team":
            pending = [a for a in pending if self.customers[a.customer_id].team == value]
        elif kind == "own":
            pending = [a for a in pending if a.requested_by == value]
        return sorted(pending, key=lambda a: a.id)

    def decide_amendment(self, amendment_id: int, **values: Any) -> bool:
        amendment = self.amendment_rows.get(amendment_id)
        if amendment is None or amendment.status != "pending":
            return False
        for column, value in values.items():
            setattr(amendment, column, value)
        return True

    # --- disputes and claims

    def open_dispute(self, customer_id: int) -> Dispute | None:
        return next(
            (d for d in self.disputes.values() if d.customer_id == customer_id and d.status == "open"), None
        )

    def open_or_join_dispute(self, customer_id: int, owner_id: int | None, now: Any) -> Dispute:
        dispute = self.open_dispute(customer_id)
        if dispute is None:
            dispute = Dispute(
                id=self._next_id(), customer_id=customer_id, status="open", owner_id=owner_id, opened_at=now
            )
            self.disputes[dispute.id] = dispute
        return dispute

    def add_claim(self, **values: Any) -> Claim:
        if any(
            c.dispute_id == values["dispute_id"] and c.claimant_id == values["claimant_id"]
            for c in self.claims.values()
        ):
            raise ClaimExists("you already claimed this customer; the manager will decide")
        claim = Claim(id=self._next_id(), **values)
        self.claims[claim.id] = claim
        return claim

    def dispute(self, dispute_id: int) -> Dispute | None:
        return self.disputes.get(dispute_id)

    def claims_of_dispute(self, dispute_id: int) -> list[Claim]:
        return sorted((c for c in self.claims.values() if c.dispute_id == dispute_id), key=lambda c: c.id)

    def close_dispute(self, dispute_id: int, **values: Any) -> bool:
        dispute = self.disputes.get(dispute_id)
        if dispute is None or dispute.status != "open":
            return False
        for column, value in values.items():
            setattr(dispute, column, value)
        return True

    def settle_claims(self, dispute_id: int, winner_id: int | None, closed: bool = False) -> None:
        for claim in self.claims_of_dispute(dispute_id):
            if claim.status == "open":
                claim.status = "closed" if closed else ("won" if claim.claimant_id == winner_id else "lost")

    # --- follow-ups

    def add_followup(self, **values: Any) -> Followup:
        followup = Followup(id=self._next_id(), **values)
        self.followup_rows[followup.id] = followup
        return followup

    def followups(self, customer_id: int, limit: int | None = None) -> list[Followup]:
        mine = sorted(
            (f for f in self.followup_rows.values() if f.customer_id == customer_id),
            key=lambda f: (f.occurred_at, f.id),
            reverse=True,
        )
        return mine[:limit] if limit else mine

    def followups_since(self, since: datetime, offset: int, limit: int) -> list[Followup]:
        found = sorted(
            (f for f in self.followup_rows.values() if f.occurred_at >= since),
            key=lambda f: (f.occurred_at, f.id),
        )
        return found[offset : offset + limit]

    def entered_since(self, since: datetime, offset: int, limit: int) -> list[tuple[Customer, int | None]]:
        found = sorted(
            (c for c in self.customers.values() if c.entered_at >= since), key=lambda c: (c.entered_at, c.id)
        )
        first = {}
        for change in sorted(self.changes, key=lambda c: c.id, reverse=True):
            first[change.customer_id] = change.to_owner_id
        return [(c, first.get(c.id)) for c in found[offset : offset + limit]]

    def revisit_as_of(self, customer_id: int, moment: datetime) -> datetime | None:
        current = [r for r in self.revisions(customer_id) if r.changed_at <= moment]
        visit = current[-1].snapshot.get("next_visit_at") if current else None
        return datetime.fromisoformat(visit) if visit else None

    def followup(self, customer_id: int, followup_id: int) -> Followup | None:
        followup = self.followup_rows.get(followup_id)
        return followup if followup is not None and followup.customer_id == customer_id else None

    # --- hand-overs (store_offboarding)

    def commit(self) -> None:
        """No transactions here: what is written holds at once."""

    def rollback(self) -> None:
        """No transactions here: nothing to take back."""

    def add_handover(self, **values: Any) -> Handover:
        if any(h.event_id == values["event_id"] for h in self.handover_rows.values()):
            raise AssertionError(f"a second hand-over for event {values['event_id']}")
        handover = Handover(id=self._next_id(), **values)
        self.handover_rows[handover.id] = handover
        return handover

    def handover(self, handover_id: int) -> Handover | None:
        return self.handover_rows.get(handover_id)

    def handovers_of(self, user_id: int) -> list[Handover]:
        return [h for h in sorted(self.handover_rows.values(), key=lambda h: h.id) if h.user_id == user_id]

    def stale_handovers(self, now: Any, limit: int) -> list[int]:
        return sorted(
            h.id for h in self.handover_rows.values() if h.state == "running" and h.lease_until < now
        )[:limit]

    def take_handover(self, handover_id: int, token: str, now: Any, lease_until: Any) -> bool:
        handover = self.handover_rows.get(handover_id)
        if handover is None or handover.state != "running" or not handover.lease_until < now:
            return False
        handover.claim_token, handover.lease_until = token, lease_until
        return True

    def record_handover_progress(
        self, handover_id: int, token: str, moved: int, values: dict[str, Any]
    ) -> bool:
        handover = self.handover_rows.get(handover_id)
        if handover is None or handover.claim_token != token or handover.state != "running":
            return False
        handover.moved += moved
        for column, value in values.items():
            setattr(handover, column, value)
        return True

    def customers_owned_by(self, user_id: int, after_id: int, limit: int) -> list[Customer]:
        owned = [
            c
            for c in self.customers.values()
            if c.owner_id == user_id and c.status == domain.ACTIVE and c.id > after_id
        ]
        return sorted(owned, key=lambda c: c.id)[:limit]

    # --- the pool rules

    def pool_settings(self, team: str) -> PoolSettings | None:
        return self.settings_rows.get(team)

    def save_pool_settings(self, team: str, values: dict[str, Any]) -> PoolSettings:
        row = self.settings_rows.setdefault(team, PoolSettings(team=team))
        for column, value in values.items():
            setattr(row, column, value)
        return row

    def teams_with_customers(self) -> list[str]:
        return sorted({c.team for c in self.customers.values() if c.status == domain.ACTIVE and c.team})

    def held_by(self, owner_id: int) -> int:
        return sum(1 for c in self.customers.values() if c.owner_id == owner_id and c.status == domain.ACTIVE)

    def takes_since(self, user_id: int, since: datetime) -> int:
        return sum(
            1
            for c in self.changes
            if c.to_owner_id == user_id and c.reason == "pool_take" and c.changed_at >= since
        )

    def left_owner_at(self, customer_id: int, owner_id: int) -> datetime | None:
        return max(
            (
                c.changed_at
                for c in self.changes
                if c.customer_id == customer_id
                and c.from_owner_id == owner_id
                and c.to_status == domain.IN_POOL
            ),
            default=None,
        )

    def _last_followup(self, customer_id: int) -> datetime | None:
        return max(
            (f.occurred_at for f in self.followup_rows.values() if f.customer_id == customer_id), default=None
        )

    def return_candidates(
        self, team: str, followup_cut: datetime, won_cut: datetime | None, after_id: int, limit: int
    ) -> list[Any]:
        rows = []
        for c in sorted(self.customers.values(), key=lambda c: c.id):
            if c.team != team or c.status != domain.ACTIVE or c.owner_id is None or c.id <= after_id:
                continue
            last = self._last_followup(c.id)
            quiet = c.owned_since <= followup_cut and (last is None or last <= followup_cut)
            unwon = (
                won_cut is not None
                and c.owned_since <= won_cut
                and (c.last_won_at is None or c.last_won_at <= won_cut)
            )
            if quiet or unwon:
                rows.append(
                    SimpleNamespace(
                        id=c.id,
                        owner_id=c.owner_id,
                        owned_since=c.owned_since,
                        last_won_at=c.last_won_at,
                        return_warned_at=c.return_warned_at,
                        last_followup_at=last,
                    )
                )
        return rows[:limit]

    def mark_warned(self, customer_id: int, owner_id: int, now: datetime, before: datetime) -> bool:
        c = self.customers.get(customer_id)
        if c is None or c.owner_id != owner_id or c.status != domain.ACTIVE:
            return False
        if c.return_warned_at is not None and c.return_warned_at >= before:
            return False
        c.return_warned_at = now
        return True

    def record_won_deal(self, customer_id: int, won_at: datetime) -> bool:
        c = self.customers.get(customer_id)
        if c is None or (c.last_won_at is not None and c.last_won_at >= won_at):
            return False
        c.last_won_at = won_at
        return True

    # --- the outbox

    def emit(self, event_type: str, data: dict[str, Any]) -> dict:
        self.events.append((event_type, data))
        return {"event_type": event_type, "data": data}

    def emitted(self, event_type: str) -> list[dict]:
        return [data for kind, data in self.events if kind == event_type]
