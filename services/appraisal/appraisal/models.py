"""The appraisal service's tables: evidence learnt from other services' events, targets, the
schemes of the teams, scorecards and their interview notes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm_common.models import service_metadata
from crm_common.timestamps import UtcDateTime


class Base(DeclarativeBase):
    metadata = service_metadata()


class Evidence(Base):
    """One fact about one person, from one event: the number behind a metric and where it came from
    (``ref_id``: the deal, customer, reminder, alarm answer or entry; ``source_event_id``)."""

    __tablename__ = "evidence"
    __table_args__ = (
        UniqueConstraint("source_event_id", "kind", "person_id", name="uq_evidence_event_kind_person"),
        # a person's evidence in a period, and a team's (the manager's metrics), by kind
        Index("ix_evidence_person_day", "person_id", "day", "kind"),
        Index("ix_evidence_team_kind_day", "team", "kind", "day"),
        # one row per person, kind and source reference (the deal, customer, reminder, answer,
        # entry): the bus and a replay (appraisal.replay) meet on it, so neither counts twice
        Index("uq_evidence_kind_ref_person", "kind", "ref_id", "person_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(Integer)
    team: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)  # the local calendar day it happened (TIMEZONE)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ref_id: Mapped[int] = mapped_column(Integer)
    related_id: Mapped[int | None] = mapped_column(Integer)  # the alarm of an answer / resolution
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    flag: Mapped[bool] = mapped_column(Boolean, default=False)  # an entry from an alarm
    label: Mapped[str | None] = mapped_column(String(200))  # a title or reason, for the drill-down
    source_event_id: Mapped[str] = mapped_column(String(64))


class Target(Base):
    """pipeline's latest target of a salesperson (``subject`` "user:<id>") or a team ("team:<name>")
    for a month or quarter."""

    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("subject", "period", name="uq_targets_subject_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(80))
    period: Mapped[str] = mapped_column(String(8))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    source_event_id: Mapped[str] = mapped_column(String(64))


class SchemeRow(Base):
    """A team's scheme (indicators, weights, metrics, bands) as JSON; no row: the default."""

    __tablename__ = "schemes"

    team: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[str] = mapped_column(Text)
    set_by: Mapped[int] = mapped_column(Integer)
    set_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Scorecard(Base):
    """One person's appraisal for one period. ``scheme`` is the scheme it was computed with,
    ``values`` each metric's figure and ``facts`` the counted evidence (JSON); ``manager_scores``
    ``{indicator: {score, comment}}``. ``total``/``rating`` are kept for listing and ranking."""

    __tablename__ = "scorecards"
    __table_args__ = (
        UniqueConstraint("person_id", "period", name="uq_scorecards_person_period"),
        Index("ix_scorecards_team_period", "team", "period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(Integer)
    person_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    team: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16))
    scheme: Mapped[str] = mapped_column(Text)
    facts: Mapped[str] = mapped_column(Text)
    values: Mapped[str] = mapped_column(Text)
    manager_scores: Mapped[str] = mapped_column(Text, default="{}")
    total: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    rating: Mapped[str | None] = mapped_column(String(8))
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    scored_by: Mapped[int | None] = mapped_column(Integer)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    published_by: Mapped[int | None] = mapped_column(Integer)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    disputed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    dispute_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reviewed_by: Mapped[int | None] = mapped_column(Integer)
    review_note: Mapped[str | None] = mapped_column(Text)
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": row_version}


class InterviewNote(Base):
    """What was said in the appraisal interview (面谈), attached to a published scorecard."""

    __tablename__ = "interview_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecards.id"), index=True)
    author_id: Mapped[int] = mapped_column(Integer)
    author_name: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
