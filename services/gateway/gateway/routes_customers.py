"""Routes of the customers area: entry and the duplicate check, reading, amendments, follow-ups,
referrals, claims and disputes, near-duplicates, the team pool and imports."""

from __future__ import annotations

import base64
from typing import Any

from marshmallow import Schema
from werkzeug.wrappers import Request

from crm_common.errors import InvalidInput
from customers.schemas import (
    AbandonSchema,
    AmendmentRequestSchema,
    AmendmentSchema,
    ArchiveSchema,
    CheckResultSchema,
    CheckSchema,
    ClaimOutSchema,
    ClaimSchema,
    CustomerPageSchema,
    CustomerSchema,
    DecisionSchema,
    DisputeSchema,
    FollowupOutSchema,
    FollowupSchema,
    HistorySchema,
    ImportQuerySchema,
    ImportReportSchema,
    ListQuerySchema,
    NewCustomerSchema,
    PoolEntrySchema,
    ReferralQuerySchema,
    ReferralsSchema,
    ResolveDisputeSchema,
    StatusQuerySchema,
    SuspicionSchema,
    TransferSchema,
)
from gateway.api import parse_json, route, validate

IMPORT_TIMEOUT_SECONDS = 300.0  # a spreadsheet of thousands of rows is checked row by row
MAX_IMPORT_BYTES = 5 * 1024 * 1024


def _optional_body(request: Request, schema: type[Schema]) -> dict:
    """A decision's JSON body ({"note": …}) when one was sent; an empty body means no note."""
    if not request.get_data(as_text=True).strip():
        return {}
    payload = parse_json(request)
    validate(schema, payload)
    return payload


def _given(query: dict) -> dict:
    return {name: value for name, value in query.items() if value is not None}


class CustomersRoutes:
    customers: Any
    caller: Any

    # --- entry ---------------------------------------------------------------------------------

    @route(
        "POST",
        "/customers/check",
        summary="Is this name or phone already a customer, and whose? (never its contact details)",
        tag="customers",
        body=CheckSchema,
        response=CheckResultSchema,
    )
    def check_customer(self, request: Request, body: dict) -> dict:
        return self.customers.check_duplicates(body)

    @route(
        "POST",
        "/customers",
        summary="Enter a customer; 409 duplicate_customer names the owner and what matched",
        tag="customers",
        body=NewCustomerSchema,
        response=CustomerSchema,
        status=201,
        errors=(409,),
    )
    def create_customer(self, request: Request, body: dict) -> dict:
        return self.customers.create_customer(body)

    @route(
        "POST",
        "/customers/import",
        summary="Import a CSV (UTF-8 or GBK; raw body or multipart file) for one owner: a per-row report",
        tag="customers",
        query=ImportQuerySchema,
        response=ImportReportSchema,
        errors=(403,),
    )
    def import_customers(self, request: Request, query: dict) -> dict:
        if (request.content_length or 0) > MAX_IMPORT_BYTES:
            raise InvalidInput("the file is larger than 5 MB: split it", {"file": ["too large"]})
        if request.mimetype == "multipart/form-data":
            upload = next(iter(request.files.values()), None)
            data = upload.read() if upload is not None else b""
        else:
            data = request.get_data()
        return self.customers.with_timeout(IMPORT_TIMEOUT_SECONDS).import_customers(
            base64.b64encode(data).decode("ascii"), _given(query)
        )

    # --- reading -------------------------------------------------------------------------------

    @route(
        "GET",
        "/customers",
        summary="The customers you may read (own, team, all); q = name or phone; paged",
        tag="customers",
        query=ListQuerySchema,
        response=CustomerPageSchema,
    )
    def list_customers(self, request: Request, query: dict) -> dict:
        return self.customers.list_customers(_given(query))

    @route(
        "GET",
        "/customers/<int:customer_id>",
        summary="A customer in full with its latest follow-ups (owner, team manager, admin)",
        tag="customers",
        response=CustomerSchema,
        errors=(403, 404),
    )
    def get_customer(self, request: Request, customer_id: int) -> dict:
        return self.customers.get_customer(customer_id)

    @route(
        "GET",
        "/customers/<int:customer_id>/history",
        summary="Every revision, ownership change, amendment and claim: who, when, why",
        tag="customers",
        response=HistorySchema,
        errors=(403, 404),
    )
    def customer_history(self, request: Request, customer_id: int) -> dict:
        return self.customers.get_history(customer_id)

    @route(
        "GET",
        "/customers/<int:customer_id>/referrals",
        summary="Who the customer referred (tree) and who referred it (chain)",
        tag="customers",
        query=ReferralQuerySchema,
        response=ReferralsSchema,
        errors=(403, 404),
    )
    def customer_referrals(self, request: Request, customer_id: int, query: dict) -> dict:
        return self.customers.get_referrals(customer_id, _given(query))

    # --- append-only -----------------------------------------------------------------------------

    @route(
        "PATCH",
        "/customers/<int:customer_id>",
        summary="Refused (403 immutable_record): request an amendment instead",
        tag="customers",
        errors=(403, 404),
    )
    def patch_customer(self, request: Request, customer_id: int) -> dict:
        return self.customers.edit_customer(customer_id, "change")

    @route(
        "PUT",
        "/customers/<int:customer_id>",
        summary="Refused (403 immutable_record): request an amendment instead",
        tag="customers",
        errors=(403, 404),
    )
    def put_customer(self, request: Request, customer_id: int) -> dict:
        return self.customers.edit_customer(customer_id, "change")

    @route(
        "DELETE",
        "/customers/<int:customer_id>",
        summary="Refused (403 immutable_record): nothing is deleted; an admin archives",
        tag="customers",
        errors=(403, 404),
    )
    def delete_customer(self, request: Request, customer_id: int) -> dict:
        return self.customers.edit_customer(customer_id, "delete")

    @route(
        "POST",
        "/customers/<int:customer_id>/amendments",
        summary="Ask the team's manager to correct a customer: {changes, reason}",
        tag="customers",
        body=AmendmentRequestSchema,
        response=AmendmentSchema,
        status=201,
        errors=(403, 404, 409),
    )
    def request_amendment(self, request: Request, customer_id: int, body: dict) -> dict:
        return self.customers.request_amendment(customer_id, body)

    @route(
        "GET",
        "/customers/<int:customer_id>/amendments",
        summary="The customer's amendment requests",
        tag="customers",
        response=AmendmentSchema,
        many=True,
        errors=(403, 404),
    )
    def list_customer_amendments(self, request: Request, customer_id: int) -> list:
        return self.customers.list_amendments(customer_id)

    @route(
        "POST",
        "/customers/<int:customer_id>/amendments/<int:amendment_id>/approve",
        summary="Approve an amendment (team manager, admin): it becomes a new revision; body {note} optional",
        tag="customers",
        response=AmendmentSchema,
        errors=(403, 404, 409),
    )
    def approve_amendment(self, request: Request, customer_id: int, amendment_id: int) -> dict:
        note = _optional_body(request, DecisionSchema)
        return self.customers.approve_amendment(customer_id, amendment_id, note)

    @route(
        "POST",
        "/customers/<int:customer_id>/amendments/<int:amendment_id>/reject",
        summary="Reject an amendment (team manager, admin); body {note} optional",
        tag="customers",
        response=AmendmentSchema,
        errors=(403, 404, 409),
    )
    def reject_amendment(self, request: Request, customer_id: int, amendment_id: int) -> dict:
        note = _optional_body(request, DecisionSchema)
        return self.customers.reject_amendment(customer_id, amendment_id, note)

    @route(
        "GET",
        "/amendments",
        summary="Pending amendments: the team's (manager), all (admin), your own (salesperson)",
        tag="customers",
        response=AmendmentSchema,
        many=True,
    )
    def pending_amendments(self, request: Request) -> list:
        return self.customers.list_pending_amendments()

    @route(
        "POST",
        "/customers/<int:customer_id>/archive",
        summary="Archive a customer (admin): never deleted, gone from lists, may be entered again",
        tag="customers",
        body=ArchiveSchema,
        response=CustomerSchema,
        errors=(403, 404, 409),
    )
    def archive_customer(self, request: Request, customer_id: int, body: dict) -> dict:
        return self.customers.archive_customer(customer_id, body)

    # --- follow-ups ------------------------------------------------------------------------------

    @route(
        "POST",
        "/customers/<int:customer_id>/followups",
        summary="Record a call, visit, sample, quote or other contact (append-only)",
        tag="customers",
        body=FollowupSchema,
        response=FollowupOutSchema,
        status=201,
        errors=(403, 404, 409),
    )
    def record_followup(self, request: Request, customer_id: int, body: dict) -> dict:
        return self.customers.record_followup(customer_id, body)

    @route(
        "GET",
        "/customers/<int:customer_id>/followups",
        summary="The customer's follow-ups, latest first",
        tag="customers",
        response=FollowupOutSchema,
        many=True,
        errors=(403, 404),
    )
    def list_followups(self, request: Request, customer_id: int) -> list:
        return self.customers.list_followups(customer_id)

    @route(
        "PATCH",
        "/customers/<int:customer_id>/followups/<int:followup_id>",
        summary="Refused (403 immutable_record): record a new follow-up instead",
        tag="customers",
        errors=(403, 404),
    )
    def patch_followup(self, request: Request, customer_id: int, followup_id: int) -> dict:
        return self.customers.edit_followup(customer_id, followup_id, "change")

    @route(
        "PUT",
        "/customers/<int:customer_id>/followups/<int:followup_id>",
        summary="Refused (403 immutable_record): record a new follow-up instead",
        tag="customers",
        errors=(403, 404),
    )
    def put_followup(self, request: Request, customer_id: int, followup_id: int) -> dict:
        return self.customers.edit_followup(customer_id, followup_id, "change")

    @route(
        "DELETE",
        "/customers/<int:customer_id>/followups/<int:followup_id>",
        summary="Refused (403 immutable_record): follow-ups are never deleted",
        tag="customers",
        errors=(403, 404),
    )
    def delete_followup(self, request: Request, customer_id: int, followup_id: int) -> dict:
        return self.customers.edit_followup(customer_id, followup_id, "delete")

    # --- ownership -----------------------------------------------------------------------------

    @route(
        "POST",
        "/customers/<int:customer_id>/transfer",
        summary="Hand a customer to another salesperson (team manager, admin): {owner_id, reason}",
        tag="customers",
        body=TransferSchema,
        response=CustomerSchema,
        errors=(403, 404, 409),
    )
    def transfer_customer(self, request: Request, customer_id: int, body: dict) -> dict:
        return self.customers.transfer_customer(customer_id, body)

    @route(
        "POST",
        "/customers/<int:customer_id>/claims",
        summary="Claim another's customer, naming your contact and their decision level (1–5)",
        tag="customers",
        body=ClaimSchema,
        response=ClaimOutSchema,
        status=201,
        errors=(403, 404, 409),
    )
    def claim_customer(self, request: Request, customer_id: int, body: dict) -> dict:
        return self.customers.claim_customer(customer_id, body)

    @route(
        "GET",
        "/disputes",
        summary="Ownership disputes of your team (managers, admins) with the proposed winner",
        tag="customers",
        query=StatusQuerySchema,
        response=DisputeSchema,
        many=True,
        errors=(403,),
    )
    def list_disputes(self, request: Request, query: dict) -> list:
        return self.customers.list_disputes(_given(query))

    @route(
        "GET",
        "/disputes/<int:dispute_id>",
        summary="One ownership dispute with its claims and the proposed winner",
        tag="customers",
        response=DisputeSchema,
        errors=(403, 404),
    )
    def get_dispute(self, request: Request, dispute_id: int) -> dict:
        return self.customers.get_dispute(dispute_id)

    @route(
        "POST",
        "/disputes/<int:dispute_id>/resolve",
        summary="Settle a dispute (team manager, admin); body {winner_id, note} optional: default the proposal",
        tag="customers",
        response=DisputeSchema,
        errors=(403, 404, 409),
    )
    def resolve_dispute(self, request: Request, dispute_id: int) -> dict:
        return self.customers.resolve_dispute(dispute_id, _optional_body(request, ResolveDisputeSchema))

    # --- near-duplicates -------------------------------------------------------------------------

    @route(
        "GET",
        "/duplicates",
        summary="Suspected duplicate customers of your team (managers, admins), with score and reason",
        tag="customers",
        query=StatusQuerySchema,
        response=SuspicionSchema,
        many=True,
        errors=(403,),
    )
    def list_duplicates(self, request: Request, query: dict) -> list:
        return self.customers.list_duplicates(_given(query))

    @route(
        "POST",
        "/duplicates/<int:suspicion_id>/dismiss",
        summary="Not the same company; body {note} optional",
        tag="customers",
        response=SuspicionSchema,
        errors=(403, 404, 409),
    )
    def dismiss_duplicate(self, request: Request, suspicion_id: int) -> dict:
        return self.customers.dismiss_duplicate(suspicion_id, _optional_body(request, DecisionSchema))

    @route(
        "POST",
        "/duplicates/<int:suspicion_id>/confirm",
        summary="The same company: the later customer goes to the earlier one's owner; body {note} optional",
        tag="customers",
        response=SuspicionSchema,
        errors=(403, 404, 409),
    )
    def confirm_duplicate(self, request: Request, suspicion_id: int) -> dict:
        return self.customers.confirm_duplicate(suspicion_id, _optional_body(request, DecisionSchema))

    # --- giving up a customer: the pool ----------------------------------------------------------

    @route(
        "POST",
        "/customers/<int:customer_id>/abandon",
        summary="Give up a customer to the team pool: 409 alarm_required without a manager-answered alarm",
        tag="customers",
        body=AbandonSchema,
        response=CustomerSchema,
        errors=(403, 404, 409),
    )
    def abandon_customer(self, request: Request, customer_id: int, body: dict) -> dict:
        return self.customers.abandon_customer(customer_id, body)

    @route(
        "GET",
        "/pool",
        summary="Your team's customers without an owner, with who gave each up and why",
        tag="customers",
        response=PoolEntrySchema,
        many=True,
    )
    def list_pool(self, request: Request) -> list:
        return self.customers.list_pool()

    @route(
        "POST",
        "/pool/<int:customer_id>/take",
        summary="Take a customer from your team's pool: you own it",
        tag="customers",
        response=CustomerSchema,
        errors=(403, 404, 409),
    )
    def take_from_pool(self, request: Request, customer_id: int) -> dict:
        return self.customers.take_from_pool(customer_id)
