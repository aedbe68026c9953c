"""The Store's watching: customers notify watches (birthdays, planned visits, owners), the teams'
lead times, users' preferences, and notices kept for a team's managers.

Reviews, birthday years and notices are taken with conditional UPDATEs, so however many notify
instances run, each watch is reviewed once per change, each anniversary reminded once and each
notice delivered once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Row, select, update
from sqlalchemy.orm import Session

from notify.constants import ReminderStatus
from notify.models import CustomerWatch, ManagerNotice, Reminder, TeamSetting, UserPreference

PENDING, CANCELLED = ReminderStatus.PENDING.value, ReminderStatus.CANCELLED.value


def _changed(result: Any) -> int:
    return int(cast(CursorResult, result).rowcount)


class WatchStore:
    @property
    def session(self) -> Session:
        raise NotImplementedError  # Store gives the unit's session

    # ------------------------------------------------------------------ watch rows

    def watch_for_update(self, customer_id: int) -> CustomerWatch | None:
        """The watch row, locked until the transaction ends (events of one customer serialise)."""
        return self.session.get(CustomerWatch, customer_id, with_for_update=True)

    def watch(self, customer_id: int) -> CustomerWatch | None:
        return self.session.get(CustomerWatch, customer_id)

    def add_watch(self, customer_id: int) -> CustomerWatch:
        watch = CustomerWatch(customer_id=customer_id, name="", version=0, revision=0)
        self.session.add(watch)
        return watch

    def mark_team_for_review(self, team: str) -> None:
        self.session.execute(
            update(CustomerWatch)
            .where(CustomerWatch.team == team)
            .values(needs_review=True, version=CustomerWatch.version + 1)
            .execution_options(synchronize_session=False)
        )

    def mark_for_review(self, customer_ids: Sequence[int]) -> None:
        for start in range(0, len(customer_ids), 500):
            self.session.execute(
                update(CustomerWatch)
                .where(CustomerWatch.customer_id.in_(customer_ids[start : start + 500]))
                .values(needs_review=True, version=CustomerWatch.version + 1)
                .execution_options(synchronize_session=False)
            )

    def watches_to_review(self, limit: int) -> list[Row]:
        """(customer_id, owner_id, version) of watches marked for review, oldest change first."""
        return list(
            self.session.execute(
                select(CustomerWatch.customer_id, CustomerWatch.owner_id, CustomerWatch.version)
                .where(CustomerWatch.needs_review.is_(True))
                .order_by(CustomerWatch.updated_at)
                .limit(limit)
            ).all()
        )

    def take_review(self, customer_id: int, version: int) -> bool:
        """Unmark the watch if it is still at ``version``: False when another instance reviewed it
        or a newer event marked it again."""
        return bool(
            _changed(
                self.session.execute(
                    update(CustomerWatch)
                    .where(
                        CustomerWatch.customer_id == customer_id,
                        CustomerWatch.version == version,
                        CustomerWatch.needs_review.is_(True),
                    )
                    .values(needs_review=False)
                    .execution_options(synchronize_session=False)
                )
            )
        )

    def watches_with_birthdays(self) -> list[CustomerWatch]:
        """Watched customers with a birthday and an owner."""
        return list(
            self.session.scalars(
                select(CustomerWatch).where(
                    CustomerWatch.birthday_month.is_not(None), CustomerWatch.owner_id.is_not(None)
                )
            ).all()
        )

    def take_birthday_year(self, customer_id: int, year: int) -> bool:
        """Record ``year`` as reminded unless it already is: one reminder per anniversary."""
        return bool(
            _changed(
                self.session.execute(
                    update(CustomerWatch)
                    .where(
                        CustomerWatch.customer_id == customer_id,
                        (CustomerWatch.last_reminded_year.is_(None))
                        | (CustomerWatch.last_reminded_year != year),
                    )
                    .values(last_reminded_year=year)
                    .execution_options(synchronize_session=False)
                )
            )
        )

    # ------------------------------------------------------------------ the watches' reminders

    def pending_system_reminders(self, customer_id: int, kinds: Sequence[str]) -> list[Reminder]:
        return list(
            self.session.scalars(
                select(Reminder).where(
                    Reminder.customer_id == customer_id, Reminder.kind.in_(kinds), Reminder.status == PENDING
                )
            )
        )

    def cancel_pending_reminder(self, reminder_id: int, now: datetime) -> None:
        self.session.execute(
            update(Reminder)
            .where(Reminder.id == reminder_id, Reminder.status == PENDING)
            .values(status=CANCELLED, cancelled_at=now)
            .execution_options(synchronize_session=False)
        )

    def has_reminder_from(self, source_key: str) -> bool:
        return self.session.scalar(select(Reminder.id).where(Reminder.source_key == source_key)) is not None

    def pending_reminder_from(self, source_key: str) -> Reminder | None:
        return self.session.scalar(
            select(Reminder).where(Reminder.source_key == source_key, Reminder.status == PENDING)
        )

    def move_pending_reminder(self, reminder_id: int, due_at: datetime, escalate_at: datetime) -> None:
        self.session.execute(
            update(Reminder)
            .where(Reminder.id == reminder_id, Reminder.status == PENDING)
            .values(due_at=due_at, escalate_at=escalate_at)
            .execution_options(synchronize_session=False)
        )

    def hand_over_manual_reminders(
        self, customer_id: int, from_owner_id: int, to_owner_id: int, team: str | None
    ) -> int:
        """A leaver's pending manual reminders about the customer go to its new owner (their phone
        is looked up again at escalation); how many."""
        result = self.session.execute(
            update(Reminder)
            .where(*_manual_pending(customer_id, from_owner_id))
            .values(owner_id=to_owner_id, team=team, owner_phone=None)
            .execution_options(synchronize_session=False)
        )
        self.session.expire_all()  # reminders already loaded are read again
        return _changed(result)

    def cancel_manual_reminders(self, customer_id: int, owner_id: int, now: datetime) -> int:
        """Cancel ``owner_id``'s pending manual reminders about the customer; how many."""
        result = self.session.execute(
            update(Reminder)
            .where(*_manual_pending(customer_id, owner_id))
            .values(status=CANCELLED, cancelled_at=now)
            .execution_options(synchronize_session=False)
        )
        self.session.expire_all()
        return _changed(result)

    # ------------------------------------------------------------------ settings and preferences

    def team_setting(self, team: str) -> TeamSetting | None:
        return self.session.get(TeamSetting, team)

    def team_settings_rows(self) -> list[TeamSetting]:
        return list(self.session.scalars(select(TeamSetting)))

    def save_team_setting(
        self, team: str, birthday_days_ahead: int, revisit_lead_hours: int, updated_by: int, now: datetime
    ) -> None:
        row = self.session.get(TeamSetting, team)
        if row is None:
            row = TeamSetting(team=team)
            self.session.add(row)
        row.birthday_days_ahead = birthday_days_ahead
        row.revisit_lead_hours = revisit_lead_hours
        row.updated_by = updated_by
        row.updated_at = now

    def preference(self, user_id: int) -> UserPreference | None:
        return self.session.get(UserPreference, user_id)

    def save_preference(self, user_id: int, sms_for_notices: bool, now: datetime) -> None:
        row = self.session.get(UserPreference, user_id)
        if row is None:
            row = UserPreference(user_id=user_id)
            self.session.add(row)
        row.sms_for_notices = sms_for_notices
        row.updated_at = now

    def wanting_sms_for_notices(self, user_ids: Sequence[int]) -> set[int]:
        return set(
            self.session.scalars(
                select(UserPreference.user_id).where(
                    UserPreference.user_id.in_(list(user_ids)), UserPreference.sms_for_notices.is_(True)
                )
            )
        )

    # ------------------------------------------------------------------ manager notices

    def add_manager_notice(
        self, *, event_id: str, kind: str, team: str | None, payload: str, now: datetime
    ) -> None:
        self.session.add(
            ManagerNotice(
                event_id=event_id,
                kind=kind,
                team=team,
                payload=payload,
                created_at=now,
                next_attempt_at=now,
                attempts=0,
            )
        )

    def waiting_notices(self, now: datetime, limit: int) -> list[Row]:
        """(id, team, payload) of notices not yet delivered whose time has come, oldest first."""
        return list(
            self.session.execute(
                select(ManagerNotice.id, ManagerNotice.team, ManagerNotice.payload)
                .where(ManagerNotice.delivered_at.is_(None), ManagerNotice.next_attempt_at <= now)
                .order_by(ManagerNotice.id)
                .limit(limit)
            ).all()
        )

    def postpone_notice(self, notice_id: int, until: datetime) -> None:
        self.session.execute(
            update(ManagerNotice)
            .where(ManagerNotice.id == notice_id, ManagerNotice.delivered_at.is_(None))
            .values(next_attempt_at=until, attempts=ManagerNotice.attempts + 1)
            .execution_options(synchronize_session=False)
        )

    def take_notice(self, notice_id: int, now: datetime) -> bool:
        """Mark the notice delivered unless it is: True for the one instance that did."""
        return bool(
            _changed(
                self.session.execute(
                    update(ManagerNotice)
                    .where(ManagerNotice.id == notice_id, ManagerNotice.delivered_at.is_(None))
                    .values(delivered_at=now, attempts=ManagerNotice.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
            )
        )


def _manual_pending(customer_id: int, owner_id: int) -> tuple[Any, ...]:
    return (
        Reminder.customer_id == customer_id,
        Reminder.owner_id == owner_id,
        Reminder.kind == "manual",
        Reminder.status == PENDING,
    )
