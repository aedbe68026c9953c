"""Corrections of a customer: requested by anyone who reads it, approved or rejected by the
team's manager; an approved one becomes a new revision (new keys when the name or a phone changed)."""

from __future__ import annotations

from typing import Any

from crm_common.caller import Caller
from crm_common.errors import NotFound
from customers import domain
from customers.constants import KEY_FIELDS
from customers.exceptions import (
    AlreadyDecided,
    ConcurrentChange,
    CustomerArchived,
    NothingToAmend,
    ReferralCycle,
)
from customers.normalize import analyse_company_name
from customers.store import row_values, snapshot_of
from customers.usecases_common import Clock, People, Settings, columns, event_data, readable, require_active
from customers.usecases_entry import check_referrer
from customers.usecases_matching import exact_matches, raise_duplicate


def amendment_view(amendment: Any, names: dict[int, str]) -> dict:
    return {
        **columns(amendment),
        "changed_fields": sorted(amendment.changes),
        "requested_by_name": names.get(amendment.requested_by),
        "decided_by_name": names.get(amendment.decided_by),
    }


def check_correction(store: Any, caller: Caller, customer: Any, proposed: dict, changed: list[str]) -> None:
    """Refuse a correction that would duplicate another customer or close a referral loop."""
    if "referred_by" in changed and proposed["referred_by"] is not None:
        check_referrer(store, caller, proposed["referred_by"])
        if domain.would_create_cycle(customer.id, proposed["referred_by"], store.referrer_of):
            raise ReferralCycle(
                "this customer (directly or through others) referred that one: the referral would loop",
                {"referred_by": proposed["referred_by"]},
            )
    if KEY_FIELDS & set(changed):
        phones = domain.all_phones(proposed["phones"], proposed["contacts"])
        name = analyse_company_name(proposed["name"])
        store.lock_name(name.key)
        raise_duplicate(exact_matches(store, name, phones, reader=caller, exclude_id=customer.id))


def rekey(store: Any, caller: Caller, customer: Any) -> None:
    """Replace the customer's keys after its name or phones changed."""
    customer_id, name = customer.id, analyse_company_name(customer.name)
    phones = domain.all_phones(customer.phones, customer.contacts)
    store.release_keys(customer_id)
    if not store.try_claim_keys(customer_id, domain.exact_keys(name.key, phones, name.region)):
        # entered by someone else at this very moment
        raise_duplicate(exact_matches(store, name, phones, reader=caller, exclude_id=customer_id))
        raise ConcurrentChange("the customer changed meanwhile: approve again")
    store.index_for_scan(customer_id, domain.candidate_keys(name.key, phones))


def request_amendment(
    store: Any, caller: Caller, customer_id: int, request: dict, *, clock: Clock, settings: Settings
) -> dict:
    """Ask the team's manager to correct a customer; emits ``amendment_requested``."""
    customer = readable(store, caller, customer_id)
    require_active(customer)
    changes = settings.prepare(request["changes"])
    current = snapshot_of(customer)
    changed = domain.changed_fields(current, changes)
    if not changed:
        raise NothingToAmend("the amendment changes nothing")
    check_correction(store, caller, customer, domain.apply_amendment(current, changes), changed)
    amendment = store.add_amendment(
        customer_id=customer.id,
        changes={field: changes[field] for field in changed},
        reason=request["reason"],
        status="pending",
        base_revision=customer.revision,
        requested_by=caller.user_id,
        requested_at=clock.now(),
    )
    store.emit(
        "amendment_requested",
        {
            "amendment_id": amendment.id,
            "customer_id": customer.id,
            "name": customer.name,
            "owner_id": customer.owner_id,
            "team": customer.team,
            "requested_by": caller.user_id,
            "changed_fields": changed,
            "reason": amendment.reason,
        },
    )
    return amendment_view(amendment, {})


def _pending(store: Any, caller: Caller, customer_id: int, amendment_id: int, action: str) -> tuple[Any, Any]:
    customer = store.require(customer_id)
    domain.check_manages(caller, customer.team, action)
    amendment = store.amendment(customer.id, amendment_id)
    if amendment is None:
        raise NotFound(f"no amendment {amendment_id} of customer {customer_id}")
    if amendment.status != "pending":
        raise AlreadyDecided(f"the amendment is already {amendment.status}", {"status": amendment.status})
    if customer.status == domain.ARCHIVED:
        raise CustomerArchived("the customer is archived")
    return customer, amendment


def approve_amendment(
    store: Any,
    caller: Caller,
    customer_id: int,
    amendment_id: int,
    note: str | None,
    *,
    clock: Clock,
    people: People,
) -> dict:
    """The changes become a new revision; emits ``customer_amended``."""
    customer, amendment = _pending(store, caller, customer_id, amendment_id, "approve amendments")
    names = people.display_names([amendment.requested_by, caller.user_id])  # asked before writing
    current = snapshot_of(customer)
    try:
        proposed = domain.apply_amendment(current, amendment.changes)
    except domain.NothingToAmend as exc:
        raise NothingToAmend("the customer already reads like this", {"amendment_id": amendment.id}) from exc
    changed = domain.changed_fields(current, amendment.changes)
    check_correction(store, caller, customer, proposed, changed)
    now, revision = clock.now(), customer.revision + 1
    decided = {"decided_by": caller.user_id, "decided_at": now, "decision_note": note}
    if not store.decide_amendment(amendment.id, status="approved", revision=revision, **decided):
        raise AlreadyDecided("the amendment was decided meanwhile")
    if not store.update_customer(
        customer.id, {"revision": customer.revision}, {**row_values(proposed), "revision": revision}
    ):
        raise ConcurrentChange("the customer changed meanwhile: approve again")
    if KEY_FIELDS & set(changed):
        rekey(store, caller, customer)
    store.add_revision(
        customer_id=customer.id,
        revision=revision,
        snapshot=proposed,
        changed_fields=changed,
        reason=amendment.reason,
        changed_by=amendment.requested_by,
        changed_at=now,
        amendment_id=amendment.id,
    )
    store.emit("customer_amended", {**event_data(customer), "revision": revision, "changed_fields": changed})
    return amendment_view(amendment, names)


def reject_amendment(
    store: Any,
    caller: Caller,
    customer_id: int,
    amendment_id: int,
    note: str | None,
    *,
    clock: Clock,
    people: People,
) -> dict:
    """The request is refused and stays in the history."""
    _customer, amendment = _pending(store, caller, customer_id, amendment_id, "reject amendments")
    names = people.display_names([amendment.requested_by, caller.user_id])  # asked before writing
    if not store.decide_amendment(
        amendment.id, status="rejected", decided_by=caller.user_id, decided_at=clock.now(), decision_note=note
    ):
        raise AlreadyDecided("the amendment was decided meanwhile")
    return amendment_view(amendment, names)


def list_amendments(store: Any, caller: Caller, customer_id: int, *, people: People) -> list[dict]:
    customer = readable(store, caller, customer_id)
    amendments = store.amendments(customer.id)
    names = people.display_names([u for a in amendments for u in (a.requested_by, a.decided_by)])
    return [amendment_view(amendment, names) for amendment in amendments]


def list_pending_amendments(store: Any, caller: Caller, *, people: People) -> list[dict]:
    amendments = store.pending_amendments(domain.listing_scope(caller))
    names = people.display_names([amendment.requested_by for amendment in amendments])
    customers = store.by_ids(amendment.customer_id for amendment in amendments)
    return [{**amendment_view(a, names), "customer_name": customers[a.customer_id].name} for a in amendments]
