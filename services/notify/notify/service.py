"""Notify: reminders, in-app notifications, SMS escalation, birthdays, revisits, manager notices.

The database is the schedule: timers in every instance claim due rows (see ``store_reminders``
and ``store_delivery``), so any number of instances share the work and a restart loses nothing.
"""

from __future__ import annotations

import logging

from nameko.rpc import rpc

# customers' errors module is its contract: importing it makes its errors arrive as themselves.
import customers.exceptions  # noqa: F401
from crm_common.clock import Clock
from crm_common.db import Database, Transactions
from crm_common.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
    Unauthenticated,
)
from crm_common.events import event_handler, handle_once
from crm_common.idempotency import idempotent
from crm_common.identity import CallerIdentity
from crm_common.rpc import TimedRpcProxy
from crm_common.service import HealthCheck
from crm_common.validation import load
from notify import usecases_delivery, usecases_inbox, usecases_notices, usecases_reminders, usecases_watching
from notify.dependencies import Accounts, Senders, Settings, Sms, every
from notify.exceptions import (
    InvalidTwilioSignature,
    NotificationNotFound,
    NotReminderOwner,
    ReminderClosed,
    ReminderNotFound,
)
from notify.models import Base
from notify.schemas import (
    NewReminderSchema,
    NotificationListSchema,
    NotificationQuerySchema,
    NotificationSchema,
    PreferencesSchema,
    ReminderQuerySchema,
    ReminderSchema,
    SignedCallbackSchema,
    SmsQuerySchema,
    SmsSchema,
    StatusCallbackSchema,
    TeamSettingsQuerySchema,
    TeamSettingsSchema,
)
from notify.store import Store

log = logging.getLogger(__name__)

reminder_schema = ReminderSchema()
notification_schema = NotificationSchema()


class NotifyService(HealthCheck):
    name = "notify"

    db = Database(Base.metadata)
    caller = CallerIdentity()
    clock = Clock()
    settings = Settings()
    sms = Sms()
    senders = Senders()
    transactions = Transactions()
    people = Accounts()
    customers = TimedRpcProxy("customers")

    # ------------------------------------------------------------------ reminders

    @rpc(expected_exceptions=(Unauthenticated, InvalidInput, NotFound, Forbidden, ServiceUnavailable))
    @idempotent
    def create_reminder(self, payload: dict) -> dict:
        """Create a reminder for the caller; the escalation delay defaults to their accounts
        setting. Returns the reminder (times in the owner's zone). InvalidInput; a
        ``customer_id`` must be a customer the caller may read: customers' CustomerNotFound
        (404) / NotYourCustomer (403) otherwise; ServiceUnavailable when accounts or customers
        does not answer (nothing is stored then)."""
        caller = self.caller.require()
        new = load(NewReminderSchema(), payload)
        if new["customer_id"] is not None:
            self.customers.require_readable(new["customer_id"])  # with the caller's identity
        owner = self.people.user(caller.user_id)
        reminder = usecases_reminders.create_reminder(
            Store(self.db), caller, new, owner=owner, now=self.clock.now(), settings=self.settings
        )
        return reminder_schema.dump(reminder)

    @rpc(expected_exceptions=(Unauthenticated, InvalidInput, Forbidden))
    def list_reminders(self, query: dict | None = None) -> list[dict]:
        """The caller's reminders (a manager: the team's; an admin: all), by ``status``/``owner_id``."""
        caller = self.caller.require()
        wanted = load(ReminderQuerySchema(), query or {})
        return reminder_schema.dump(
            usecases_reminders.list_reminders(Store(self.db), caller, wanted), many=True
        )

    @rpc(expected_exceptions=(Unauthenticated, ReminderNotFound))
    def get_reminder(self, reminder_id: int) -> dict:
        """One reminder the caller may see; ReminderNotFound otherwise."""
        reminder = usecases_reminders.get_reminder(Store(self.db), self.caller.require(), reminder_id)
        return reminder_schema.dump(reminder)

    @rpc(expected_exceptions=(Unauthenticated, ReminderNotFound, NotReminderOwner, ReminderClosed))
    @idempotent
    def acknowledge_reminder(self, reminder_id: int) -> dict:
        """Acknowledge (owner only): no SMS afterwards. NotReminderOwner, ReminderClosed (cancelled)."""
        caller, now = self.caller.require(), self.clock.now()
        return reminder_schema.dump(usecases_reminders.acknowledge(Store(self.db), caller, reminder_id, now))

    @rpc(expected_exceptions=(Unauthenticated, ReminderNotFound, NotReminderOwner, ReminderClosed))
    @idempotent
    def cancel_reminder(self, reminder_id: int) -> dict:
        """Cancel a pending or due reminder (owner only). NotReminderOwner, ReminderClosed."""
        caller, now = self.caller.require(), self.clock.now()
        return reminder_schema.dump(usecases_reminders.cancel(Store(self.db), caller, reminder_id, now))

    # ------------------------------------------------------------------ notifications

    @rpc(expected_exceptions=(Unauthenticated, InvalidInput))
    def list_notifications(self, query: dict | None = None) -> dict:
        """The caller's notifications, newest first, and how many are unread."""
        wanted = load(NotificationQuerySchema(), query or {})
        listed = usecases_inbox.list_notifications(
            Store(self.db), self.caller.require().user_id, wanted, timezone=self.settings.timezone
        )
        return NotificationListSchema().dump(listed)

    @rpc(expected_exceptions=(Unauthenticated, NotificationNotFound))
    @idempotent
    def mark_notification_read(self, notification_id: int) -> dict:
        """Mark one of the caller's notifications read; NotificationNotFound otherwise."""
        row = usecases_inbox.mark_notification_read(
            Store(self.db),
            self.caller.require().user_id,
            notification_id,
            now=self.clock.now(),
            timezone=self.settings.timezone,
        )
        return notification_schema.dump(row)

    @rpc(expected_exceptions=(Unauthenticated,))
    @idempotent
    def mark_all_notifications_read(self) -> dict:
        """Mark every unread notification of the caller read: {"marked": n}."""
        user_id = self.caller.require().user_id
        return usecases_inbox.mark_all_read(Store(self.db), user_id, now=self.clock.now())

    # ------------------------------------------------------------------ SMS log

    @rpc(expected_exceptions=(Unauthenticated, Forbidden, InvalidInput))
    def list_sms(self, query: dict | None = None) -> list[dict]:
        """The SMS log with statuses, newest first (admins only)."""
        self.caller.require().require_role("admin")
        wanted = load(SmsQuerySchema(), query or {})
        listed = usecases_delivery.list_sms(Store(self.db), wanted, timezone=self.settings.timezone)
        return SmsSchema().dump(listed, many=True)

    @rpc(expected_exceptions=(InvalidInput,))
    @idempotent
    def record_sms_status(self, callback: dict) -> dict:
        """A provider's delivery report (the gateway has checked its signature): {"known": bool}."""
        status = load(StatusCallbackSchema(), callback)
        return {"known": usecases_delivery.record_delivery_status(Store(self.db), status, self.clock.now())}

    @rpc(expected_exceptions=(InvalidInput, InvalidTwilioSignature))
    @idempotent
    def sms_status_callback(self, callback: dict) -> dict:
        """A provider's status callback as the gateway got it ({"url", "params", "signature"}):
        InvalidTwilioSignature unless the provider signed it, else applied as by
        ``record_sms_status``: {"known": bool}."""
        signed = load(SignedCallbackSchema(), callback)
        if not self.sms.signed_by_provider(signed["url"], signed["params"], signed["signature"]):
            raise InvalidTwilioSignature("the request is not signed by Twilio")
        status = load(StatusCallbackSchema(), signed["params"])
        return {"known": usecases_delivery.record_delivery_status(Store(self.db), status, self.clock.now())}

    # ------------------------------------------------------------------ settings

    @rpc(expected_exceptions=(Unauthenticated, Forbidden, InvalidInput))
    def get_team_settings(self, query: dict | None = None) -> dict:
        """The team's birthday and revisit lead times (own team; an admin names any)."""
        wanted = load(TeamSettingsQuerySchema(), query or {})
        caller = self.caller.require()
        return usecases_watching.read_team_settings(Store(self.db), caller, wanted.get("team"), self.settings)

    @rpc(expected_exceptions=(Unauthenticated, Forbidden, InvalidInput))
    @idempotent
    def update_team_settings(self, payload: dict) -> dict:
        """Managers set their team's lead times (admins any team's). Forbidden, InvalidInput."""
        changes = load(TeamSettingsSchema(), payload)
        caller, now = self.caller.require(), self.clock.now()
        return usecases_watching.change_team_settings(Store(self.db), caller, changes, self.settings, now)

    @rpc(expected_exceptions=(Unauthenticated,))
    def get_preferences(self) -> dict:
        """The caller's notify preferences: {"sms_for_notices": bool}."""
        return usecases_notices.preferences(Store(self.db), self.caller.require().user_id)

    @rpc(expected_exceptions=(Unauthenticated, InvalidInput))
    @idempotent
    def update_preferences(self, payload: dict) -> dict:
        """Set the caller's preferences (a manager: team notices by SMS as well)."""
        changes = load(PreferencesSchema(), payload)
        user_id = self.caller.require().user_id
        return usecases_notices.change_preferences(Store(self.db), user_id, changes, self.clock.now())

    # ------------------------------------------------------------------ events

    @event_handler("customers", "customer_created")
    @handle_once
    def on_customer_created(self, event: dict) -> None:
        usecases_watching.watch_customer(Store(self.db), event, self.clock.now())

    @event_handler("customers", "customer_amended")
    @handle_once
    def on_customer_amended(self, event: dict) -> None:
        usecases_watching.watch_customer(Store(self.db), event, self.clock.now())

    @event_handler("customers", "customer_transferred")
    @handle_once
    def on_customer_transferred(self, event: dict) -> None:
        usecases_watching.watch_customer(Store(self.db), event, self.clock.now())
        usecases_watching.follow_offboarding(Store(self.db), event, self.clock.now())

    @event_handler("customers", "customer_abandoned")
    @handle_once
    def on_customer_abandoned(self, event: dict) -> None:
        usecases_watching.watch_customer(Store(self.db), event, self.clock.now())
        usecases_watching.follow_offboarding(Store(self.db), event, self.clock.now())

    @event_handler("customers", "customer_returned_to_pool")
    @handle_once
    def on_customer_returned_to_pool(self, event: dict) -> None:
        usecases_watching.watch_customer(Store(self.db), event, self.clock.now())

    @event_handler("customers", "customer_return_warning")
    @handle_once
    def on_customer_return_warning(self, event: dict) -> None:
        usecases_notices.warn_owner_of_return(Store(self.db), event, self.clock.now(), self.settings.timezone)

    @event_handler("knowledge", "alarm_raised")
    @handle_once
    def on_alarm_raised(self, event: dict) -> None:
        usecases_notices.keep_manager_notice(Store(self.db), event, self.clock.now())

    @event_handler("customers", "customer_duplicate_suspected")
    @handle_once
    def on_customer_duplicate_suspected(self, event: dict) -> None:
        usecases_notices.keep_manager_notice(Store(self.db), event, self.clock.now())

    # ------------------------------------------------------------------ timers

    @every("TICK_SECONDS", 0.25)
    def fire_due_reminders(self) -> None:
        usecases_reminders.fire_due(self.transactions, self.clock, self.settings)

    @every("TICK_SECONDS", 0.25)
    def escalate_overdue_reminders(self) -> None:
        escalated = usecases_reminders.escalate_overdue(
            self.transactions, self.people.try_users, self.sms.provider_name, self.clock, self.settings
        )
        if escalated:  # idle senders start at once rather than on the next tick
            usecases_delivery.send_ready(
                self.senders, self.sms, self.transactions, self.clock, self.settings, drain=False
            )

    @every("TICK_SECONDS", 0.25)
    def send_pending_sms(self) -> None:
        usecases_delivery.send_ready(self.senders, self.sms, self.transactions, self.clock, self.settings)

    @every("REVIEW_SECONDS", 1.0)
    def review_customers(self) -> None:
        usecases_watching.review_customers(
            self.transactions, self.people.try_users, self.clock, self.settings
        )

    @every("REVIEW_SECONDS", 1.0)
    def deliver_manager_notices(self) -> None:
        usecases_notices.deliver_manager_notices(
            self.transactions, self.people.try_team, self.people.try_users, self.clock, self.settings
        )

    @every("BIRTHDAY_SCAN_SECONDS", 3600, eager=True)
    def scan_birthdays(self) -> None:
        """Daily in effect (one reminder per anniversary); run hourly and at start so a day
        boundary or a restart never skips a day."""
        usecases_watching.scan_birthdays(self.transactions, self.clock, self.settings)
