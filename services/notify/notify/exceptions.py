"""Errors the notify service raises to its callers."""

from crm_common.errors import Conflict, Forbidden, NotFound


class ReminderNotFound(NotFound):
    code = "reminder_not_found"


class NotificationNotFound(NotFound):
    code = "notification_not_found"


class NotReminderOwner(Forbidden):
    """Only the owner acknowledges or cancels a reminder (a manager only looks)."""

    code = "not_owner"


class ReminderClosed(Conflict):
    """The reminder is cancelled, or already acknowledged/escalated for a cancel."""

    code = "reminder_closed"


class InvalidTwilioSignature(Forbidden):
    """A status callback that Twilio did not sign (or notify cannot check)."""

    code = "invalid_signature"
