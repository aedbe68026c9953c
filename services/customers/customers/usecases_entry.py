"""Entering a customer: the duplicate check while typing, the entry (blocked by any exact key
another customer holds unless a manager overrides), and the referrer check."""

from __future__ import annotations

import logging
from typing import Any

from crm_common.caller import Caller
from crm_common.errors import InvalidInput
from customers import domain, domain_pool
from customers.exceptions import ConcurrentChange
from customers.normalize import analyse_company_name
from customers.store import row_values, snapshot_of
from customers.usecases_common import Clock, People, Settings, caller_as_owner, event_data
from customers.usecases_matching import exact_matches, find_matches, raise_duplicate

log = logging.getLogger(__name__)

ENTRY_ATTEMPTS = 3  # a lost race on a key is retried to name the winner; more means contention


def check_duplicates(store: Any, caller: Caller, typed: dict, *, settings: Settings) -> dict:
    """Whether a name and/or phone being typed is already a customer (exact, then near)."""
    fields = settings.prepare({field: value for field, value in typed.items() if value and value.strip()})
    name = analyse_company_name(fields["name"]) if fields.get("name") else None
    matches = find_matches(
        store,
        name.key if name else None,
        fields.get("phones", []),
        similar=True,
        reader=caller,
        region=name.region if name else None,
    )
    return {"duplicate": any(match["exact"] for match in matches), "matches": matches}


def create_customer(
    store: Any, caller: Caller, request: dict, *, clock: Clock, people: People, settings: Settings
) -> Any:
    """Enter a customer owned by the caller (a manager or admin may override a duplicate), unless
    the caller holds as many as their team allows (CustomerLimitReached, 409).

    The exact keys are not read first: inserting them is the check. A key another customer holds
    (IntegrityError: a phone, or a name entered at this very moment) rolls the entry back, and
    only then is its holder read, to name the owner in the DuplicateCustomer; a holder gone
    meanwhile means the entry is tried again."""
    override = request.pop("override", None)
    if override is not None:
        domain.check_may_override(caller)
    fields = settings.prepare(request)
    owner = caller_as_owner(caller, people)

    def enter_once() -> Any:
        return enter(store, caller, fields, owner, override=override and override["reason"], clock=clock)

    def name_the_holder() -> None:
        name = analyse_company_name(fields["name"])
        phones = domain.all_phones(fields["phones"], fields["contacts"])
        raise_duplicate(exact_matches(store, name, phones, reader=caller))

    return store.retry_on_race(
        enter_once,
        ENTRY_ATTEMPTS,
        lambda: ConcurrentChange("this customer is being entered by someone else right now: try again"),
        on_race=name_the_holder,
    )


def check_referrer(store: Any, caller: Caller | None, referrer_id: int | None) -> None:
    """A referrer must be a customer the caller may read; one they may not is refused
    exactly like an unknown id, so ``referred_by`` tells nobody that a customer exists."""
    if referrer_id is None:
        return
    referrer = store.get(referrer_id)
    if referrer is None or (
        caller is not None
        and not domain.can_read_in_full(caller, referrer.owner_id, referrer.team, referrer.status)
    ):
        raise InvalidInput("no such customer", {"referred_by": ["no such customer"]})


def enter(
    store: Any, caller: Caller, fields: dict, owner: domain.Owner, override: str | None, *, clock: Clock
) -> Any:
    """One pass of the entry: check, write the customer with its keys and history, emit. The
    exact keys a customer already holds make `claim_keys` raise IntegrityError (see
    `create_customer`); what it reads first is only what no unique key answers."""
    entered_by = caller.user_id
    name = analyse_company_name(fields["name"])
    phones = domain.all_phones(fields["phones"], fields["contacts"])
    check_referrer(store, caller, fields["referred_by"])
    store.lock_name(name.key)  # the region rule is not a unique key: see lock_name
    facts = store.entry_facts(owner.user_id, owner.team, name.key)
    limit = domain_pool.DEFAULT_MAX_CUSTOMERS if facts.max_customers is None else facts.max_customers
    domain_pool.check_capacity(domain_pool.PoolRules(max_customers=limit), facts.held)
    # the same name key in another region blocks unless both regions are explicit and differ
    # (the region rule), and a manager's override needs every match: both read the matches
    overridden = exact_matches(store, name, phones, reader=caller) if override or facts.same_name else []
    if not override:
        raise_duplicate(overridden)
    now = clock.now()
    values = row_values({field: fields[field] for field in domain.AMENDABLE_FIELDS})
    customer = store.add_customer(
        {
            **values,
            "owner_id": owner.user_id,
            "owner_name": owner.display_name,
            "team": owner.team,
            "owned_since": now,
            "status": domain.ACTIVE,
            "revision": 1,
            "entered_by": entered_by,
            "entered_at": now,
        }
    )
    keys = domain.exact_keys(name.key, phones, name.region)
    if overridden:  # the keys stay with the customers that hold them: only the free ones
        keys = store.free_keys(keys)
    store.claim_keys(customer.id, keys)
    store.index_for_scan(customer.id, domain.candidate_keys(name.key, phones))
    store.add_revision(
        customer_id=customer.id,
        revision=1,
        snapshot=snapshot_of(customer),
        changed_fields=[],
        reason="entered",
        changed_by=entered_by,
        changed_at=now,
    )
    store.add_ownership_change(
        customer_id=customer.id,
        to_owner_id=owner.user_id,
        to_status=domain.ACTIVE,
        reason="duplicate_overridden" if overridden else "entered",
        note=override if overridden else None,
        changed_by=entered_by,
        changed_at=now,
    )
    store.emit("customer_created", event_data(customer))
    if overridden:
        store.emit(
            "customer_duplicate_overridden",
            {
                **event_data(customer),
                "reason": override,
                "overridden_by": entered_by,
                "matches": [
                    {key: match[key] for key in ("customer_id", "owner_id", "matched_on", "reason")}
                    for match in overridden
                ],
            },
        )
    return customer
