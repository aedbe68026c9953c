"""The pool rules' SQL (公海规则): each team's settings, what a salesperson holds and took today,
a former owner's last return, the customers the schedule must look at, the warnings and the
latest won deals. A mixin of `customers.store.Store`.

Returns and warnings are conditional updates (``… WHERE owner_id = :owner AND status = 'active'
AND owned_since = :since``, ``… AND (return_warned_at IS NULL OR return_warned_at < :before)``)
with a row count check: of several instances sweeping at once, exactly one sees each row change,
and only that one records the history and emits the event (PostgreSQL: the second UPDATE waits
for the first's commit and then matches nothing; SQLite: one writer at a time).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from customers import domain
from customers.models import Customer, Followup, OwnershipChange, PoolSettings
from customers.store_customers import rowcount


class PoolRecords:
    """Pool settings, holdings, takes and the schedule's candidates (a Store mixin)."""

    session: Session

    # --- settings -----------------------------------------------------------------------------

    def pool_settings(self, team: str) -> PoolSettings | None:
        return self.session.get(PoolSettings, team)

    def save_pool_settings(self, team: str, values: dict[str, Any]) -> PoolSettings:
        row = self.session.get(PoolSettings, team)
        if row is None:
            row = PoolSettings(team=team)
            self.session.add(row)
        for column, value in values.items():
            setattr(row, column, value)
        self.session.flush()
        return row

    def teams_with_customers(self) -> list[str]:
        """Every team that has an active customer (the teams the schedule sweeps)."""
        return list(
            self.session.scalars(
                select(Customer.team)
                .where(Customer.status == domain.ACTIVE, Customer.team.is_not(None))
                .distinct()
                .order_by(Customer.team)
            )
        )

    # --- holding and taking -------------------------------------------------------------------

    def held_by(self, owner_id: int) -> int:
        """How many active customers the salesperson owns."""
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(Customer)
                .where(Customer.owner_id == owner_id, Customer.status == domain.ACTIVE)
            )
            or 0
        )

    def takes_since(self, user_id: int, since: datetime) -> int:
        """How many customers the salesperson took from the pool since ``since``."""
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(OwnershipChange)
                .where(
                    OwnershipChange.to_owner_id == user_id,
                    OwnershipChange.reason == "pool_take",
                    OwnershipChange.changed_at >= since,
                )
            )
            or 0
        )

    def left_owner_at(self, customer_id: int, owner_id: int) -> datetime | None:
        """When the customer last went from this owner to the pool (None: never)."""
        return self.session.scalar(
            select(func.max(OwnershipChange.changed_at)).where(
                OwnershipChange.customer_id == customer_id,
                OwnershipChange.from_owner_id == owner_id,
                OwnershipChange.to_status == domain.IN_POOL,
            )
        )

    # --- the schedule -------------------------------------------------------------------------

    def return_candidates(
        self,
        team: str,
        followup_cut: datetime,
        won_cut: datetime | None,
        after_id: int,
        limit: int,
    ) -> list[Any]:
        """Active customers of ``team`` (ids above ``after_id``, ascending, at most ``limit``)
        without a follow-up since ``followup_cut`` and owned since before it, or — with
        ``won_cut`` — without a won deal since then and owned since before it. Each row:
        id, owner_id, owned_since, last_won_at, return_warned_at, last_followup_at."""
        followed = exists().where(Followup.customer_id == Customer.id, Followup.occurred_at > followup_cut)
        conditions = [and_(Customer.owned_since <= followup_cut, ~followed)]
        if won_cut is not None:
            conditions.append(
                and_(
                    Customer.owned_since <= won_cut,
                    or_(Customer.last_won_at.is_(None), Customer.last_won_at <= won_cut),
                )
            )
        last_followup = (
            select(func.max(Followup.occurred_at))
            .where(Followup.customer_id == Customer.id)
            .scalar_subquery()
        )
        statement = (
            select(
                Customer.id,
                Customer.owner_id,
                Customer.owned_since,
                Customer.last_won_at,
                Customer.return_warned_at,
                last_followup.label("last_followup_at"),
            )
            .where(
                Customer.team == team,
                Customer.status == domain.ACTIVE,
                Customer.owner_id.is_not(None),
                Customer.id > after_id,
                or_(*conditions),
            )
            .order_by(Customer.id)
            .limit(limit)
        )
        return list(self.session.execute(statement))

    def mark_warned(self, customer_id: int, owner_id: int, now: datetime, before: datetime) -> bool:
        """Record a warning unless the owner changed or was warned since ``before``: True for the
        one caller that records it."""
        self.session.flush()
        result = self.session.execute(
            update(Customer)
            .where(
                Customer.id == customer_id,
                Customer.owner_id == owner_id,
                Customer.status == domain.ACTIVE,
                or_(Customer.return_warned_at.is_(None), Customer.return_warned_at < before),
            )
            .values(return_warned_at=now)
            .execution_options(synchronize_session=False)
        )
        return self._changed(result)

    def record_won_deal(self, customer_id: int, won_at: datetime) -> bool:
        """Keep ``won_at`` as the customer's latest won deal unless a later one is kept already."""
        self.session.flush()
        result = self.session.execute(
            update(Customer)
            .where(
                Customer.id == customer_id,
                or_(Customer.last_won_at.is_(None), Customer.last_won_at < won_at),
            )
            .values(last_won_at=won_at)
            .execution_options(synchronize_session=False)
        )
        return self._changed(result)

    def _changed(self, result: Any) -> bool:
        """Whether a conditional update changed its row; the session then reads it again."""
        if rowcount(result) != 1:
            return False
        self.session.expire_all()
        return True
