"""Routes of the customers area about who owns a customer: transfers, claims and disputes,
near-duplicates (confirming one hands the customer over), giving a customer up to the team pool,
taking one from it, and the pool's rules. The rest of the area: ``routes_customers``."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from customers.schemas import (
    AbandonSchema,
    ClaimOutSchema,
    ClaimSchema,
    CustomerSchema,
    DecisionSchema,
    DisputeSchema,
    PoolEntrySchema,
    PoolSettingsOutSchema,
    PoolSettingsQuerySchema,
    PoolSettingsSchema,
    ResolveDisputeSchema,
    StatusQuerySchema,
    SuspicionSchema,
    TransferSchema,
)
from gateway.api import given, optional_body, route


class CustomersOwnershipRoutes:
    customers: Any
    caller: Any

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
        return self.customers.list_disputes(given(query))

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
        return self.customers.resolve_dispute(dispute_id, optional_body(request, ResolveDisputeSchema))

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
        return self.customers.list_duplicates(given(query))

    @route(
        "POST",
        "/duplicates/<int:suspicion_id>/dismiss",
        summary="Not the same company; body {note} optional",
        tag="customers",
        response=SuspicionSchema,
        errors=(403, 404, 409),
    )
    def dismiss_duplicate(self, request: Request, suspicion_id: int) -> dict:
        return self.customers.dismiss_duplicate(suspicion_id, optional_body(request, DecisionSchema))

    @route(
        "POST",
        "/duplicates/<int:suspicion_id>/confirm",
        summary="The same company: the later customer goes to the earlier one's owner; body {note} optional",
        tag="customers",
        response=SuspicionSchema,
        errors=(403, 404, 409),
    )
    def confirm_duplicate(self, request: Request, suspicion_id: int) -> dict:
        return self.customers.confirm_duplicate(suspicion_id, optional_body(request, DecisionSchema))

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

    # --- the pool rules (公海规则) ----------------------------------------------------------------

    @route(
        "POST",
        "/customers/<int:customer_id>/release",
        summary="退回公海: return your customer to the team pool, by the abandon rule "
        "(409 alarm_required without a manager-answered alarm)",
        tag="customers",
        body=AbandonSchema,
        response=CustomerSchema,
        errors=(403, 404, 409),
    )
    def release_customer(self, request: Request, customer_id: int, body: dict) -> dict:
        return self.customers.release_customer(customer_id, body)

    @route(
        "GET",
        "/pool/settings",
        summary="A team's pool rules (default: yours; admins name the team)",
        tag="customers",
        query=PoolSettingsQuerySchema,
        response=PoolSettingsOutSchema,
        errors=(403,),
    )
    def get_pool_settings(self, request: Request, query: dict) -> dict:
        return self.customers.get_pool_settings(query)

    @route(
        "PUT",
        "/pool/settings",
        summary="The team's manager (admins: any team) sets its pool rules; 400 with field details",
        tag="customers",
        query=PoolSettingsQuerySchema,
        body=PoolSettingsSchema,
        response=PoolSettingsOutSchema,
        errors=(403,),
    )
    def set_pool_settings(self, request: Request, query: dict, body: dict) -> dict:
        return self.customers.set_pool_settings(body, query)
