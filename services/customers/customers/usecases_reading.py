"""Reading customers: one in full, the listing, the history, the referral tree, the summary
other services ask for; follow-ups (append-only) and the refusals of edits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from crm_common.caller import Caller
from crm_common.errors import InvalidInput, NotFound
from crm_common.validation import load
from customers import domain
from customers.exceptions import ImmutableRecord
from customers.normalize import InvalidPhone, normalize_phone
from customers.schemas import CustomerEnteredSchema, FollowupRecordedSchema, ReferralQuerySchema
from customers.usecases_amendments import amendment_view
from customers.usecases_common import Clock, People, Settings, columns, readable, reference, require_active

RECENT_FOLLOWUPS = 20
FOLLOWUP_CLOCK_SKEW = timedelta(minutes=10)


def get_customer(store: Any, caller: Caller, customer_id: int) -> tuple[Any, list]:
    """The customer and its latest follow-ups."""
    customer = readable(store, caller, customer_id)
    return customer, store.followups(customer.id, limit=RECENT_FOLLOWUPS)


def customer_summary(store: Any, customer_id: int) -> dict:
    customer = store.require(customer_id)
    return {
        **reference(customer),
        "birthday": customer.birthday,
        "next_visit_at": customer.next_visit_at.isoformat() if customer.next_visit_at else None,
        "next_visit_contact": customer.next_visit_contact,
    }


def require_readable(store: Any, caller: Caller, customer_id: int) -> dict:
    return reference(readable(store, caller, customer_id))


def phone_in(text: str | None, settings: Settings) -> str | None:
    """The phone number a search text is, if it is one."""
    if not text or sum(char.isdigit() for char in text) < 7:
        return None
    try:
        return normalize_phone(text, settings.phone_region)
    except InvalidPhone:
        return None


def list_customers(store: Any, caller: Caller, query: dict, *, settings: Settings) -> dict:
    query["phone"] = phone_in(query["q"], settings)
    items, total = store.page(domain.listing_scope(caller), query)
    return {"items": items, "total": total, "page": query["page"], "per_page": query["per_page"]}


def get_history(store: Any, caller: Caller, customer_id: int, *, people: People) -> dict:
    customer = readable(store, caller, customer_id)
    revisions = store.revisions(customer.id)
    changes = store.ownership_changes(customer.id)
    amendments = store.amendments(customer.id)
    claims = store.claims_of_customer(customer.id)
    names = people.display_names(
        [r.changed_by for r in revisions]
        + [user for c in changes for user in (c.from_owner_id, c.to_owner_id, c.changed_by)]
        + [user for a in amendments for user in (a.requested_by, a.decided_by)]
    )
    by_id = {amendment.id: amendment for amendment in amendments}

    def revision_view(revision: Any) -> dict:
        amendment = by_id.get(revision.amendment_id)
        approved_by = amendment.decided_by if amendment else None
        return {
            **columns(revision),
            "changed_by_name": names.get(revision.changed_by),
            "approved_by": approved_by,
            "approved_by_name": names.get(approved_by),  # type: ignore[arg-type]
        }

    return {
        "customer_id": customer.id,
        "revisions": [revision_view(r) for r in revisions],
        "ownership_changes": [
            {
                **columns(change),
                "from_owner_name": names.get(change.from_owner_id),
                "to_owner_name": names.get(change.to_owner_id),
                "changed_by_name": names.get(change.changed_by),
            }
            for change in changes
        ],
        "amendments": [amendment_view(a, names) for a in amendments],
        "claims": claims,
    }


def _tree_ids(tree: dict) -> set[int]:
    return {tree["customer_id"]}.union(*(_tree_ids(child) for child in tree["children"]))


def get_referrals(store: Any, caller: Caller, customer_id: int, query: dict) -> dict:
    """Who this customer referred (a tree) and its chain of referrers, cycle-safe; names only
    of the customers the caller may read."""
    customer = readable(store, caller, customer_id)
    depth = load(ReferralQuerySchema(), query)["depth"]
    view = domain.referral_tree(customer.id, store.referred_by, store.referrer_of, depth).as_dict()
    shown = store.by_ids(_tree_ids(view) | set(view["referrers"]))

    def described(customer_id: int) -> dict:
        known = shown.get(customer_id)
        can_read = known is not None and domain.can_read_in_full(
            caller, known.owner_id, known.team, known.status
        )
        return {
            "customer_id": customer_id,
            "readable": can_read,
            "name": known.name if can_read else None,
            "owner": known.owner_name if can_read else None,
        }

    def node(tree: dict) -> dict:
        return {
            **described(tree["customer_id"]),
            "truncated": tree["truncated"],
            "children": [node(child) for child in tree["children"]],
        }

    return {
        **node(view),
        "referrers": [described(cid) for cid in view["referrers"]],
        "referrers_truncated": view["referrers_truncated"],
        "cycle_detected": view["cycle_detected"],
    }


def refuse_edit(store: Any, customer_id: int, action: str) -> None:
    """Customer records are append-only: always ImmutableRecord (CustomerNotFound first)."""
    customer = store.require(customer_id)
    raise ImmutableRecord(
        "customer records are never deleted; an admin may archive one"
        if action == "delete"
        else "customer records cannot be edited: request an amendment, the manager approves it",
        {"customer_id": customer.id, "amend": f"/customers/{customer.id}/amendments"},
    )


def refuse_followup_edit(store: Any, customer_id: int, followup_id: int, action: str) -> None:
    """Follow-ups are append-only: always ImmutableRecord (NotFound first)."""
    customer = store.require(customer_id)
    if store.followup(customer.id, followup_id) is None:
        raise NotFound(f"no follow-up {followup_id} of customer {customer_id}")
    raise ImmutableRecord(
        f"follow-ups cannot be {'deleted' if action == 'delete' else 'edited'}: record a new one",
        {"customer_id": customer.id, "followup_id": followup_id},
    )


def record_followup(
    store: Any, caller: Caller, customer_id: int, request: dict, *, clock: Clock, settings: Settings
) -> Any:
    """Record a contact (``occurred_at`` default now, never in the future)."""
    customer = readable(store, caller, customer_id)
    require_active(customer)
    now = clock.now()
    occurred_at = domain.to_utc(request["occurred_at"], settings.timezone) if request["occurred_at"] else now
    if occurred_at > now + FOLLOWUP_CLOCK_SKEW:
        raise InvalidInput("a follow-up records what happened", {"occurred_at": ["is in the future"]})
    followup = store.add_followup(
        customer_id=customer.id,
        kind=request["kind"],
        summary=request["summary"],
        contact=request["contact"],
        occurred_at=occurred_at,
        recorded_by=caller.user_id,
        recorded_at=now,
    )
    store.emit("followup_recorded", followup_facts(store, followup, settings))
    return followup


def followup_facts(store: Any, followup: Any, settings: Settings) -> dict[str, Any]:
    """A follow-up as ``followup_recorded`` and ``followups_since`` say it: kept against the
    revisit date of the customer's revision in force when it was recorded."""
    revisit_at = store.revisit_as_of(followup.customer_id, followup.recorded_at)
    return FollowupRecordedSchema().dump(  # type: ignore[no-any-return]
        {
            "id": followup.id,
            "customer_id": followup.customer_id,
            "recorded_by": followup.recorded_by,
            "kind": followup.kind,
            "occurred_at": followup.occurred_at,
            "recorded_at": followup.recorded_at,
            "revisit_at": revisit_at,
            "on_time": domain.followup_on_time(followup.occurred_at, revisit_at, settings.timezone),
        }
    )


def followups_since(store: Any, caller: Caller | None, page: dict[str, Any], settings: Settings) -> list:
    """For the appraisal's replay (another service, or an admin): every follow-up that happened
    from ``page["since"]`` on, oldest first, as ``followup_recorded`` said it."""
    if caller is not None:
        caller.require_role("admin")
    found = store.followups_since(page["since"], page["offset"], page["limit"])
    return [followup_facts(store, followup, settings) for followup in found]


def entered_since(store: Any, caller: Caller | None, page: dict[str, Any]) -> list:
    """For the appraisal's replay (another service, or an admin): every customer entered from
    ``page["since"]`` on, oldest first, credited to the owner ``customer_created`` named (the one it
    was entered for, though it may have changed hands since)."""
    if caller is not None:
        caller.require_role("admin")
    found = store.entered_since(page["since"], page["offset"], page["limit"])
    return [
        CustomerEnteredSchema().dump({**columns(customer), "owner_id": owner_id})
        for customer, owner_id in found
    ]


def list_followups(store: Any, caller: Caller, customer_id: int) -> list:
    customer = readable(store, caller, customer_id)
    return store.followups(customer.id)  # type: ignore[no-any-return]
