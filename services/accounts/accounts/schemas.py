"""What crosses the accounts service's boundary. A leaf module: marshmallow and
:mod:`accounts.constants` only, so the gateway may import it."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from accounts.constants import DEFAULT_ESCALATE_AFTER_MINUTES, ROLES

USERNAME = validate.Regexp(
    r"^[a-z0-9][a-z0-9_.-]{1,31}$",
    error="2–32 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
)


class CredentialsSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=128))
    client = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=64),
        metadata={"description": "the caller's address"},
    )


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


class DeactivateSchema(Schema):
    """Where a leaving user's customers go: a colleague of the same team (``hand_over_to``, a
    user id) or the team pool (``to_pool: true``, the default when neither is given)."""

    hand_over_to = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "the colleague (same team, active) who takes the customers"},
    )
    to_pool = fields.Boolean(
        load_default=None,
        allow_none=True,
        metadata={"description": "true: the customers go to the team pool"},
    )

    @validates_schema
    def one_choice(self, data: dict, **_kwargs: object) -> None:
        if data.get("hand_over_to") is not None and data.get("to_pool"):
            raise ValidationError("choose a colleague or the pool, not both", "hand_over_to")
        if data.get("to_pool") is False and data.get("hand_over_to") is None:
            raise ValidationError(
                "name the colleague (hand_over_to) or send the customers to the pool", "to_pool"
            )


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
