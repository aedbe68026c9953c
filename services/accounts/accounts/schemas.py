"""What crosses the accounts service's boundary."""

from marshmallow import Schema, fields, validate

from accounts.domain import DEFAULT_ESCALATE_AFTER_MINUTES, ROLES

USERNAME = validate.Regexp(
    r"^[a-z0-9][a-z0-9_.-]{1,31}$",
    error="2–32 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
)


class CredentialsSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=128))


class NewUserSchema(Schema):
    username = fields.String(required=True, validate=USERNAME)
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=128))
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    role = fields.String(load_default="sales", validate=validate.OneOf(ROLES))
    team = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    manager = fields.String(
        load_default=None, allow_none=True, metadata={"description": "the manager's username"}
    )
    escalate_after_minutes = fields.Integer(
        load_default=DEFAULT_ESCALATE_AFTER_MINUTES, validate=validate.Range(min=1, max=1440)
    )


class SettingsSchema(Schema):
    """What users change about themselves: when reminders escalate to SMS, and their phone."""

    escalate_after_minutes = fields.Integer(validate=validate.Range(min=1, max=1440))
    phone = fields.String(allow_none=True, validate=validate.Length(max=40))


class UserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    team = fields.String(allow_none=True)
    manager_id = fields.Integer(allow_none=True)
    manager = fields.String(allow_none=True, metadata={"description": "the manager's username"})
    phone = fields.String(allow_none=True, metadata={"description": "E.164"})
    escalate_after_minutes = fields.Integer()
    active = fields.Boolean()
    created_at = fields.DateTime()
