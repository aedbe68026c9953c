"""What crosses the customers service's boundary: requests loaded here, answers dumped here."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from crm_common.fields import DateTime
from customers.constants import (
    DEFAULT_COOLDOWN_DAYS,
    DEFAULT_FOLLOWUP_DAYS,
    DEFAULT_MAX_CUSTOMERS,
    DEFAULT_MAX_DAILY_TAKES,
    DEFAULT_WARNING_DAYS,
    DEFAULT_WON_DEAL_DAYS,
    FOLLOWUP_KINDS,
    MAX_BIRTHDAY_LENGTH,
    MAX_CUSTOMERS_LIMIT,
    MAX_ID,
    MAX_NAME_LENGTH,
    MAX_PHONE_LENGTH,
    MAX_POOL_DAYS,
    STATUSES,
    InvalidBirthday,
    parse_birthday,
)

# One set of limits for every way a customer comes in: JSON entry, amendments (the same schema,
# partial), the CSV import (each row is loaded with NewCustomerSchema) and the events customers
# consumes (CustomerEventSchema). The domain refuses anything longer too (customers.normalize).
NAME = validate.Length(min=1, max=MAX_NAME_LENGTH)
PHONE = validate.Length(max=MAX_PHONE_LENGTH)
MAX_PHONES = 10
MAX_CONTACTS = 20


class Text(fields.String):
    """A string without NUL characters (PostgreSQL cannot store them)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text is not None and "\x00" in text:
            raise ValidationError("must not contain NUL characters")
        return text


def _birthday(value: str | None) -> None:
    if value and value.strip():
        try:
            parse_birthday(value)
        except InvalidBirthday as error:
            raise ValidationError(str(error)) from error


def _id(strict: bool = True, **kwargs: Any) -> fields.Integer:
    """An id: strict in JSON bodies (7, not "7"); a query string can only send text."""
    return fields.Integer(strict=strict, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


# --- requests -------------------------------------------------------------------------------------


class ContactSchema(Schema):
    name = Text(required=True, validate=validate.Length(min=1, max=100))
    title = Text(load_default=None, allow_none=True, validate=validate.Length(max=100))
    phone = Text(load_default=None, allow_none=True, validate=PHONE)
    decision_level = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=validate.Range(min=1, max=5),
        metadata={"description": "1 (no say) … 5 (owner / general manager, the final say)"},
    )


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("give the reason")


class OverrideSchema(Schema):
    reason = Text(
        required=True,
        validate=[validate.Length(min=1, max=500), _not_blank],
        metadata={"description": "why this entry is let through although it matches a customer"},
    )


class NewCustomerSchema(Schema):
    name = Text(required=True, validate=NAME)
    phone = Text(load_default=None, allow_none=True, validate=PHONE)
    phones = fields.List(Text(validate=PHONE), load_default=list, validate=validate.Length(max=MAX_PHONES))
    address = Text(load_default=None, allow_none=True, validate=validate.Length(max=300))
    industry = Text(load_default=None, allow_none=True, validate=validate.Length(max=100))
    birthday = Text(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(max=MAX_BIRTHDAY_LENGTH), _birthday],
        metadata={"description": "founding day or owner's birthday: MM-DD or YYYY-MM-DD"},
    )
    next_visit_at = DateTime(
        load_default=None, allow_none=True, metadata={"description": "ISO 8601; without a zone, local time"}
    )
    next_visit_contact = Text(load_default=None, allow_none=True, validate=validate.Length(max=100))
    referred_by = _id(load_default=None, allow_none=True)
    contacts = fields.List(
        fields.Nested(ContactSchema), load_default=list, validate=validate.Length(max=MAX_CONTACTS)
    )
    override = fields.Nested(
        OverrideSchema,
        load_default=None,
        allow_none=True,
        metadata={
            "description": "managers and admins: enter it although it matches a customer (the rare "
            "real exception), with the reason; recorded in the history, event customer_duplicate_overridden"
        },
    )


def _not_empty(changes: dict) -> None:
    if not changes:
        raise ValidationError("name at least one field to change")


class AmendmentRequestSchema(Schema):
    changes = fields.Nested(
        NewCustomerSchema(partial=True, exclude=("phone", "override")),
        required=True,
        validate=_not_empty,
        metadata={"description": "new values of the fields to correct (contacts and phones as whole lists)"},
    )
    reason = Text(required=True, validate=validate.Length(min=1, max=1000))


class CheckSchema(Schema):
    name = Text(load_default=None, allow_none=True, validate=validate.Length(max=MAX_NAME_LENGTH))
    phone = Text(load_default=None, allow_none=True, validate=PHONE)

    @validates_schema
    def _name_or_phone(self, data: dict, **kwargs: Any) -> None:
        if not (data.get("name") or "").strip() and not (data.get("phone") or "").strip():
            raise ValidationError("give a name or a phone", "_schema")


class ListQuerySchema(Schema):
    q = Text(load_default=None, validate=validate.Length(max=100), metadata={"description": "name or phone"})
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    owner_id = _id(strict=False, load_default=None)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ReferralQuerySchema(Schema):
    depth = fields.Integer(load_default=5, validate=validate.Range(min=1, max=10))


class StatusQuerySchema(Schema):
    status = fields.String(load_default="open", validate=validate.Length(max=16))


class FollowupSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(FOLLOWUP_KINDS))
    summary = Text(required=True, validate=validate.Length(min=1, max=2000))
    contact = Text(load_default=None, allow_none=True, validate=validate.Length(max=100))
    occurred_at = DateTime(load_default=None, allow_none=True, metadata={"description": "default: now"})


class FollowupRecordedSchema(Schema):
    """``followup_recorded`` (and a row of ``followups_since``): who recorded which contact, when it
    happened, and whether it kept the revisit date in force when it was recorded."""

    followup_id = fields.Integer(attribute="id")
    customer_id = fields.Integer()
    recorded_by = fields.Integer()
    kind = fields.String()
    occurred_at = fields.DateTime()
    recorded_at = fields.DateTime()
    revisit_at = fields.DateTime(allow_none=True, metadata={"description": "the planned next visit then"})
    on_time = fields.Boolean(
        allow_none=True,
        metadata={"description": "on or before the revisit day (local); null without a revisit date"},
    )


class CustomerEnteredSchema(Schema):
    """A row of ``entered_since``: a customer as its ``customer_created`` credited it — the owner
    it was entered for (its first ownership change), whoever owns it now."""

    customer_id = fields.Integer(attribute="id")
    name = fields.String()
    owner_id = fields.Integer(allow_none=True, metadata={"description": "the owner at entry"})
    team = fields.String(allow_none=True, metadata={"description": "the customer's team now"})
    entered_by = fields.Integer()
    entered_at = fields.DateTime()


class FollowupsSinceSchema(Schema):
    """A page of what happened from ``since`` on, oldest first (``followups_since``,
    ``entered_since``)."""

    since = DateTime(required=True, require_offset=True)
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=1000))


class ClaimSchema(Schema):
    contact_name = Text(required=True, validate=validate.Length(min=1, max=100))
    decision_level = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    reason = Text(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class ResolveDisputeSchema(Schema):
    winner_id = _id(
        load_default=None, allow_none=True, metadata={"description": "default: the proposed winner"}
    )
    note = Text(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class DecisionSchema(Schema):
    note = Text(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class AbandonSchema(Schema):
    reason = Text(required=True, validate=validate.Length(min=1, max=1000))
    alarm_id = _id(
        load_default=None,
        allow_none=True,
        metadata={"description": "a difficulty alarm about this customer that a manager answered"},
    )


class TransferSchema(Schema):
    owner_id = _id(required=True)
    reason = Text(required=True, validate=validate.Length(min=1, max=1000))


class ArchiveSchema(Schema):
    reason = Text(required=True, validate=validate.Length(min=1, max=1000))


def _days(default: int, minimum: int, description: str) -> fields.Integer:
    return fields.Integer(
        strict=True,
        validate=validate.Range(min=minimum, max=MAX_POOL_DAYS),
        metadata={"description": f"{description} (default {default})"},
    )


class PoolSettingsSchema(Schema):
    """A team's pool rules (公海规则) as its manager sets them: any of the fields (the others keep
    their values)."""

    followup_days = _days(
        DEFAULT_FOLLOWUP_DAYS, 1, "days without a follow-up before a customer returns to the pool"
    )
    won_deal_days = _days(DEFAULT_WON_DEAL_DAYS, 0, "days without a won deal before it returns; 0: off")
    warning_days = _days(DEFAULT_WARNING_DAYS, 0, "days before a return its owner is warned; 0: no warning")
    max_customers = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=MAX_CUSTOMERS_LIMIT),
        metadata={
            "description": f"the most customers one salesperson may hold (default {DEFAULT_MAX_CUSTOMERS})"
        },
    )
    max_daily_takes = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=MAX_CUSTOMERS_LIMIT),
        metadata={
            "description": f"takes from the pool per salesperson per day (default {DEFAULT_MAX_DAILY_TAKES})"
        },
    )
    cooldown_days = _days(
        DEFAULT_COOLDOWN_DAYS, 0, "days a former owner waits before taking the same customer back"
    )

    @validates_schema
    def _coherent(self, data: dict, **kwargs: Any) -> None:
        if not data:
            raise ValidationError("name at least one rule to set", "_schema")
        followup, warning = data.get("followup_days"), data.get("warning_days")
        if followup is not None and warning is not None and warning >= followup:
            raise ValidationError("the warning must come before the return", "warning_days")


class PoolSettingsQuerySchema(Schema):
    team = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "default: the caller's team (admins name one)"},
    )


class PoolSettingsOutSchema(Schema):
    team = fields.String()
    followup_days = fields.Integer()
    won_deal_days = fields.Integer()
    warning_days = fields.Integer()
    max_customers = fields.Integer()
    max_daily_takes = fields.Integer()
    cooldown_days = fields.Integer()
    updated_by = fields.Integer(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)


class WonDealEventSchema(Schema):
    """What customers reads of pipeline's ``opportunity_won``: the customer it was won with."""

    class Meta:
        unknown = EXCLUDE

    customer_id = _id(required=True)


class ImportQuerySchema(Schema):
    owner_id = _id(strict=False, load_default=None, metadata={"description": "default: the caller"})
    dry_run = fields.Boolean(load_default=False)
    filename = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"description": "shown in the job list"},
    )


IMPORT_ROW_STATUSES = ("created", "duplicate", "invalid")


class ImportJobQuerySchema(Schema):
    """Which page of a job's per-row report to show (rows in file order)."""

    status = fields.String(
        load_default=None,
        validate=validate.OneOf(IMPORT_ROW_STATUSES),
        metadata={"description": "only these rows"},
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=500, validate=validate.Range(min=1, max=5000))


class ImportJobsQuerySchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class CustomerEventSchema(Schema):
    """What the customers service reads of its own ``customer_created``/``customer_amended``
    events before it scans: the same name rule as entry, an id, the changed fields."""

    class Meta:
        unknown = EXCLUDE

    customer_id = _id(required=True)
    name = Text(required=True, validate=NAME)
    changed_fields = fields.List(
        fields.String(validate=validate.Length(max=40)), load_default=list, validate=validate.Length(max=20)
    )


class UserDeactivatedSchema(Schema):
    """What customers reads of accounts' ``user_deactivated``: who left, their team, who did it,
    and where their customers go (``hand_over_to`` a colleague, or the team pool)."""

    class Meta:
        unknown = EXCLUDE

    id = _id(required=True)
    username = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    team = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    by = _id(load_default=None, allow_none=True)
    hand_over_to = _id(load_default=None, allow_none=True)
    hand_over_to_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    to_pool = fields.Boolean(load_default=None, allow_none=True)


# --- answers: in customers.schemas_answers, re-exported here (the one contract module callers import)

from customers.schemas_answers import (  # noqa: E402, F401
    AmendmentSchema,
    CheckResultSchema,
    ClaimOutSchema,
    ClaimResultSchema,
    ContactOutSchema,
    CustomerPageSchema,
    CustomerSchema,
    DisputeSchema,
    FollowupOutSchema,
    HistorySchema,
    ImportJobPageSchema,
    ImportJobSchema,
    ImportRowSchema,
    MatchSchema,
    OwnershipChangeSchema,
    PendingAmendmentSchema,
    PoolEntrySchema,
    ReferralCustomerSchema,
    ReferralNodeSchema,
    ReferralsSchema,
    RevisionSchema,
    StandingSchema,
    SuspectedCustomerSchema,
    SuspicionSchema,
)
