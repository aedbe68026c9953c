"""The notify service's tables: reminders, in-app notifications, the SMS log, and what notify
keeps of other services' facts (customers to watch, manager notices to hand out)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm_common.models import service_metadata
from crm_common.timestamps import UtcDateTime


class Base(DeclarativeBase):
    metadata = service_metadata()


class Reminder(Base):
    """One reminder of one salesperson; the database is the only schedule there is."""

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(Integer, index=True)
    team: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="manual")  # manual, birthday, revisit
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text, default="")
    customer_id: Mapped[int | None] = mapped_column(Integer, index=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    escalate_after_minutes: Mapped[int] = mapped_column(Integer)
    # due_at + escalate_after_minutes, stored so the escalation claim is one indexed range scan
    escalate_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    timezone: Mapped[str] = mapped_column(String(64))
    # the owner's phone when the reminder was made; refreshed from accounts at escalation
    owner_phone: Mapped[str | None] = mapped_column(String(20))
    # system reminders (birthdays, revisits) are made once per key, however often events repeat
    source_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_reminders_status_due_at", "status", "due_at"),
        Index("ix_reminders_status_escalate_at", "status", "escalate_at"),
    )


class Notification(Base):
    """An in-app notification of one user: a due reminder, a manager notice, an SMS failure."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    reminder_id: Mapped[int | None] = mapped_column(Integer, index=True)
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    # one notification per fact and user, however often the fact is handled
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_notifications_user_id_read_at", "user_id", "read_at"),)


class SmsMessage(Base):
    """The SMS log: one row per message we mean to send, written before the provider is called.

    ``status`` is ours (pending → sending → sent | retrying | failed); ``provider_status`` is
    what the provider last told us (queued, sent, delivered, undelivered…).
    """

    __tablename__ = "sms_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    reminder_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    recipient_id: Mapped[int | None] = mapped_column(Integer, index=True)
    to: Mapped[str | None] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str | None] = mapped_column(String(16))
    provider_id: Mapped[str | None] = mapped_column(String(64), index=True)
    provider_status: Mapped[str | None] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(36), index=True)
    first_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_sms_messages_status_next_attempt_at", "status", "next_attempt_at"),)


class CustomerWatch(Base):
    """What notify knows of a customer, from customers' events (never from its database)."""

    __tablename__ = "customer_watch"

    customer_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(Integer)
    team: Mapped[str | None] = mapped_column(String(64))
    birthday_month: Mapped[int | None] = mapped_column(Integer)
    birthday_day: Mapped[int | None] = mapped_column(Integer)
    next_visit_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_visit_contact: Mapped[str | None] = mapped_column(String(200))
    next_visit_contact_title: Mapped[str | None] = mapped_column(String(100))
    last_reminded_year: Mapped[int | None] = mapped_column(Integer)
    # the newest event applied, so an older one arriving late changes nothing
    revision: Mapped[int] = mapped_column(Integer, default=0)
    event_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # set by every event and by the daily scan; cleared once reminders match the facts
    needs_review: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ManagerNotice(Base):
    """An event a team's managers must hear about, kept until they have been told."""

    __tablename__ = "manager_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    team: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)  # the event envelope, JSON
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)


class TeamSetting(Base):
    """Per-team choices: how far ahead birthdays and revisits are announced."""

    __tablename__ = "team_settings"

    team: Mapped[str] = mapped_column(String(64), primary_key=True)
    birthday_days_ahead: Mapped[int] = mapped_column(Integer)
    revisit_lead_hours: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class UserPreference(Base):
    """Per-user choices kept by notify: a manager may want team notices by SMS as well."""

    __tablename__ = "user_preferences"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sms_for_notices: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
