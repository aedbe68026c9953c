"""What the customers service answers: the schemas its replies are dumped with (the requests it
loads are in customers.schemas, which re-exports these: callers import customers.schemas only)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from customers.constants import POOL_CAUSES


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
    followups = fields.List(
        fields.Nested(FollowupOutSchema),
        dump_default=None,
        allow_none=True,
        metadata={
            "description": "the latest ones on GET /customers/{id} (all: /followups); null in lists and other answers"
        },
    )


class CustomerPageSchema(Schema):
    items = fields.List(fields.Nested(CustomerSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class MatchSchema(Schema):
    customer_id = fields.Integer()
    name = fields.String(
        allow_none=True,
        metadata={
            "description": "the stored name: null unless the caller may read the customer "
            "or typed the same company (an exact name match)"
        },
    )
    owner = fields.String(allow_none=True, metadata={"description": "the owner's display name"})
    owner_id = fields.Integer(allow_none=True)
    status = fields.String()
    entered_at = fields.String(
        allow_none=True, metadata={"description": "when the customer was entered (已存在：由 … 于 … 录入)"}
    )
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


class PendingAmendmentSchema(AmendmentSchema):
    customer_name = fields.String(metadata={"description": "the customer's current name"})


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
        metadata={
            "description": "entered, duplicate_overridden (entered by a manager's override; note: "
            "the reason), claim, duplicate_confirmed, pool_take, admin, abandoned, archived"
        }
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
    pool_cause = fields.String(
        allow_none=True,
        validate=validate.OneOf(POOL_CAUSES),
        metadata={
            "description": "why it came back: abandoned (放弃客户), released (退回公海), "
            "offboarding (its owner was deactivated), no_followup or no_won_deal (returned by the "
            "team's pool rules); pool_reason says it in words"
        },
    )
    returned_at = fields.DateTime(allow_none=True, metadata={"description": "when it came back"})


class ReferralCustomerSchema(Schema):
    customer_id = fields.Integer()
    readable = fields.Boolean(metadata={"description": "whether the caller may read this customer"})
    name = fields.String(allow_none=True, metadata={"description": "null unless readable"})
    owner = fields.String(allow_none=True, metadata={"description": "null unless readable"})


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
    field_errors = fields.Dict(
        dump_default=dict,
        metadata={"description": "what the entry schema of POST /customers refused, by field"},
    )
    duplicate_of = fields.Nested(MatchSchema, allow_none=True)


class ImportJobSchema(Schema):
    """A background import: its progress and, page by page, its per-row report."""

    id = fields.Integer()
    state = fields.String(metadata={"description": "queued, running, finished or failed"})
    dry_run = fields.Boolean()
    filename = fields.String(allow_none=True)
    owner_id = fields.Integer()
    owner_name = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    submitted_by = fields.Integer()
    submitted_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    total_rows = fields.Integer(metadata={"description": "data rows in the file"})
    rows_done = fields.Integer(metadata={"description": "rows checked (and created) so far"})
    created = fields.Integer(metadata={"description": "with dry_run: would be created"})
    duplicates = fields.Integer()
    invalid = fields.Integer()
    error = fields.String(allow_none=True, metadata={"description": "why a failed job stopped"})
    rows = fields.List(
        fields.Nested(ImportRowSchema), metadata={"description": "the report rows done so far (this page)"}
    )
    page = fields.Integer()
    per_page = fields.Integer()
    rows_matching = fields.Integer(
        metadata={"description": "report rows (with the status filter) in all pages"}
    )


class ImportJobPageSchema(Schema):
    items = fields.List(fields.Nested(ImportJobSchema(exclude=("rows", "page", "per_page", "rows_matching"))))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
