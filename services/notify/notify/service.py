"""Notify: reminders, in-app notifications, SMS escalation, birthdays, revisits, manager notices.

The database is the schedule: timers in every instance claim due rows (see ``reminders`` and
``delivery``), so any number of instances share the work and a restart loses nothing.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from nameko.events import SERVICE_POOL, event_handler
from nameko.exceptions import RemoteError
from nameko.rpc import rpc

from crm_common.clock import Clock
from crm_common.db import Database
from crm_common.errors import CrmError, Forbidden, InvalidInput, ServiceUnavailable, Unauthenticated
from crm_common.events import handle_once
from crm_common.identity import CallerIdentity
from crm_common.rpc import TimedRpcProxy
from crm_common.service import HealthCheck
from crm_common.validation import load
from notify import delivery, inbox, reminders, watching
from notify.dependencies import Senders, Settings, Sms, Transactions, every
from notify.exceptions import NotificationNotFound, NotReminderOwner, ReminderClosed, ReminderNotFound
from notify.models import Base
from notify.schemas import (
    NewReminderSchema,
    NotificationListSchema,
    NotificationQuerySchema,
    NotificationSchema,
    PreferencesSchema,
    ReminderQuerySchema,
    ReminderSchema,
    SmsQuerySchema,
    SmsSchema,
    StatusCallbackSchema,
    TeamSettingsQuerySchema,
    TeamSettingsSchema,
)

log = logging.getLogger(__name__)

reminder_schema = ReminderSchema()
notification_schema = NotificationSchema()

# Handlers only write notify's own tables, so an error is a database hiccup worth retrying;
# payloads nobody can read are logged and dropped inside the handler, never requeued.
HANDLER = {"handler_type": SERVICE_POOL, "requeue_on_error": True}


def enveloped(handler: Callable[[Any, dict], None]) -> Callable[[Any, dict], None]:
    """Drop (with a log line) a message that is not an event envelope: requeued, it would loop."""

    @functools.wraps(handler)
    def checked(self: Any, event: Any) -> None:
        if not isinstance(event, dict) or not event.get("event_id"):
            log.error("%s: not an event envelope, dropped: %.200r", handler.__name__, event)
            return None
        return handler(self, event)

    return checked


class NotifyService(HealthCheck):
    name = "notify"

    db = Database(Base.metadata)
    caller = CallerIdentity()
    clock = Clock()
    settings = Settings()
    sms = Sms()
    senders = Senders()
    transactions = Transactions()
    accounts = TimedRpcProxy("accounts")

    # ------------------------------------------------------------------ reminders

    @rpc(expected_exceptions=(Unauthenticated, InvalidInput, ServiceUnavailable))
    def create_reminder(self, payload: dict) -> dict:
        """Create a reminder for the caller; the escalation delay defaults to their accounts
        setting. Returns the reminder (times in the owner's zone). InvalidInput;
        ServiceUnavailable when accounts does not answer (nothing is stored then)."""
        caller = self.caller.require()
        new = load(NewReminderSchema(), payload)
        owner = (self._users([caller.user_id], strict=True) or {}).get(str(caller.user_id))
        row = reminders.new_reminder(
            owner_id=caller.user_id,
            owner=owner,
            team=caller.team,
            title=new["title"],
            content=new["content"],
            due_at=new["due_at"],
            requested_minutes=new["escalate_after_minutes"],
            now=self.clock.now(),
            settings=self.settings,
            customer_id=new["customer_id"],
            created_by=caller.user_id,
        )
        self.db.session.add(row)
        self.db.session.flush()
        return reminder_schema.dump(reminders.reminder_view(row))

    @rpc(expected_exceptions=(Unauthenticated, InvalidInput, Forbidden))
    def list_reminders(self, query: dict | None = None) -> list[dict]:
        """The caller's reminders (a manager: the team's; an admin: all), by ``status``/``owner_id``."""
        caller = self.caller.require()
        rows = reminders.list_reminders(self.db.session, caller, load(ReminderQuerySchema(), query or {}))
        return [reminder_schema.dump(reminders.reminder_view(row)) for row in rows]

    @rpc(expected_exceptions=(Unauthenticated, ReminderNotFound))
    def get_reminder(self, reminder_id: int) -> dict:
        """One reminder the caller may see; ReminderNotFound otherwise."""
        row = reminders.visible_reminder(self.db.session, self.caller.require(), reminder_id)
        return reminder_schema.dump(reminders.reminder_view(row))

    @rpc(expected_exceptions=(Unauthenticated, ReminderNotFound, NotReminderOwner, ReminderClosed))
    def acknowledge_reminder(self, reminder_id: int) -> dict:
        """Acknowledge (owner only): no SMS afterwards. NotReminderOwner, ReminderClosed (cancelled)."""
        row = reminders.acknowledge(self.db.session, self.caller.require(), reminder_id, self.clock.now())
        return reminder_schema.dump(reminders.reminder_view(row))

    @rpc(expected_exceptions=(Unauthenticated, ReminderNotFound, NotReminderOwner, ReminderClosed))
    def cancel_reminder(self, reminder_id: int) -> dict:
        """Cancel a pending or due reminder (owner only). NotReminderOwner, ReminderClosed."""
        row = reminders.cancel(self.db.session, self.caller.require(), reminder_id, self.clock.now())
        return reminder_schema.dump(reminders.reminder_view(row))

    # ------------------------------------------------------------------ notifications

    @rpc(expected_exceptions=(Unauthenticated, InvalidInput))
    def list_notifications(self, query: dict | None = None) -> dict:
        """The caller's notifications, newest first, and how many are unread."""
        caller = self.caller.require()
        wanted = load(NotificationQuerySchema(), query or {})
        rows = inbox.list_notifications(self.db.session, caller.user_id, wanted["unread"], wanted["limit"])
        return NotificationListSchema().dump(
            {
                "unread_count": inbox.unread_count(self.db.session, caller.user_id),
                "notifications": [inbox.notification_view(row, self.settings.timezone) for row in rows],
            }
        )

    @rpc(expected_exceptions=(Unauthenticated, NotificationNotFound))
    def mark_notification_read(self, notification_id: int) -> dict:
        """Mark one of the caller's notifications read; NotificationNotFound otherwise."""
        caller = self.caller.require()
        row = inbox.mark_read(self.db.session, caller.user_id, notification_id, self.clock.now())
        return notification_schema.dump(inbox.notification_view(row, self.settings.timezone))

    @rpc(expected_exceptions=(Unauthenticated,))
    def mark_all_notifications_read(self) -> dict:
        """Mark every unread notification of the caller read: {"marked": n}."""
        caller = self.caller.require()
        return {"marked": inbox.mark_all_read(self.db.session, caller.user_id, self.clock.now())}

    # ------------------------------------------------------------------ SMS log

    @rpc(expected_exceptions=(Unauthenticated, Forbidden, InvalidInput))
    def list_sms(self, query: dict | None = None) -> list[dict]:
        """The SMS log with statuses, newest first (admins only)."""
        self.caller.require().require_role("admin")
        rows = delivery.list_sms(self.db.session, load(SmsQuerySchema(), query or {}))
        return [SmsSchema().dump(delivery.sms_view(row, self.settings.timezone)) for row in rows]

    @rpc(expected_exceptions=(InvalidInput,))
    def record_sms_status(self, callback: dict) -> dict:
        """A provider's delivery report (the gateway has checked its signature): {"known": bool}."""
        status = load(StatusCallbackSchema(), callback)
        return {"known": delivery.record_delivery_status(self.db, status, self.clock.now())}

    # ------------------------------------------------------------------ settings

    @rpc(expected_exceptions=(Unauthenticated, Forbidden, InvalidInput))
    def get_team_settings(self, query: dict | None = None) -> dict:
        """The team's birthday and revisit lead times (own team; an admin names any)."""
        wanted = load(TeamSettingsQuerySchema(), query or {})
        return watching.read_team_settings(
            self.db.session, self.caller.require(), wanted.get("team"), self.settings
        )

    @rpc(expected_exceptions=(Unauthenticated, Forbidden, InvalidInput))
    def update_team_settings(self, payload: dict) -> dict:
        """Managers set their team's lead times (admins any team's). Forbidden, InvalidInput."""
        changes = load(TeamSettingsSchema(), payload)
        return watching.change_team_settings(
            self.db.session, self.caller.require(), changes, self.settings, self.clock.now()
        )

    @rpc(expected_exceptions=(Unauthenticated,))
    def get_preferences(self) -> dict:
        """The caller's notify preferences: {"sms_for_notices": bool}."""
        return watching.preferences(self.db.session, self.caller.require().user_id)

    @rpc(expected_exceptions=(Unauthenticated, InvalidInput))
    def update_preferences(self, payload: dict) -> dict:
        """Set the caller's preferences (a manager: team notices by SMS as well)."""
        changes = load(PreferencesSchema(), payload)
        user_id = self.caller.require().user_id
        return watching.change_preferences(self.db.session, user_id, changes, self.clock.now())

    # ------------------------------------------------------------------ events

    @event_handler("customers", "customer_created", **HANDLER)
    @enveloped
    @handle_once
    def on_customer_created(self, event: dict) -> None:
        watching.watch_customer(self.db, event, self.clock.now())

    @event_handler("customers", "customer_amended", **HANDLER)
    @enveloped
    @handle_once
    def on_customer_amended(self, event: dict) -> None:
        watching.watch_customer(self.db, event, self.clock.now())

    @event_handler("customers", "customer_transferred", **HANDLER)
    @enveloped
    @handle_once
    def on_customer_transferred(self, event: dict) -> None:
        watching.watch_customer(self.db, event, self.clock.now())

    @event_handler("customers", "customer_abandoned", **HANDLER)
    @enveloped
    @handle_once
    def on_customer_abandoned(self, event: dict) -> None:
        watching.watch_customer(self.db, event, self.clock.now())

    @event_handler("knowledge", "alarm_raised", **HANDLER)
    @enveloped
    @handle_once
    def on_alarm_raised(self, event: dict) -> None:
        watching.keep_manager_notice(self.db, event, self.clock.now())

    @event_handler("customers", "customer_duplicate_suspected", **HANDLER)
    @enveloped
    @handle_once
    def on_customer_duplicate_suspected(self, event: dict) -> None:
        watching.keep_manager_notice(self.db, event, self.clock.now())

    # ------------------------------------------------------------------ timers

    @every("TICK_SECONDS", 0.25)
    def fire_due_reminders(self) -> None:
        reminders.fire_due(self.transactions, self.clock, self.settings)

    @every("TICK_SECONDS", 0.25)
    def escalate_overdue_reminders(self) -> None:
        escalated = reminders.escalate_overdue(
            self.transactions, self._users, self.sms.provider_name, self.clock, self.settings
        )
        if escalated:  # idle senders start at once rather than on the next tick
            delivery.send_ready(
                self.senders, self.sms, self.transactions, self.clock, self.settings, drain=False
            )

    @every("TICK_SECONDS", 0.25)
    def send_pending_sms(self) -> None:
        delivery.send_ready(self.senders, self.sms, self.transactions, self.clock, self.settings)

    @every("REVIEW_SECONDS", 1.0)
    def review_customers(self) -> None:
        watching.review_customers(self.transactions, self._users, self.clock, self.settings)

    @every("REVIEW_SECONDS", 1.0)
    def deliver_manager_notices(self) -> None:
        watching.deliver_manager_notices(
            self.transactions, self._team, self._users, self.clock, self.settings
        )

    @every("BIRTHDAY_SCAN_SECONDS", 3600, eager=True)
    def scan_birthdays(self) -> None:
        """Daily in effect (one reminder per anniversary); run hourly and at start so a day
        boundary or a restart never skips a day."""
        watching.scan_birthdays(self.transactions, self.clock, self.settings)

    # ------------------------------------------------------------------ accounts

    def _users(self, user_ids: Sequence[int], strict: bool = False) -> dict[str, dict] | None:
        """Users by id from accounts; None when accounts does not answer (``strict``: raise)."""
        try:
            return self.accounts.with_timeout(self.settings.accounts_timeout).get_users(list(user_ids))
        except (CrmError, RemoteError) as exc:
            if strict:
                raise
            log.warning("accounts did not answer get_users (%s); trying later", exc)
            return None

    def _team(self, team: str) -> list[dict] | None:
        try:
            return self.accounts.with_timeout(self.settings.accounts_timeout).get_team(team)
        except (CrmError, RemoteError) as exc:
            log.warning("accounts did not answer get_team(%s) (%s); trying later", team, exc)
            return None
