"""Business rules of the customers service: plain Python, no nameko, no SQLAlchemy, no I/O.

Referral tree
-------------
Each customer has at most one referrer (``referred_by``). The tree below a customer and the
chain of referrers above it are read through lookup functions, cycle-safe (a visited set:
a customer already shown is not shown again and ``cycle_detected`` is set) and limited to
``max_depth`` levels each way; ``truncated`` marks a node whose children the limit cut off.

Amendments
----------
Only `AMENDABLE_FIELDS` may change; owner, team, status and who entered the customer change
through their own flows (transfer, pool, claims). A changed name or phone needs a new duplicate
check and a changed ``referred_by`` a `would_create_cycle` check: the service does both.
Revisions and amendments compare fields in the canonical form of `prepare_fields`.

The rules of other areas live in `domain_matching` (duplicates) and `domain_ownership` (who owns a
customer, who may do what); they are re-exported here.
"""

from __future__ import annotations

import copy
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from crm_common.errors import InvalidInput
from customers.constants import *  # noqa: F403 — the statuses and limits, re-exported
from customers.constants import (
    DEFAULT_REFERRAL_DEPTH,
    NAME_KEY,
    PHONE_KEY,
    CustomerId,  # noqa: F401 — re-exported: the domain's words
    InvalidBirthday,
    parse_birthday,
)
from customers.domain_matching import *  # noqa: F403
from customers.domain_ownership import *  # noqa: F403
from customers.normalize import (
    MAX_NAME_LENGTH,  # noqa: F401 — the entry limits, re-exported for schemas
    MAX_PHONE_LENGTH,  # noqa: F401
    InvalidCompanyName,
    InvalidPhone,
    exact_name_key,
    normalize_company_name,
    normalize_phone,
    regions_differ,
)

# --- referral tree ------------------------------------------------------------------------------


@dataclass
class ReferralNode:
    customer_id: CustomerId
    children: list[ReferralNode] = field(default_factory=list)
    truncated: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "children": [child.as_dict() for child in self.children],
            "truncated": self.truncated,
        }


@dataclass
class ReferralView:
    """The tree of customers referred below one customer, and its referrers above it."""

    tree: ReferralNode
    referrers: list[CustomerId]  # nearest first: referrer, referrer's referrer, …
    referrers_truncated: bool
    cycle_detected: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.tree.as_dict(),
            "referrers": list(self.referrers),
            "referrers_truncated": self.referrers_truncated,
            "cycle_detected": self.cycle_detected,
        }


def referral_tree(
    customer_id: CustomerId,
    children_of: Callable[[CustomerId], Iterable[CustomerId]],
    parent_of: Callable[[CustomerId], CustomerId | None],
    max_depth: int = DEFAULT_REFERRAL_DEPTH,
) -> ReferralView:
    """Build the referral tree below ``customer_id`` and the chain of referrers above it,
    at most ``max_depth`` levels each way.

    ``as_dict()`` gives ``{"customer_id", "children": [...], "truncated", "referrers",
    "referrers_truncated", "cycle_detected"}``. Raises `ValueError` if ``max_depth < 1``.
    """
    if max_depth < 1:
        raise ValueError("max_depth must be at least 1")
    visited = {customer_id}
    cycle_detected = False

    def expand(node: ReferralNode, depth: int) -> None:
        nonlocal cycle_detected
        child_ids = list(children_of(node.customer_id))
        if depth == max_depth:
            node.truncated = bool(child_ids)
            return
        for child_id in child_ids:
            if child_id in visited:
                cycle_detected = True
                continue
            visited.add(child_id)
            child = ReferralNode(child_id)
            node.children.append(child)
            expand(child, depth + 1)

    root = ReferralNode(customer_id)
    expand(root, 0)

    referrers: list[CustomerId] = []
    seen_above = {customer_id}
    current = parent_of(customer_id)
    while current is not None and len(referrers) < max_depth:
        if current in seen_above:
            cycle_detected = True
            current = None
            break
        seen_above.add(current)
        referrers.append(current)
        current = parent_of(current)
    return ReferralView(root, referrers, current is not None, cycle_detected)


def would_create_cycle(
    customer_id: CustomerId,
    new_referrer_id: CustomerId,
    parent_of: Callable[[CustomerId], CustomerId | None],
) -> bool:
    """Whether making ``new_referrer_id`` the referrer of ``customer_id`` closes a loop
    (the customer itself, or a customer it referred directly or indirectly)."""
    seen: set[CustomerId] = set()
    current: CustomerId | None = new_referrer_id
    while current is not None and current not in seen:
        if current == customer_id:
            return True
        seen.add(current)
        current = parent_of(current)
    return False


# --- amendments ---------------------------------------------------------------------------------

AMENDABLE_FIELDS: frozenset[str] = frozenset(
    {
        "name",
        "phones",
        "address",
        "industry",
        "birthday",
        "next_visit_at",
        "next_visit_contact",
        "referred_by",
        "contacts",
    }
)


class AmendmentError(ValueError):
    """An amendment request that cannot be applied."""


class UnknownAmendmentField(AmendmentError):
    def __init__(self, fields: Iterable[str]) -> None:
        self.fields = sorted(fields)
        super().__init__(f"这些字段不能通过修改申请变更：{', '.join(self.fields)}")


class NothingToAmend(AmendmentError):
    def __init__(self) -> None:
        super().__init__("修改申请没有改变任何内容")


def changed_fields(current: Mapping[str, Any], changes: Mapping[str, Any]) -> list[str]:
    """The fields of ``changes`` whose value differs from ``current``, sorted.

    Raises `UnknownAmendmentField` for a field outside `AMENDABLE_FIELDS`.
    """
    unknown = set(changes) - AMENDABLE_FIELDS
    if unknown:
        raise UnknownAmendmentField(unknown)
    return sorted(name for name, value in changes.items() if current.get(name) != value)


def apply_amendment(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Return the next revision: a copy of ``current`` with ``changes`` applied.

    Raises `UnknownAmendmentField` for a field outside `AMENDABLE_FIELDS` and `NothingToAmend`
    when no value would change. ``current`` is not modified.
    """
    if not changed_fields(current, changes):
        raise NothingToAmend()
    revision = copy.deepcopy(dict(current))
    revision.update(copy.deepcopy(dict(changes)))
    return revision


# --- birthdays ----------------------------------------------------------------------------------


# --- entry: the canonical form of a customer's fields -------------------------------------------


def prepare_fields(raw: Mapping[str, Any], phone_region: str, local_timezone: tzinfo) -> dict[str, Any]:
    """The canonical form of the customer fields present in ``raw`` (already schema-checked).

    Canonical means what revisions store and amendments compare: stripped text (empty → None),
    ``phones`` a list of distinct E.164 numbers (``phone`` and ``phones`` merged), ``birthday``
    "MM-DD" or "YYYY-MM-DD", ``next_visit_at`` ISO 8601 UTC (a time without zone is local),
    ``contacts`` a list of ``{name, title, phone, decision_level}``. Raises InvalidInput with
    every field error.
    """
    errors: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    if "name" in raw:
        fields["name"] = _clean(raw["name"])
        try:
            normalize_company_name(fields["name"] or "")
        except InvalidCompanyName as error:
            errors["name"] = [str(error)]
    if "phone" in raw or "phones" in raw:
        raw_phones = ([raw["phone"]] if raw.get("phone") else []) + list(raw.get("phones") or [])
        fields["phones"] = _phones(raw_phones, phone_region, "phone" if "phone" in raw else "phones", errors)
    for name in ("address", "industry", "next_visit_contact"):
        if name in raw:
            fields[name] = _clean(raw[name])
    if "birthday" in raw:
        fields["birthday"] = None
        if _clean(raw["birthday"]):
            try:
                fields["birthday"] = str(parse_birthday(raw["birthday"]))
            except InvalidBirthday as error:
                errors["birthday"] = [str(error)]
    if "next_visit_at" in raw:
        moment = raw["next_visit_at"]
        fields["next_visit_at"] = to_utc(moment, local_timezone).isoformat() if moment else None
    if "referred_by" in raw:
        fields["referred_by"] = raw["referred_by"]
    if "contacts" in raw:
        fields["contacts"] = _contacts(raw["contacts"] or [], phone_region, errors)
    if errors:
        raise InvalidInput("some fields are invalid", errors)
    return fields


def to_utc(moment: datetime, local_timezone: tzinfo) -> datetime:
    """An aware UTC datetime; a naive one is read as local time (what a salesperson typed)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=local_timezone)
    return moment.astimezone(UTC)


def followup_on_time(
    occurred_at: datetime, revisit_at: datetime | None, local_timezone: tzinfo
) -> bool | None:
    """A follow-up keeps the revisit date when it happened on or before that (local) day; None
    when no revisit was planned."""
    if revisit_at is None:
        return None
    return occurred_at.astimezone(local_timezone).date() <= revisit_at.astimezone(local_timezone).date()


def _clean(value: Any) -> str | None:
    text = unicodedata.normalize("NFC", str(value)).strip() if value is not None else ""
    return text or None


def _phones(raw_phones: Iterable[str], region: str, field_name: str, errors: dict[str, Any]) -> list[str]:
    phones: list[str] = []
    for raw_phone in raw_phones:
        if not _clean(raw_phone):
            continue
        try:
            phone = normalize_phone(raw_phone, region)
        except InvalidPhone as error:
            errors.setdefault(field_name, []).append(str(error))
            continue
        if phone not in phones:
            phones.append(phone)
    return phones


def _contacts(raw_contacts: Iterable[Mapping[str, Any]], region: str, errors: dict[str, Any]) -> list[dict]:
    contacts: list[dict] = []
    for index, raw in enumerate(raw_contacts):
        phone = None
        if _clean(raw.get("phone")):
            try:
                phone = normalize_phone(raw["phone"], region)
            except InvalidPhone as error:
                errors.setdefault("contacts", {}).setdefault(str(index), {})["phone"] = [str(error)]
        contacts.append(
            {
                "name": _clean(raw.get("name")),
                "title": _clean(raw.get("title")),
                "phone": phone,
                "decision_level": raw.get("decision_level"),
            }
        )
    return contacts


def all_phones(phones: Iterable[str], contacts: Iterable[Mapping[str, Any]]) -> list[str]:
    """The customer's phones and its contacts' phones, each once, in order."""
    found: list[str] = []
    for phone in [*phones, *(contact.get("phone") for contact in contacts)]:
        if phone and phone not in found:
            found.append(phone)
    return found


def exact_keys(name_key: str, phones: Iterable[str], region: str | None = None) -> list[tuple[str, str]]:
    """The (kind, key) pairs a customer holds in the duplicate block: its name's
    `exact_name_key` (qualified by its region) and each phone."""
    return [(NAME_KEY, exact_name_key(name_key, region))] + [(PHONE_KEY, phone) for phone in phones]


def name_block_keys(name_key: str, region: str | None) -> list[tuple[str, str]]:
    """The held name keys that block an entry: the bare key (a name without region blocks
    every region), and with a region the key qualified by it. A name without region is also
    blocked by every holder of its key in any region: those are found through the
    ``k:`` postings and sorted with `blocks_same_name`."""
    keys = [(NAME_KEY, name_key)]
    if region is not None:
        keys.append((NAME_KEY, exact_name_key(name_key, region)))
    return keys


def blocks_same_name(region: str | None, other_region: str | None) -> bool:
    """Whether a stored customer with the same name key blocks the entry: unless both carry a
    region and they differ (then the pair is flagged, 同字号，不同地区)."""
    return not regions_differ(region, other_region)
