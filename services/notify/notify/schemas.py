"""What crosses the notify service's boundary (the gateway validates with the same schemas)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

from crm_common.fields import DateTime
from notify.constants import (
    MAX_ESCALATE_AFTER_MINUTES,
    MIN_ESCALATE_AFTER_MINUTES,
    RETURN_REASONS,
    SMS_STATUSES,
    ReminderStatus,
)

MAX_ID = 2**31 - 1  # ids are 32-bit integers on every backend
STATUSES = [status.value for status in ReminderStatus]
ID = validate.Range(min=1, max=MAX_ID)


class DueAt(DateTime):
    """An ISO 8601 date-time with an offset in the supported range, loaded as aware UTC."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(require_offset=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        return super()._deserialize(value, attr, data, **kwargs).astimezone(UTC)


class NewReminderSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    content = fields.String(load_default="", validate=validate.Length(max=2000))
    due_at = DueAt(
        required=True, metadata={"description": "ISO 8601 with offset, e.g. 2026-03-01T09:30:00+08:00"}
    )
    customer_id = fields.Integer(strict=True, load_default=None, allow_none=True, validate=ID)
    escalate_after_minutes = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=MIN_ESCALATE_AFTER_MINUTES, max=MAX_ESCALATE_AFTER_MINUTES),
        metadata={
            "description": "minutes after due_at without acknowledgement before the SMS; "
            "default: the owner's setting"
        },
    )


class ReminderQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    owner_id = fields.Integer(validate=ID)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_ID))


class ReminderSchema(Schema):
    id = fields.Integer()
    owner_id = fields.Integer()
    team = fields.String(allow_none=True)
    kind = fields.String(metadata={"description": "manual, birthday or revisit"})
    title = fields.String()
    content = fields.String()
    customer_id = fields.Integer(allow_none=True)
    status = fields.String(metadata={"description": " | ".join(STATUSES)})
    late = fields.Boolean(metadata={"description": "fired after notify had been down or behind"})
    escalate_after_minutes = fields.Integer()
    timezone = fields.String(metadata={"description": "the zone the times below are shown in"})
    due_at = fields.DateTime(metadata={"description": "in the owner's zone"})
    escalate_at = fields.DateTime(metadata={"description": "when an unacknowledged reminder goes out by SMS"})
    created_at = fields.DateTime()
    fired_at = fields.DateTime(allow_none=True)
    acknowledged_at = fields.DateTime(allow_none=True)
    escalated_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)


class NotificationQuerySchema(Schema):
    unread = fields.Boolean(load_default=False, metadata={"description": "only unread ones"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String(
        metadata={
            "description": "reminder_due, sms_failed, alarm_raised, customer_duplicate_suspected, "
            "customer_return_warning"
        }
    )
    title = fields.String()
    body = fields.String()
    reminder_id = fields.Integer(allow_none=True)
    subject_type = fields.String(allow_none=True)
    subject_id = fields.String(allow_none=True)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)
    read = fields.Boolean()


class NotificationListSchema(Schema):
    unread_count = fields.Integer()
    notifications = fields.List(fields.Nested(NotificationSchema))


class MarkedSchema(Schema):
    marked = fields.Integer(metadata={"description": "how many notifications were marked read"})


class SmsQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(SMS_STATUSES))
    reminder_id = fields.Integer(validate=ID)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_ID))


class SmsSchema(Schema):
    id = fields.Integer()
    reminder_id = fields.Integer(allow_none=True)
    recipient_id = fields.Integer(allow_none=True)
    to = fields.String(allow_none=True, metadata={"description": "E.164"})
    body = fields.String()
    status = fields.String(metadata={"description": " | ".join(SMS_STATUSES)})
    provider = fields.String(allow_none=True, metadata={"description": "console or twilio"})
    provider_id = fields.String(allow_none=True)
    provider_status = fields.String(allow_none=True, metadata={"description": "queued, sent, delivered…"})
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    error_code = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()


class TeamSettingsSchema(Schema):
    team = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "admins name the team; a manager's own team otherwise"},
    )
    birthday_days_ahead = fields.Integer(strict=True, validate=validate.Range(min=0, max=60))
    revisit_lead_hours = fields.Integer(strict=True, validate=validate.Range(min=0, max=24 * 30))


class TeamSettingsQuerySchema(Schema):
    team = fields.String(validate=validate.Length(min=1, max=64))


class PreferencesSchema(Schema):
    sms_for_notices = fields.Boolean(
        required=True, metadata={"description": "also send team notices (alarms, duplicates) by SMS"}
    )


class StatusCallbackSchema(Schema):
    """The fields of Twilio's status callback that notify reads (Twilio sends many more)."""

    class Meta:
        unknown = EXCLUDE

    MessageSid = fields.String(required=True, validate=validate.Length(min=1, max=64))
    MessageStatus = fields.String(required=True, validate=validate.Length(min=1, max=20))
    ErrorCode = fields.String(load_default=None, allow_none=True)


class SignedCallbackSchema(Schema):
    """A provider's status callback as the gateway received it, for notify to check and apply:
    the URL it was posted to, its form fields, and the X-Twilio-Signature header."""

    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    params = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    signature = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class ReturnWarningEventSchema(Schema):
    """The ``data`` of customers' ``customer_return_warning`` that notify reads (fields may be
    added within a version: the others are left alone)."""

    class Meta:
        unknown = EXCLUDE

    customer_id = fields.Integer(strict=True, required=True, validate=ID)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    owner_id = fields.Integer(strict=True, required=True, validate=ID)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(RETURN_REASONS))
    days = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=100_000))
    return_at = DueAt(required=True)
    days_left = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(min=0)
    )


# --- events (the data of the envelope)


class ReminderAcknowledgedSchema(Schema):
    """``reminder_acknowledged``: the owner acknowledged a reminder, before or after its SMS."""

    reminder_id = fields.Integer()
    owner_id = fields.Integer()
    team = fields.String(allow_none=True)
    title = fields.String()
    kind = fields.String()
    customer_id = fields.Integer(allow_none=True)
    due_at = fields.DateTime()
    acknowledged_at = fields.DateTime()
    escalated_at = fields.DateTime(allow_none=True)
    before_escalation = fields.Boolean()
