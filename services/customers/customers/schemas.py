"""What crosses the customers service's boundary: requests loaded here, answers dumped here."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from customers.domain import FOLLOWUP_KINDS, MAX_ID, STATUSES, InvalidBirthday, parse_birthday


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
    phone = Text(load_default=None, allow_none=True, validate=validate.Length(max=40))
    decision_level = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=validate.Range(min=1, max=5),
        metadata={"description": "1 (no say) … 5 (owner / general manager, the final say)"},
    )


class NewCustomerSchema(Schema):
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    phone = Text(load_default=None, allow_none=True, validate=validate.Length(max=40))
    phones = fields.List(
        Text(validate=validate.Length(max=40)), load_default=list, validate=validate.Length(max=10)
    )
    address = Text(load_default=None, allow_none=True, validate=validate.Length(max=300))
    industry = Text(load_default=None, allow_none=True, validate=validate.Length(max=100))
    birthday = Text(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(max=20), _birthday],
        metadata={"description": "founding day or owner's birthday: MM-DD or YYYY-MM-DD"},
    )
    next_visit_at = fields.DateTime(
        load_default=None, allow_none=True, metadata={"description": "ISO 8601; without a zone, local time"}
    )
    next_visit_contact = Text(load_default=None, allow_none=True, validate=validate.Length(max=100))
    referred_by = _id(load_default=None, allow_none=True)
    contacts = fields.List(fields.Nested(ContactSchema), load_default=list, validate=validate.Length(max=20))


def _not_empty(changes: dict) -> None:
    if not changes:
        raise ValidationError("name at least one field to change")


class AmendmentRequestSchema(Schema):
    changes = fields.Nested(
        NewCustomerSchema(partial=True, exclude=("phone",)),
        required=True,
        validate=_not_empty,
        metadata={"description": "new values of the fields to correct (contacts and phones as whole lists)"},
    )
    reason = Text(required=True, validate=validate.Length(min=1, max=1000))


class CheckSchema(Schema):
    name = Text(load_default=None, allow_none=True, validate=validate.Length(max=200))
    phone = Text(load_default=None, allow_none=True, validate=validate.Length(max=40))

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
    occurred_at = fields.DateTime(
        load_default=None, allow_none=True, metadata={"description": "default: now"}
    )


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


class ImportQuerySchema(Schema):
    owner_id = _id(strict=False, load_default=None, metadata={"description": "default: the caller"})
    dry_run = fields.Boolean(load_default=False)


# --- answers -----------------------------------------------------------------------------------


class ContactOutSchema(Schema):
    name = fields.String()
    title = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    decision_level = fields.Integer(allow_none=True)


class FollowupOutSchema(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    kind = fields.String()
    summary = fields.String()
    contact = fields.String(allow_none=True)
    occurred_at = fields.DateTime()
    recorded_by = fields.Integer()
    recorded_at = fields.DateTime()


class CustomerSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    phone = fields.Function(
        lambda customer: (customer.phones or [None])[0], metadata={"description": "E.164"}
    )
    phones = fields.List(fields.String())
    address = fields.String(allow_none=True)
    industry = fields.String(allow_none=True)
    birthday = fields.String(allow_none=True)
    next_visit_at = fields.DateTime(allow_none=True)
    next_visit_contact = fields.String(allow_none=True)
    referred_by = fields.Integer(allow_none=True)
    contacts = fields.List(fields.Nested(ContactOutSchema))
    owner_id = fields.Integer(allow_none=True)
    owner_name = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "active, pool or archived"})
    revision = fields.Integer()
    entered_by = fields.Integer()
    entered_at = fields.DateTime()
    owned_since = fields.DateTime(allow_none=True)
    pooled_at = fields.DateTime(allow_none=True)
    archived_at = fields.DateTime(allow_none=True)
    followups = fields.List(fields.Nested(FollowupOutSchema), dump_default=None)


class CustomerPageSchema(Schema):
    items = fields.List(fields.Nested(CustomerSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class MatchSchema(Schema):
    customer_id = fields.Integer()
    name = fields.String()
    owner = fields.String(allow_none=True, metadata={"description": "the owner's display name"})
    owner_id = fields.Integer(allow_none=True)
    status = fields.String()
    matched_on = fields.List(fields.String(), metadata={"description": "name, phone or similar_name"})
    score = fields.Float()
    reason = fields.String()


class CheckResultSchema(Schema):
    duplicate = fields.Boolean(metadata={"description": "an exact match: entering it is refused"})
    matches = fields.List(fields.Nested(MatchSchema))


class AmendmentSchema(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    changes = fields.Dict()
    changed_fields = fields.List(fields.String())
    reason = fields.String()
    status = fields.String(metadata={"description": "pending, approved or rejected"})
    base_revision = fields.Integer()
    revision = fields.Integer(allow_none=True)
    requested_by = fields.Integer()
    requested_by_name = fields.String(allow_none=True)
    requested_at = fields.DateTime()
    decided_by = fields.Integer(allow_none=True)
    decided_by_name = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)


class RevisionSchema(Schema):
    revision = fields.Integer()
    snapshot = fields.Dict()
    changed_fields = fields.List(fields.String())
    reason = fields.String(allow_none=True)
    changed_by = fields.Integer(allow_none=True)
    changed_by_name = fields.String(allow_none=True)
    changed_at = fields.DateTime()
    amendment_id = fields.Integer(allow_none=True)
    approved_by = fields.Integer(allow_none=True)
    approved_by_name = fields.String(allow_none=True)


class OwnershipChangeSchema(Schema):
    from_owner_id = fields.Integer(allow_none=True)
    from_owner_name = fields.String(allow_none=True)
    to_owner_id = fields.Integer(allow_none=True)
    to_owner_name = fields.String(allow_none=True)
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    reason = fields.String(
        metadata={"description": "entered, claim, duplicate_confirmed, pool_take, admin, abandoned, archived"}
    )
    note = fields.String(allow_none=True)
    changed_by = fields.Integer(allow_none=True)
    changed_by_name = fields.String(allow_none=True)
    changed_at = fields.DateTime()
    alarm_id = fields.Integer(allow_none=True)
    dispute_id = fields.Integer(allow_none=True)
    suspicion_id = fields.Integer(allow_none=True)


class ClaimOutSchema(Schema):
    id = fields.Integer()
    dispute_id = fields.Integer()
    customer_id = fields.Integer()
    claimant_id = fields.Integer()
    claimant_name = fields.String()
    contact_name = fields.String()
    decision_level = fields.Integer()
    reason = fields.String(allow_none=True)
    claimed_at = fields.DateTime()
    status = fields.String(metadata={"description": "open, won, lost or closed"})


class HistorySchema(Schema):
    customer_id = fields.Integer()
    revisions = fields.List(fields.Nested(RevisionSchema))
    ownership_changes = fields.List(fields.Nested(OwnershipChangeSchema))
    amendments = fields.List(fields.Nested(AmendmentSchema))
    claims = fields.List(fields.Nested(ClaimOutSchema))


class StandingSchema(Schema):
    salesperson_id = fields.Integer()
    contact_name = fields.String()
    decision_level = fields.Integer()
    entered_at = fields.DateTime()


class DisputeSchema(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    customer_name = fields.String()
    team = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "open, resolved or closed"})
    owner_id = fields.Integer(allow_none=True)
    owner_name = fields.String(allow_none=True)
    owner_standing = fields.Nested(StandingSchema, allow_none=True)
    opened_at = fields.DateTime()
    claims = fields.List(fields.Nested(ClaimOutSchema))
    proposed_winner_id = fields.Integer(allow_none=True)
    proposal_reason = fields.String(allow_none=True)
    winner_id = fields.Integer(allow_none=True)
    resolved_by = fields.Integer(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    note = fields.String(allow_none=True)


class ClaimResultSchema(ClaimOutSchema):
    dispute = fields.Nested(DisputeSchema, allow_none=True)


class SuspectedCustomerSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    owner_id = fields.Integer(allow_none=True)
    owner_name = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    status = fields.String()
    entered_at = fields.DateTime()


class SuspicionSchema(Schema):
    id = fields.Integer()
    score = fields.Float()
    reason = fields.String()
    status = fields.String(metadata={"description": "open, dismissed or confirmed"})
    detected_at = fields.DateTime()
    customer = fields.Nested(SuspectedCustomerSchema, metadata={"description": "the later entry"})
    duplicate_of = fields.Nested(SuspectedCustomerSchema, metadata={"description": "the earlier entry"})
    decided_by = fields.Integer(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    note = fields.String(allow_none=True)


class PoolEntrySchema(Schema):
    id = fields.Integer()
    name = fields.String()
    industry = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    pooled_at = fields.DateTime(allow_none=True)
    pooled_from = fields.Integer(allow_none=True, metadata={"description": "the former owner"})
    pooled_from_name = fields.String(allow_none=True)
    pool_reason = fields.String(allow_none=True)


class ReferralCustomerSchema(Schema):
    customer_id = fields.Integer()
    name = fields.String(allow_none=True)
    owner = fields.String(allow_none=True)


class ReferralNodeSchema(ReferralCustomerSchema):
    children = fields.List(fields.Nested(lambda: ReferralNodeSchema()))
    truncated = fields.Boolean()


class ReferralsSchema(ReferralNodeSchema):
    referrers = fields.List(fields.Nested(ReferralCustomerSchema), metadata={"description": "nearest first"})
    referrers_truncated = fields.Boolean()
    cycle_detected = fields.Boolean()


class ImportRowSchema(Schema):
    line = fields.Integer(metadata={"description": "the row number a spreadsheet shows"})
    status = fields.String(metadata={"description": "created, duplicate or invalid"})
    name = fields.String(allow_none=True)
    customer_id = fields.Integer(allow_none=True)
    errors = fields.List(fields.String())
    duplicate_of = fields.Nested(MatchSchema, allow_none=True)


class ImportReportSchema(Schema):
    owner_id = fields.Integer()
    dry_run = fields.Boolean()
    created = fields.Integer()
    duplicates = fields.Integer()
    invalid = fields.Integer()
    rows = fields.List(fields.Nested(ImportRowSchema))
