"""The customers service's tables.

Race safety lives here: ``customer_keys`` holds every exact key of every live customer (its
name key and each phone, contacts' phones included) under a primary key on (kind, key), written
in the customer's own transaction. Two entries of one company at the same moment, through any
number of service instances, cannot both commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm_common.models import service_metadata
from crm_common.timestamps import UtcDateTime
from customers.domain import ACTIVE


class Base(DeclarativeBase):
    metadata = service_metadata()


class Customer(Base):
    """The current revision of a customer, its owner and its place in the lifecycle."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(220))
    phones: Mapped[list[str]] = mapped_column(JSON, default=list)
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    address: Mapped[str | None] = mapped_column(String(300))
    industry: Mapped[str | None] = mapped_column(String(100))
    birthday: Mapped[str | None] = mapped_column(String(10))
    next_visit_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_visit_contact: Mapped[str | None] = mapped_column(String(100))
    referred_by: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(Integer, index=True)
    owner_name: Mapped[str | None] = mapped_column(String(100))
    owned_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    team: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    entered_by: Mapped[int] = mapped_column(Integer)
    entered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    pooled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    pooled_from: Mapped[int | None] = mapped_column(Integer)
    pool_reason: Mapped[str | None] = mapped_column(Text)
    # the pool rules: why it is in the pool (constants.POOL_CAUSES), its latest won deal (from
    # pipeline's opportunity_won) and when its owner was last warned of a return
    pool_cause: Mapped[str | None] = mapped_column(String(16))
    last_won_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    return_warned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PoolSettings(Base):
    """A team's pool rules (公海规则), set by its manager; a team without a row has the defaults."""

    __tablename__ = "pool_settings"

    team: Mapped[str] = mapped_column(String(64), primary_key=True)
    followup_days: Mapped[int] = mapped_column(Integer)
    won_deal_days: Mapped[int] = mapped_column(Integer)
    warning_days: Mapped[int] = mapped_column(Integer)
    max_customers: Mapped[int] = mapped_column(Integer)
    max_daily_takes: Mapped[int] = mapped_column(Integer)
    cooldown_days: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class CustomerKey(Base):
    """An exact key (kind "name" or "phone") owned by one live customer: the duplicate block."""

    __tablename__ = "customer_keys"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(220), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)


class FuzzyKey(Base):
    """A candidate key of the fuzzy scan (name n-gram or phone), see domain.candidate_keys."""

    __tablename__ = "fuzzy_keys"

    key: Mapped[str] = mapped_column(String(220), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True, index=True)


class Revision(Base):
    """Every revision of a customer's record, the first being its entry; never changed."""

    __tablename__ = "customer_revisions"
    __table_args__ = (UniqueConstraint("customer_id", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[int | None] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    amendment_id: Mapped[int | None] = mapped_column(Integer)


class OwnershipChange(Base):
    """A change of owner or of lifecycle status (entered, transferred, pooled, taken, archived)."""

    __tablename__ = "ownership_changes"
    # the pool rules count a salesperson's takes of a day and find a former owner's last return
    __table_args__ = (Index("ix_ownership_changes_to_owner_reason", "to_owner_id", "reason", "changed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    from_owner_id: Mapped[int | None] = mapped_column(Integer)
    to_owner_id: Mapped[int | None] = mapped_column(Integer)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[int | None] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    alarm_id: Mapped[int | None] = mapped_column(Integer)
    dispute_id: Mapped[int | None] = mapped_column(Integer)
    suspicion_id: Mapped[int | None] = mapped_column(Integer)


class Amendment(Base):
    """A request to correct a customer; a manager approves (a new revision) or rejects it."""

    __tablename__ = "amendments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    base_revision: Mapped[int] = mapped_column(Integer)
    revision: Mapped[int | None] = mapped_column(Integer)
    requested_by: Mapped[int] = mapped_column(Integer)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_by: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)


class Followup(Base):
    """A call, visit, sample, quote or other contact with the customer; never changed."""

    __tablename__ = "followups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_by: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Dispute(Base):
    """The open question of who should own a customer; collects every claim until resolved."""

    __tablename__ = "disputes"
    __table_args__ = (
        # one open dispute per customer, whatever number of instances open it at once
        Index(
            "uq_disputes_open_customer",
            "customer_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    owner_id: Mapped[int | None] = mapped_column(Integer)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    winner_id: Mapped[int | None] = mapped_column(Integer)
    proposed_winner_id: Mapped[int | None] = mapped_column(Integer)
    proposal_reason: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[int | None] = mapped_column(Integer)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(Text)


class Claim(Base):
    """A salesperson's claim on another's customer, naming the contact they deal with."""

    __tablename__ = "claims"
    __table_args__ = (UniqueConstraint("dispute_id", "claimant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    claimant_id: Mapped[int] = mapped_column(Integer)
    claimant_name: Mapped[str] = mapped_column(String(100))
    claimant_team: Mapped[str | None] = mapped_column(String(64))
    contact_name: Mapped[str] = mapped_column(String(100))
    decision_level: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")


class DuplicateSuspicion(Base):
    """A pair the fuzzy scan found alike: the later customer and the earlier one it resembles."""

    __tablename__ = "duplicate_suspicions"
    __table_args__ = (UniqueConstraint("customer_id", "duplicate_of_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    duplicate_of_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_by: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(Text)


class ImportJob(Base):
    """A CSV import running in the background: the uploaded file, who it is for, its progress.

    The runner that holds ``claim_token`` until ``lease_until`` is the only one working on it;
    each batch commits its customers together with ``rows_done`` and the counts, so a job picked
    up again after a restart resumes after the last committed batch.
    """

    __tablename__ = "import_jobs"
    __table_args__ = (Index("ix_import_jobs_state_lease", "state", "lease_until"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    filename: Mapped[str | None] = mapped_column(String(200))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)  # dropped when the job ends
    phone_region: Mapped[str] = mapped_column(String(8))
    owner_id: Mapped[int] = mapped_column(Integer, index=True)
    owner_name: Mapped[str | None] = mapped_column(String(100))
    team: Mapped[str | None] = mapped_column(String(64), index=True)
    submitted_by: Mapped[int] = mapped_column(Integer, index=True)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    total_rows: Mapped[int] = mapped_column(Integer)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    invalid: Mapped[int] = mapped_column(Integer, default=0)
    claim_token: Mapped[str | None] = mapped_column(String(36))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # claims in a row without progress
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class ImportJobRow(Base):
    """One line of an import's per-row report, written with the batch that handled the row."""

    __tablename__ = "import_job_rows"
    __table_args__ = (Index("ix_import_job_rows_job_status", "job_id", "status", "line"),)

    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id"), primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(210))
    customer_id: Mapped[int | None] = mapped_column(Integer)
    errors: Mapped[list[str]] = mapped_column(JSON, default=list)
    field_errors: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    duplicate_of: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Handover(Base):
    """The hand-over of a deactivated user's customers (one per ``user_deactivated`` event): to a
    colleague (``to_owner_id``) or to the team pool (``to_owner_id`` null).

    It is recorded, and committed, before the first customer moves; each batch of customers then
    commits together with ``moved`` under the condition that ``claim_token`` still holds the lease,
    so a hand-over cut short (a crash, a restart) is picked up again once ``lease_until`` passes and
    moves only the customers the user still owns: none twice, none left behind.
    """

    __tablename__ = "handovers"
    __table_args__ = (Index("ix_handovers_state_lease", "state", "lease_until"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    username: Mapped[str | None] = mapped_column(String(64))
    team: Mapped[str | None] = mapped_column(String(64))
    to_owner_id: Mapped[int | None] = mapped_column(Integer)
    to_owner_name: Mapped[str | None] = mapped_column(String(100))
    by: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="running")  # running, done
    moved: Mapped[int] = mapped_column(Integer, default=0)
    claim_token: Mapped[str | None] = mapped_column(String(36))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
