"""The pipeline service's tables: stage sets (versioned), opportunities, their moves, targets."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from crm_common.models import service_metadata
from crm_common.timestamps import UtcDateTime

MONEY = Numeric(14, 2)
# Written as a literal in both the partial indexes and the queries: a planner uses a partial index
# only when the query's condition is the index's own text, not a bound parameter.
OPEN_CONDITION = "status = 'open'"


class Base(DeclarativeBase):
    metadata = service_metadata()


class StageSet(Base):
    """One version of a team's stages. An edit adds a new set; old ones stay to explain old forecasts.

    ``team`` None is the company default, used by every team that has no set of its own. The ``id``
    is the version number clients see.
    """

    __tablename__ = "stage_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[int | None] = mapped_column(Integer)
    stages: Mapped[list[StageRow]] = relationship(
        order_by="StageRow.position", lazy="selectin", cascade="all, delete-orphan"
    )


class StageRow(Base):
    __tablename__ = "stages"
    __table_args__ = (UniqueConstraint("stage_set_id", "key", name="uq_stages_stage_set_id_key"),)

    stage_set_id: Mapped[int] = mapped_column(ForeignKey("stage_sets.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    probability: Mapped[int] = mapped_column(Integer)
    in_forecast: Mapped[bool] = mapped_column(Boolean)


class Opportunity(Base):
    """A deal. ``stage`` is a stage key of its team's set; ``status`` is open, won or lost."""

    __tablename__ = "opportunities"
    __table_args__ = (
        # The forecast and funnel of one salesperson, and of a team: index-only on PostgreSQL.
        Index(
            "ix_opportunities_open_owner",
            "owner_id",
            "expected_close_date",
            postgresql_where=text(OPEN_CONDITION),
            sqlite_where=text(OPEN_CONDITION),
            postgresql_include=["stage", "amount"],
        ),
        Index(
            "ix_opportunities_open_team",
            "team",
            "expected_close_date",
            postgresql_where=text(OPEN_CONDITION),
            sqlite_where=text(OPEN_CONDITION),
            postgresql_include=["owner_id", "stage", "amount"],
        ),
        # Listings, and what was won in a period.
        Index("ix_opportunities_owner_status_closed", "owner_id", "status", "closed_at"),
        Index("ix_opportunities_team_status_closed", "team", "status", "closed_at"),
        Index("ix_opportunities_customer_status", "customer_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(Integer)
    owner_id: Mapped[int] = mapped_column(Integer)
    team: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    stage: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(8))
    expected_close_date: Mapped[date | None] = mapped_column(Date)
    close_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_by: Mapped[int | None] = mapped_column(Integer)
    # Optimistic locking: two moves of one deal at once cannot both win (StaleDataError).
    row_version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": row_version}


class StageChange(Base):
    """Every stage a deal entered, when and by whom; ``changed_by`` None for the system."""

    __tablename__ = "stage_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # created, moved, won, team_changed
    from_stage: Mapped[str | None] = mapped_column(String(32))
    to_stage: Mapped[str] = mapped_column(String(32))
    probability: Mapped[int] = mapped_column(Integer)  # of to_stage, in the set then in force
    stage_set_id: Mapped[int] = mapped_column(ForeignKey("stage_sets.id"))
    changed_by: Mapped[int | None] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Target(Base):
    """A sales target for one period: a salesperson's (``owner_id``) or a whole team's (None)."""

    __tablename__ = "targets"
    __table_args__ = (
        Index(
            "uq_targets_owner_period",
            "owner_id",
            "period",
            unique=True,
            postgresql_where=text("owner_id IS NOT NULL"),
            sqlite_where=text("owner_id IS NOT NULL"),
        ),
        Index(
            "uq_targets_team_period",
            "team",
            "period",
            unique=True,
            postgresql_where=text("owner_id IS NULL"),
            sqlite_where=text("owner_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(Integer)
    team: Mapped[str | None] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(7))  # 2026-12 or 2026-Q4
    amount: Mapped[Decimal] = mapped_column(MONEY)
    set_by: Mapped[int] = mapped_column(Integer)
    set_at: Mapped[datetime] = mapped_column(UtcDateTime)
