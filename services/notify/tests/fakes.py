"""In-memory stand-ins for notify's Store, for use-case tests without a database.

``tests/service/test_notify_store_contract.py`` runs the same checks against the real Store on a
real database, so a fake cannot drift from it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass
class FakeNotification:
    id: int
    user_id: int
    kind: str
    title: str
    body: str
    dedupe_key: str
    created_at: datetime
    reminder_id: int | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    read_at: datetime | None = None


@dataclass
class FakeReminder:
    """A reminder row: the columns of ``notify.models.Reminder``."""

    id: int
    owner_id: int
    title: str
    content: str
    due_at: datetime
    escalate_after_minutes: int
    escalate_at: datetime
    status: str
    timezone: str
    created_at: datetime
    kind: str = "manual"
    team: str | None = None
    customer_id: int | None = None
    owner_phone: str | None = None
    source_key: str | None = None
    late: bool = False
    created_by: int | None = None
    fired_at: datetime | None = None
    acknowledged_at: datetime | None = None
    escalated_at: datetime | None = None
    cancelled_at: datetime | None = None


class FakeReminders:
    """The Store's reminders as users work with them (``notify.store_reminders.ReminderStore``;
    its claims are about SQL and are checked on the real database only)."""

    def __init__(self) -> None:
        self.reminder_rows: list[FakeReminder] = []

    def add_reminder(self, **columns: Any) -> FakeReminder:
        row = FakeReminder(id=len(self.reminder_rows) + 1, **columns)
        self.reminder_rows.append(row)
        return row

    def reminder(self, reminder_id: int) -> FakeReminder | None:
        return next((row for row in self.reminder_rows if row.id == reminder_id), None)

    def reminders(
        self, *, team: str | None, owner_id: int | None, status: str | None, offset: int, limit: int
    ) -> list[FakeReminder]:
        chosen = [
            row
            for row in self.reminder_rows
            if (team is None or row.team == team)
            and (owner_id is None or row.owner_id == owner_id)
            and (not status or row.status == status)
        ]
        return sorted(chosen, key=lambda row: (row.due_at, row.id))[offset : offset + limit]

    def change_reminder(self, row: FakeReminder, expected_status: str, values: dict[str, Any]) -> bool:
        if row.status != expected_status:
            return False
        for column, value in values.items():
            setattr(row, column, value)
        return True


class FakeInbox:
    """The Store's in-app notifications (``notify.store_inbox.InboxStore``) in a list."""

    def __init__(self) -> None:
        self.rows: list[FakeNotification] = []

    def add_notification(
        self,
        *,
        user_id: int,
        kind: str,
        title: str,
        body: str,
        dedupe_key: str,
        now: datetime,
        reminder_id: int | None = None,
        subject: tuple[str, Any] | None = None,
    ) -> FakeNotification | None:
        if any(row.dedupe_key == dedupe_key for row in self.rows):
            return None
        row = FakeNotification(
            id=len(self.rows) + 1,
            user_id=user_id,
            kind=kind,
            title=title[:200],
            body=body,
            dedupe_key=dedupe_key,
            created_at=now,
            reminder_id=reminder_id,
            subject_type=subject[0] if subject else None,
            subject_id=str(subject[1]) if subject and subject[1] is not None else None,
        )
        self.rows.append(row)
        return row

    def withdraw_return_warnings(self, customer_id: int, user_id: int, now: datetime) -> int:
        withdrawn = [
            row
            for row in self.rows
            if row.user_id == user_id
            and row.kind == "customer_return_warning"
            and (row.subject_type, row.subject_id) == ("customer", str(customer_id))
            and row.read_at is None
        ]
        for row in withdrawn:
            row.read_at = now
        return len(withdrawn)

    def notification(self, notification_id: int) -> FakeNotification | None:
        return next((row for row in self.rows if row.id == notification_id), None)

    def unread_count(self, user_id: int) -> int:
        return sum(1 for row in self.rows if row.user_id == user_id and row.read_at is None)

    def notifications(self, user_id: int, unread_only: bool, limit: int) -> list[FakeNotification]:
        mine = [row for row in self.rows if row.user_id == user_id and not (unread_only and row.read_at)]
        return sorted(mine, key=lambda row: row.id, reverse=True)[:limit]

    def mark_read(self, notification: FakeNotification, now: datetime) -> None:
        if notification.read_at is None:
            notification.read_at = now

    def mark_all_read(self, user_id: int, now: datetime) -> int:
        unread = [row for row in self.rows if row.user_id == user_id and row.read_at is None]
        for row in unread:
            row.read_at = now
        return len(unread)

    def mark_reminder_read(self, user_id: int, reminder_id: int, now: datetime) -> None:
        for row in self.rows:
            if row.user_id == user_id and row.reminder_id == reminder_id and row.read_at is None:
                row.read_at = now


@dataclass
class FakeWatch:
    """A watched customer: the columns of ``notify.models.CustomerWatch``."""

    customer_id: int
    name: str = ""
    owner_id: int | None = None
    team: str | None = None
    birthday_month: int | None = None
    birthday_day: int | None = None
    next_visit_at: datetime | None = None
    next_visit_contact: str | None = None
    next_visit_contact_title: str | None = None
    last_reminded_year: int | None = None
    revision: int = 0
    event_at: datetime | None = None
    needs_review: bool = True
    version: int = 0
    updated_at: datetime | None = None


@dataclass
class FakeSetting:
    team: str
    birthday_days_ahead: int
    revisit_lead_hours: int
    updated_by: int | None = None
    updated_at: datetime | None = None


@dataclass
class FakePreference:
    user_id: int
    sms_for_notices: bool
    updated_at: datetime | None = None


class FakeWatching:
    """The Store's watching (``notify.store_watching.WatchStore``): watches, team settings,
    preferences and kept notices; the review and notice claims' races
    are about SQL and are checked on the real database only."""

    def __init__(self) -> None:
        self.watches: dict[int, FakeWatch] = {}
        self.settings: dict[str, FakeSetting] = {}
        self.preferences: dict[int, FakePreference] = {}
        self.notices: list[dict[str, Any]] = []

    def watch_for_update(self, customer_id: int) -> FakeWatch | None:
        return self.watches.get(customer_id)

    def watch(self, customer_id: int) -> FakeWatch | None:
        return self.watches.get(customer_id)

    def add_watch(self, customer_id: int) -> FakeWatch:
        self.watches[customer_id] = FakeWatch(customer_id)
        return self.watches[customer_id]

    def mark_team_for_review(self, team: str) -> None:
        self.mark_for_review([w.customer_id for w in self.watches.values() if w.team == team])

    def mark_for_review(self, customer_ids: Sequence[int]) -> None:
        for customer_id in customer_ids:
            watch = self.watches[customer_id]
            watch.needs_review, watch.version = True, watch.version + 1

    def watches_to_review(self, limit: int) -> list[tuple[int, int | None, int]]:
        marked = sorted((w for w in self.watches.values() if w.needs_review), key=lambda w: w.updated_at or 0)
        return [(w.customer_id, w.owner_id, w.version) for w in marked[:limit]]

    def take_review(self, customer_id: int, version: int) -> bool:
        watch = self.watches[customer_id]
        if watch.version != version or not watch.needs_review:
            return False
        watch.needs_review = False
        return True

    def watches_with_birthdays(self) -> list[FakeWatch]:
        return [w for w in self.watches.values() if w.birthday_month is not None and w.owner_id is not None]

    def take_birthday_year(self, customer_id: int, year: int) -> bool:
        watch = self.watches[customer_id]
        if watch.last_reminded_year == year:
            return False
        watch.last_reminded_year = year
        return True

    def pending_system_reminders(self, customer_id: int, kinds: Sequence[str]) -> list[FakeReminder]:
        return [
            row
            for row in self.reminder_rows  # type: ignore[attr-defined]
            if row.customer_id == customer_id and row.kind in kinds and row.status == "pending"
        ]

    def cancel_pending_reminder(self, reminder_id: int, now: datetime) -> None:
        for row in self.reminder_rows:  # type: ignore[attr-defined]
            if row.id == reminder_id and row.status == "pending":
                row.status, row.cancelled_at = "cancelled", now

    def has_reminder_from(self, source_key: str) -> bool:
        return any(row.source_key == source_key for row in self.reminder_rows)  # type: ignore[attr-defined]

    def pending_reminder_from(self, source_key: str) -> FakeReminder | None:
        return next(
            (
                row
                for row in self.reminder_rows  # type: ignore[attr-defined]
                if row.source_key == source_key and row.status == "pending"
            ),
            None,
        )

    def move_pending_reminder(self, reminder_id: int, due_at: datetime, escalate_at: datetime) -> None:
        for row in self.reminder_rows:  # type: ignore[attr-defined]
            if row.id == reminder_id and row.status == "pending":
                row.due_at, row.escalate_at = due_at, escalate_at

    def _manual_pending(self, customer_id: int, owner_id: int) -> list[FakeReminder]:
        return [
            row
            for row in self.reminder_rows  # type: ignore[attr-defined]
            if row.customer_id == customer_id
            and row.owner_id == owner_id
            and row.kind == "manual"
            and row.status == "pending"
        ]

    def hand_over_manual_reminders(
        self, customer_id: int, from_owner_id: int, to_owner_id: int, team: str | None
    ) -> int:
        rows = self._manual_pending(customer_id, from_owner_id)
        for row in rows:
            row.owner_id, row.team, row.owner_phone = to_owner_id, team, None
        return len(rows)

    def cancel_manual_reminders(self, customer_id: int, owner_id: int, now: datetime) -> int:
        rows = self._manual_pending(customer_id, owner_id)
        for row in rows:
            row.status, row.cancelled_at = "cancelled", now
        return len(rows)

    def team_setting(self, team: str) -> FakeSetting | None:
        return self.settings.get(team)

    def team_settings_rows(self) -> list[FakeSetting]:
        return list(self.settings.values())

    def save_team_setting(
        self, team: str, birthday_days_ahead: int, revisit_lead_hours: int, updated_by: int, now: datetime
    ) -> None:
        self.settings[team] = FakeSetting(team, birthday_days_ahead, revisit_lead_hours, updated_by, now)

    def preference(self, user_id: int) -> FakePreference | None:
        return self.preferences.get(user_id)

    def save_preference(self, user_id: int, sms_for_notices: bool, now: datetime) -> None:
        self.preferences[user_id] = FakePreference(user_id, sms_for_notices, now)

    def wanting_sms_for_notices(self, user_ids: Sequence[int]) -> set[int]:
        return {i for i in user_ids if i in self.preferences and self.preferences[i].sms_for_notices}

    def add_manager_notice(
        self, *, event_id: str, kind: str, team: str | None, payload: str, now: datetime
    ) -> None:
        if any(notice["event_id"] == event_id for notice in self.notices):
            raise AssertionError(f"a second notice for event {event_id}")  # the real table's unique key
        self.notices.append(
            {
                "id": len(self.notices) + 1,
                "event_id": event_id,
                "kind": kind,
                "team": team,
                "payload": payload,
            }
        )

    def waiting_notices(self, now: datetime, limit: int) -> list[tuple[int, str | None, str]]:
        return [(n["id"], n["team"], n["payload"]) for n in self.notices][:limit]


@dataclass
class FakeSms:
    """A row of the SMS log: the columns of ``notify.models.SmsMessage``."""

    id: int
    idempotency_key: str
    body: str
    status: str
    created_at: datetime
    updated_at: datetime
    attempts: int = 0
    reminder_id: int | None = None
    recipient_id: int | None = None
    to: str | None = None
    provider: str | None = None
    provider_id: str | None = None
    provider_status: str | None = None
    next_attempt_at: datetime | None = None
    lease_until: datetime | None = None
    claim_token: str | None = None
    first_attempt_at: datetime | None = None
    last_error: str | None = None
    error_code: int | None = None
    sent_at: datetime | None = None


class FakeDelivery:
    """The Store's SMS log as the use cases read it (``notify.store_delivery.DeliveryStore``);
    sends are claims with leases, about SQL, and are checked on the real database only."""

    def __init__(self) -> None:
        self.sms_rows: list[FakeSms] = []

    def add_sms(self, **columns: Any) -> FakeSms:
        if any(row.idempotency_key == columns["idempotency_key"] for row in self.sms_rows):
            raise AssertionError("the SMS log keeps one message per idempotency key")
        self.sms_rows.append(FakeSms(id=len(self.sms_rows) + 1, **columns))
        return self.sms_rows[-1]

    def sms_log(
        self, *, status: str | None, reminder_id: int | None, offset: int, limit: int
    ) -> list[FakeSms]:
        chosen = [
            row
            for row in self.sms_rows
            if (not status or row.status == status) and (not reminder_id or row.reminder_id == reminder_id)
        ]
        return sorted(chosen, key=lambda row: row.id, reverse=True)[offset : offset + limit]

    def sms_by_provider_id(self, provider_id: str) -> FakeSms | None:
        return next((row for row in self.sms_rows if row.provider_id == provider_id), None)

    def reminder_title(self, reminder_id: int | None) -> str | None:
        reminder = self.reminder(reminder_id) if reminder_id is not None else None  # type: ignore[attr-defined]
        return reminder.title if reminder else None


class FakeStore(FakeInbox, FakeReminders, FakeWatching, FakeDelivery):
    """notify's Store in memory: every area's fake, as the Store composes its mixins."""

    def __init__(self) -> None:
        FakeInbox.__init__(self)
        FakeReminders.__init__(self)
        FakeWatching.__init__(self)
        FakeDelivery.__init__(self)
        self.events: list[tuple[str, dict[str, Any]]] = []

    def emit(self, event_type: str, data: dict[str, Any]) -> dict:
        self.events.append((event_type, data))
        return {"event_type": event_type, "data": data}

    def emit_many(self, event_type: str, facts: Iterable[dict[str, Any]]) -> list[dict]:
        return [self.emit(event_type, data) for data in facts]
