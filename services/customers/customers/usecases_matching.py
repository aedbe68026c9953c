"""Which stored customers an entry matches (exact keys: what blocks it; near: what it resembles),
and the fuzzy scan of one customer: the entry, imports, amendments and the duplicate scan all
ask these."""

from __future__ import annotations

from typing import Any

from customers import domain
from customers.exceptions import DuplicateCustomer
from customers.store import stored


def find_matches(
    store: Any,
    name_key: str | None,
    phones: list[str],
    similar: bool,
    exclude_id: int | None = None,
    reader: Any = None,
    region: str | None = None,
) -> list[dict]:
    """What an entry matches, best first: exact keys always (what blocks it), near duplicates
    when ``similar``. A customer with the same name key blocks unless both names carry an
    explicit region and the regions differ (domain.blocks_same_name): then it is a near match,
    同字号，不同地区. Seen by ``reader`` (the caller): see `match_view`. Indexed lookups only."""
    keys = (domain.name_block_keys(name_key, region) if name_key else []) + [
        (domain.PHONE_KEY, p) for p in phones
    ]
    near = similar and name_key is not None
    whole_names = [name_key] if name_key else []
    holders, postings = store.lookup(
        keys,
        [*whole_names, *(domain.abbreviation_keys(name_key) if near else ())],  # type: ignore[arg-type]
        domain.candidate_keys(name_key, phones) if near else (),  # type: ignore[arg-type]
    )
    exact: dict[int, list[str]] = {}
    same_name: list[int] = []
    abbreviated: list[int] = []
    for customer_id, kind, key in holders:
        if (kind, key) in keys:
            exact.setdefault(customer_id, []).append(kind)
        elif name_key and key == domain.same_name_key(name_key):
            same_name.append(customer_id)
        else:
            abbreviated.append(customer_id)
    candidate_ids = domain.choose_candidates(postings, exclude_id) + abbreviated if near else []
    # the same key in other regions: one of them blocks a name without region, and the ones that
    # block a name with a region hold its exact keys; so the first MAX_POSTINGS are enough
    same_name = same_name[: domain.MAX_POSTINGS]
    shown = store.summaries([*exact, *same_name, *candidate_ids])
    for customer_id in same_name:
        if customer_id in shown and domain.blocks_same_name(region, stored(shown[customer_id]).region):
            kinds = exact.setdefault(customer_id, [])
            if domain.NAME_KEY not in kinds:
                kinds.insert(0, domain.NAME_KEY)
        elif near:
            candidate_ids.append(customer_id)
    exact.pop(exclude_id, None)  # type: ignore[arg-type]
    candidates = [
        stored(shown[cid], name_key)
        for cid in dict.fromkeys(candidate_ids)
        if cid in shown and cid != exclude_id
    ]
    ranked = domain.rank_matches(name_key, phones, exact, candidates, region=region)
    return [match_view(match, shown[match.customer_id], reader) for match in ranked]


def suspected_duplicates(store: Any, customer: Any) -> list[tuple[Any, Any, domain.DuplicateSuspicion]]:
    """The fuzzy scan of one customer: (earlier, later, suspicion) for each near-duplicate."""
    me = stored(customer)
    holders, postings = store.lookup(
        [], domain.abbreviation_keys(me.name_key), domain.candidate_keys(me.name_key, me.phones)
    )
    candidate_ids = domain.choose_candidates(postings, me.customer_id)
    candidate_ids += [customer_id for customer_id, _kind, _key in holders if customer_id != me.customer_id]
    candidate_ids = list(dict.fromkeys(candidate_ids))[: domain.MAX_CANDIDATES]  # a common 字号: the first
    others = store.summaries(candidate_ids)
    pairs = []
    for suspect, suspicion in domain.find_suspects(
        me, [stored(others[cid], me.name_key) for cid in dict.fromkeys(candidate_ids) if cid in others]
    ):
        earlier, later = sorted((customer, others[suspect.customer_id]), key=lambda c: (c.entered_at, c.id))
        pairs.append((earlier, later, suspicion))
    return pairs


def duplicate_message(customer: Any) -> str:
    """The words a refused duplicate entry (or import row) gets."""
    if customer is None:
        return "this customer already exists"
    where = (
        "in the team pool: take it from there"
        if customer.status == domain.IN_POOL
        else f"owned by {customer.owner_name}"
    )
    return f"this customer already exists ({where})"


def raise_duplicate(matches: list[dict]) -> None:
    """DuplicateCustomer naming the first exact match and listing them all, if there are any."""
    if matches:
        first = matches[0]
        where = (
            "in the team pool: take it from there"
            if first["status"] == domain.IN_POOL
            else (f"owned by {first['owner']}")
        )
        raise DuplicateCustomer(
            f"this customer already exists ({where})",
            {key: first[key] for key in ("customer_id", "name", "owner", "owner_id", "status", "matched_on")}
            | {"matches": [{k: v for k, v in match.items() if k != "exact"} for match in matches]},
        )


def exact_matches(
    store: Any, name: Any, phones: list[str], reader: Any, exclude_id: int | None = None
) -> list[dict]:
    """The exact matches of an entry (`find_matches`), for the caller."""
    return find_matches(
        store, name.key, phones, similar=False, exclude_id=exclude_id, reader=reader, region=name.region
    )


def match_view(match: domain.Match, customer: Any, reader: Any) -> dict:
    """A match as ``reader`` sees it: who owns it, why and how sure, always; the stored name only
    when the reader may read the customer or typed the same company (an exact name key), so
    fragments typed into the check never list other people's customers."""
    name_shown = (
        reader is None
        or domain.NAME_KEY in match.matched_on
        or domain.can_read_in_full(reader, customer.owner_id, customer.team, customer.status)
    )
    return {
        "customer_id": customer.id,
        "name": customer.name if name_shown else None,
        "owner": customer.owner_name,
        "owner_id": customer.owner_id,
        "status": customer.status,
        "entered_at": customer.entered_at.isoformat() if customer.entered_at else None,
        "matched_on": list(match.matched_on),
        "score": match.score,
        "reason": match.reason,
        "exact": match.exact,
    }
