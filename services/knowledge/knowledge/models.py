"""The knowledge service's tables: entries (with versions, tags, votes), alarms and answers.

The full-text index lives beside them (see ``knowledge.search``): on PostgreSQL a generated
``tsvector`` column over ``terms`` and ``facets`` with a GIN index, on SQLite FTS5 tables. Both are created by
the migrations only, because neither exists in the other dialect.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from crm_common.models import service_metadata
from crm_common.timestamps import UtcDateTime


class Base(DeclarativeBase):
    metadata = service_metadata()


class Entry(Base):
    """The current version of a knowledge entry; older versions are in ``entry_versions``."""

    __tablename__ = "entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    problem: Mapped[str] = mapped_column(Text, default="")
    solution: Mapped[str] = mapped_column(Text)
    tags: Mapped[str] = mapped_column(Text, default="[]")  # JSON list, in the author's order
    author_id: Mapped[int] = mapped_column(Integer, index=True)
    author_name: Mapped[str] = mapped_column(String(100))
    team: Mapped[str | None] = mapped_column(String(64), index=True)
    customer_id: Mapped[int | None] = mapped_column(Integer)
    industry: Mapped[str | None] = mapped_column(String(100))
    source_alarm_id: Mapped[int | None] = mapped_column(Integer, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    views: Mapped[int] = mapped_column(Integer, default=0)
    useful_votes: Mapped[int] = mapped_column(Integer, default=0)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    # the segmented searchable text (Segmenter.index_terms): what the full-text index covers
    terms: Mapped[str] = mapped_column(Text, default="")
    # one token per kind and tag (knowledge.search.entry_facets), indexed with the terms
    facets: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    # search order inside one relevance level, and the order of a listing without a query
    __table_args__ = (Index("ix_entries_usefulness", "archived", "useful_votes", "id"),)


class EntryTag(Base):
    """One tag of an entry, for filtering by tag."""

    __tablename__ = "entry_tags"

    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(30), primary_key=True, index=True)


class EntryVersion(Base):
    """Every version of an entry as its author wrote it, the first one included."""

    __tablename__ = "entry_versions"
    __table_args__ = (UniqueConstraint("entry_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    problem: Mapped[str] = mapped_column(Text)
    solution: Mapped[str] = mapped_column(Text)
    tags: Mapped[str] = mapped_column(Text)
    edited_by: Mapped[int] = mapped_column(Integer)
    edited_at: Mapped[datetime] = mapped_column(UtcDateTime)


class EntryVote(Base):
    """A "useful" vote: one per user and entry."""

    __tablename__ = "entry_votes"

    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    voted_at: Mapped[datetime] = mapped_column(UtcDateTime)


class EntryRead(Base):
    """Someone other than its author opened the entry: one row per ``entry_read`` event, written
    in its transaction and keyed by its id (the same fact, for the appraisal's replay)."""

    __tablename__ = "entry_reads"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), index=True)
    reader_id: Mapped[int] = mapped_column(Integer)
    read_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class Alarm(Base):
    """A difficulty alarm (困难报警) of one team."""

    __tablename__ = "alarms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    problem: Mapped[str] = mapped_column(Text)
    customer_id: Mapped[int | None] = mapped_column(Integer, index=True)
    customer_name: Mapped[str | None] = mapped_column(String(200))
    raised_by: Mapped[int] = mapped_column(Integer, index=True)
    raised_by_name: Mapped[str] = mapped_column(String(100))
    team: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    accepted_answer_id: Mapped[int | None] = mapped_column(Integer)
    entry_id: Mapped[int | None] = mapped_column(Integer)  # the entry published from it
    terms: Mapped[str] = mapped_column(Text, default="")
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AlarmAnswer(Base):
    __tablename__ = "alarm_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(Integer)
    author_name: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    by_manager: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[datetime] = mapped_column(UtcDateTime)

    alarm: Mapped[Alarm] = relationship()
