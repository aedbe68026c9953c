"""Routes of the customers area: entry and the duplicate check, imports, reading, referrals,
amendments and archiving, follow-ups. Who owns a customer (transfers, claims and disputes,
near-duplicates, the team pool and its rules): ``routes_customers_ownership``."""

from __future__ import annotations

import base64
from typing import Any

from werkzeug.wrappers import Request

from crm_common.errors import InvalidInput
from customers.schemas import (
    AmendmentRequestSchema,
    AmendmentSchema,
    ArchiveSchema,
    CheckResultSchema,
    CheckSchema,
    CustomerPageSchema,
    CustomerSchema,
    DecisionSchema,
    FollowupOutSchema,
    FollowupSchema,
    HistorySchema,
    ImportJobPageSchema,
    ImportJobQuerySchema,
    ImportJobSchema,
    ImportJobsQuerySchema,
    ImportQuerySchema,
    ListQuerySchema,
    NewCustomerSchema,
    PendingAmendmentSchema,
    ReferralQuerySchema,
    ReferralsSchema,
)
from gateway.api import given, optional_body, route

IMPORT_TIMEOUT_SECONDS = 60.0  # decoding and reading a 5 MB file once; the rows run in a background job
MAX_IMPORT_BYTES = 5 * 1024 * 1024


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
        summary="Enter a customer; 409 duplicate_customer names the owner and what matched; "
        "403 when a salesperson sends an override (only a manager or an admin lets a duplicate through)",
        tag="customers",
        body=NewCustomerSchema,
        response=CustomerSchema,
        status=201,
        errors=(403, 409),
    )
    def create_customer(self, request: Request, body: dict) -> dict:
        return self.customers.create_customer(body)

    @route(
        "POST",
        "/customers/import",
        summary="Start importing a CSV (UTF-8 or GBK; raw body or multipart file) for one owner: 202 with the job",
        tag="customers",
        query=ImportQuerySchema,
        response=ImportJobSchema,
        status=202,
        errors=(403,),
        body_limit="MAX_IMPORT_BYTES",
    )
    def import_customers(self, request: Request, query: dict) -> dict:
        if (request.content_length or 0) > MAX_IMPORT_BYTES:
            raise InvalidInput("the file is larger than 5 MB: split it", {"file": ["too large"]})
        filename = None
        if request.mimetype == "multipart/form-data":
            upload = next(iter(request.files.values()), None)
            data = upload.read() if upload is not None else b""
            filename = upload.filename if upload is not None else None
        else:
            data = request.get_data()
        options = given(query)
        if filename and "filename" not in options:
            options["filename"] = filename[:200]
        return self.customers.with_timeout(IMPORT_TIMEOUT_SECONDS).import_customers(
            base64.b64encode(data).decode("ascii"), options
        )

    @route(
        "GET",
        "/customers/import/jobs",
        summary="Your imports (managers: the team's; admins: all), newest first, with their progress",
        tag="customers",
        query=ImportJobsQuerySchema,
        response=ImportJobPageSchema,
    )
    def list_import_jobs(self, request: Request, query: dict) -> dict:
        return self.customers.list_import_jobs(query)

    @route(
        "GET",
        "/customers/import/jobs/<int:job_id>",
        summary="An import's state and progress, and a page of its per-row report (status filter)",
        tag="customers",
        query=ImportJobQuerySchema,
        response=ImportJobSchema,
        errors=(404,),
    )
    def get_import_job(self, request: Request, query: dict, job_id: int) -> dict:
        return self.customers.get_import_job(job_id, given(query))

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
        return self.customers.list_customers(given(query))

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
        return self.customers.get_referrals(customer_id, given(query))

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
        note = optional_body(request, DecisionSchema)
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
        note = optional_body(request, DecisionSchema)
        return self.customers.reject_amendment(customer_id, amendment_id, note)

    @route(
        "GET",
        "/amendments",
        summary="Pending amendments: the team's (manager), all (admin), your own (salesperson)",
        tag="customers",
        response=PendingAmendmentSchema,
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
