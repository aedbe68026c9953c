"""Claims on another salesperson's customer and the disputes the team's manager settles."""

from __future__ import annotations

from typing import Any

from crm_common.caller import Caller
from crm_common.errors import NotFound
from customers import domain
from customers.exceptions import AlreadyDecided
from customers.usecases_common import Clock, People, caller_as_owner, columns, require_active
from customers.usecases_ownership import hand_over


def standing(customer: Any) -> domain.Claimant:
    """The owner's standing in a dispute about the customer."""
    return domain.owner_standing(
        customer.owner_id, customer.contacts, customer.owned_since or customer.entered_at
    )  # type: ignore[arg-type]


def claimants(claims: list) -> list[domain.Claimant]:
    return [
        domain.Claimant(c.claimant_id, c.contact_name, c.decision_level, c.claimed_at)
        for c in claims
        if c.status == "open"
    ]


def claim_customer(
    store: Any, caller: Caller, customer_id: int, request: dict, *, clock: Clock, people: People
) -> Any:
    """Claim another salesperson's customer; opens (or joins) its dispute; emits
    ``customer_claimed``. ClaimExists; CustomerInPool; Forbidden."""
    claimant_name = caller_as_owner(caller, people).display_name
    customer = store.require(customer_id)
    domain.check_may_claim(caller, customer.owner_id, customer.status)
    now = clock.now()
    dispute = store.open_or_join_dispute(customer.id, customer.owner_id, now)
    claim = store.add_claim(
        dispute_id=dispute.id,
        customer_id=customer.id,
        claimant_id=caller.user_id,
        claimant_name=claimant_name,
        claimant_team=caller.team,
        contact_name=request["contact_name"],
        decision_level=request["decision_level"],
        reason=request["reason"],
        claimed_at=now,
        status="open",
    )
    store.emit(
        "customer_claimed",
        {
            "claim_id": claim.id,
            "dispute_id": dispute.id,
            "customer_id": customer.id,
            "name": customer.name,
            "owner_id": customer.owner_id,
            "team": customer.team,
            "claimant_id": caller.user_id,
            "claimant_name": claimant_name,
            "decision_level": claim.decision_level,
        },
    )
    return claim


def dispute_view(store: Any, dispute: Any) -> dict:
    """A dispute with its claims, the owner's standing and the proposed winner (while open)."""
    customer = store.require(dispute.customer_id)
    claims = store.claims_of_dispute(dispute.id)
    view = {
        **columns(dispute),
        "customer_name": customer.name,
        "team": customer.team,
        "owner_name": customer.owner_name,
        "claims": claims,
        "owner_standing": None,
    }
    if dispute.status == "open" and customer.status == domain.ACTIVE:
        owner = standing(customer)
        proposal = domain.propose_dispute_winner([owner] + claimants(claims))
        view |= {
            "owner_standing": owner,
            "proposed_winner_id": proposal.winner.salesperson_id,
            "proposal_reason": proposal.reason,
        }
    return view


def list_disputes(store: Any, caller: Caller, status: str) -> list[dict]:
    domain.check_is_manager(caller, "disputes")
    return [dispute_view(store, d) for d in store.disputes(domain.listing_scope(caller), status)]


def _dispute(store: Any, dispute_id: int) -> tuple[Any, Any]:
    dispute = store.dispute(dispute_id)
    if dispute is None:
        raise NotFound(f"no dispute {dispute_id}")
    return dispute, store.require(dispute.customer_id)


def get_dispute(store: Any, caller: Caller, dispute_id: int) -> dict:
    dispute, customer = _dispute(store, dispute_id)
    domain.check_manages(caller, customer.team, "see disputes")
    return dispute_view(store, dispute)


def resolve_dispute(store: Any, caller: Caller, dispute_id: int, request: dict, *, clock: Clock) -> dict:
    """The team's manager (or an admin) settles who owns the customer (default: the proposal)."""
    dispute, customer = _dispute(store, dispute_id)
    domain.check_manages(caller, customer.team, "resolve disputes")
    if dispute.status != "open":
        raise AlreadyDecided("the dispute is already settled", {"status": dispute.status})
    require_active(customer)
    claims = [claim for claim in store.claims_of_dispute(dispute.id) if claim.status == "open"]
    everyone = [standing(customer)] + claimants(claims)
    proposal = domain.propose_dispute_winner(everyone)
    winner = domain.choose_winner(proposal, everyone, request["winner_id"])
    now = clock.now()
    if not store.close_dispute(
        dispute.id,
        status="resolved",
        winner_id=winner.salesperson_id,
        resolved_by=caller.user_id,
        resolved_at=now,
        note=request["note"],
        proposed_winner_id=proposal.winner.salesperson_id,
        proposal_reason=proposal.reason,
    ):
        raise AlreadyDecided("the dispute was settled meanwhile")
    store.settle_claims(dispute.id, winner.salesperson_id)
    if winner.salesperson_id != customer.owner_id:
        won = next(claim for claim in claims if claim.claimant_id == winner.salesperson_id)
        owner = domain.Owner(won.claimant_id, won.claimant_name, won.claimant_team)
        hand_over(
            store,
            customer,
            owner,
            "claim",
            request["note"] or proposal.reason,
            caller.user_id,
            clock=clock,
            dispute_id=dispute.id,
        )
    return dispute_view(store, dispute)
