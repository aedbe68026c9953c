"""Business rules of the customers service: plain Python, no nameko, no SQLAlchemy, no I/O.

Decision levels
---------------
A contact's ``decision_level`` runs from 1 to 5, **5 being the most senior**:
5 老板 / 法人 / 总经理 (has the final say), 4 副总 / 分管领导, 3 部门经理 / 采购经理,
2 主管 / 采购员, 1 普通员工 / 前台 (no say in the purchase).

Ownership disputes
------------------
The rule of the source: the salesperson dealing with the more senior decision maker wins;
on a tie, whoever entered first (the owner's ``entered_at`` is when the customer was
entered, a challenger's is when the claim was made, so the owner wins ties). Equal levels
and equal times keep the order given, owner first. The system only proposes: a manager
resolves.

Referral tree
-------------
Each customer has at most one referrer (``referred_by``). The tree below a customer and the
chain of referrers above it are read through lookup functions, cycle-safe (a visited set:
a customer already shown is not shown again and ``cycle_detected`` is set) and limited to
``max_depth`` levels each way; ``truncated`` marks a node whose children the limit cut off.

Fuzzy duplicates
----------------
Candidates come from a keys table (customer_id, key), indexed on key, that holds
`candidate_keys` of every customer: up to `MAX_NAME_KEYS` character n-grams of the head
office name key (bigrams for Chinese, trigrams for Latin script), taken from the start of
the name where the trade name is and skipping grams of common industry words (科技, 贸易,
"ing"), plus ``p:`` + each E.164 phone. A scan reads each key's postings at most
`MAX_POSTINGS` + 1 deep and ignores a key with more (a common word tells nothing), so its cost
follows the number of keys, not the number of customers. `choose_candidates` keeps those sharing
a phone or `shared_keys_needed` name keys (two; all when the name has fewer informative ones —
one shared bigram among a million names is chance), at most `MAX_CANDIDATES`. An abbreviation
shares a single bigram with the full name (华为 / 华为技术有限公司), so it is found another way:
`abbreviation_keys` are looked up as exact name keys. Candidates are scored by
`assess_duplicate`:

- same phone → 100, "同一电话 +86…";
- a branch of the same head office, or two branches of it → 100 on the head office names,
  "同一公司的分支机构（…）" (a branch is a separate customer, but the manager must see it);
- a name that is the leading part of the other (华为 / 华为技术, a 简称) → 90, "名称包含（…）";
- otherwise ``fuzz.ratio`` of the keys, "名称相似 92%". token_set_ratio is not used: keys
  have no whitespace, and Chinese names have no word boundaries to sort.

Suspected at a score of `SUSPECT_THRESHOLD` (85) or more.

Amendments
----------
Only `AMENDABLE_FIELDS` may change; owner, team, status and who entered the customer change
through their own flows (transfer, pool, claims). A changed name or phone needs a new duplicate
check and a changed ``referred_by`` a `would_create_cycle` check: the service does both.
Revisions and amendments compare fields in the canonical form of `prepare_fields`.

Who may do what
---------------
A salesperson reads in full the customers they own; a manager the team's (the pool and archived
ones included); an admin all (`can_read_in_full`). Others learn only that a customer exists and
whose it is (the duplicate check). Managers approve amendments, resolve disputes and decide
suspected duplicates of their team; any salesperson of a team takes from its pool.

Giving up a customer
--------------------
Only the owner gives up a customer, and only with a difficulty alarm about that customer that a
manager has answered (`check_abandon_alarm`); it then goes to its team's pool.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from rapidfuzz import fuzz

from crm_common.caller import Caller
from crm_common.errors import Conflict, Forbidden, InvalidInput
from customers.exceptions import (
    AlarmRequired,
    CustomerArchived,
    CustomerInPool,
    NotInPool,
    NotYourCustomer,
    UnknownUser,
)
from customers.normalize import (
    INDUSTRY_WORDS,
    InvalidCompanyName,
    InvalidPhone,
    normalize_company_name,
    normalize_phone,
    split_branch_key,
)

CustomerId = int | str

DECISION_LEVEL_MIN = 1
DECISION_LEVEL_MAX = 5
DEFAULT_REFERRAL_DEPTH = 5
SUSPECT_THRESHOLD = 85.0
MAX_NAME_KEYS = 8
ABBREVIATION_SCORE = 90.0
NAME_KEY_PREFIX = "n:"
PHONE_KEY_PREFIX = "p:"


# --- decision levels and disputes -----------------------------------------------------------


class InvalidDecisionLevel(ValueError):
    """A decision level outside 1–5, or not a whole number."""


def validate_decision_level(level: object) -> int:
    """Return ``level`` as an int in 1–5; raises `InvalidDecisionLevel` otherwise."""
    if isinstance(level, bool) or not isinstance(level, int):
        raise InvalidDecisionLevel(f"决策级别必须是 1–5 的整数：{level!r}")
    if not DECISION_LEVEL_MIN <= level <= DECISION_LEVEL_MAX:
        raise InvalidDecisionLevel(f"决策级别必须是 1–5 的整数：{level!r}")
    return level


@dataclass(frozen=True)
class Claimant:
    """A salesperson's standing in a dispute: the contact they deal with and when they entered."""

    salesperson_id: CustomerId
    contact_name: str
    decision_level: int
    entered_at: datetime

    def __post_init__(self) -> None:
        validate_decision_level(self.decision_level)


@dataclass(frozen=True)
class DisputeProposal:
    winner: Claimant
    reason: str


def propose_dispute_winner(claims: Sequence[Claimant]) -> DisputeProposal:
    """Propose who should own the customer: the more senior contact wins, a tie goes to the
    first entered.

    ``claims`` holds the owner and every challenger. Raises `ValueError` when it is empty.
    """
    if not claims:
        raise ValueError("a dispute needs at least one claimant")
    ranked = sorted(
        enumerate(claims),
        key=lambda indexed: (-indexed[1].decision_level, indexed[1].entered_at, indexed[0]),
    )
    winner = ranked[0][1]
    if len(ranked) == 1:
        return DisputeProposal(winner, "只有一位申请人")
    runner_up = ranked[1][1]
    if winner.decision_level > runner_up.decision_level:
        reason = (
            f"联系人 {winner.contact_name} 的决策级别 {winner.decision_level} 最高"
            f"（其次为 {runner_up.decision_level}）"
        )
    else:
        reason = (
            f"联系人决策级别相同（{winner.decision_level}），"
            f"先录入者优先（{winner.entered_at:%Y-%m-%d %H:%M}）"
        )
    return DisputeProposal(winner, reason)


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


# --- fuzzy duplicates -------------------------------------------------------------------------


def _is_cjk(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"


def _common_grams() -> frozenset[str]:
    grams: set[str] = set()
    for word in INDUSTRY_WORDS:
        size = 2 if _is_cjk(word[0]) else 3
        grams.update(word[i : i + size] for i in range(len(word) - size + 1))
    grams.update({"中国", "国际", "有限", "公司", "集团"})
    return frozenset(grams)


COMMON_GRAMS = _common_grams()


def candidate_keys(normalized_name: str, phones: Iterable[str] = ()) -> set[str]:
    """Keys under which a customer is indexed for the fuzzy scan, and looked up by it.

    ``normalized_name`` is a `normalize_company_name` key, ``phones`` are E.164 numbers.
    At most `MAX_NAME_KEYS` name keys plus one key per phone.
    """
    head, _branch = split_branch_key(normalized_name)
    size = 2 if any(_is_cjk(char) for char in head) else 3
    grams: list[str] = []
    for start in range(len(head) - size + 1):
        gram = head[start : start + size]
        if gram not in COMMON_GRAMS and gram not in grams:
            grams.append(gram)
    # a name shorter than one gram, or made only of common grams, is its own key
    name_keys = grams[:MAX_NAME_KEYS] or [head]
    return {NAME_KEY_PREFIX + gram for gram in name_keys} | {PHONE_KEY_PREFIX + phone for phone in phones}


def shared_keys_needed(informative_name_keys: int) -> int:
    """How many name keys a candidate must share: two, or all of them when the name has fewer.

    One shared bigram is chance among many customers; two are rarely chance, and a typo,
    a region or a branch leaves at least two of a name's bigrams in place.
    """
    return max(1, min(2, informative_name_keys))


MAX_POSTINGS = 200
MAX_CANDIDATES = 50


def choose_candidates(
    postings: Mapping[str, Sequence[int]],
    exclude_id: int | None = None,
    max_postings: int = MAX_POSTINGS,
    limit: int = MAX_CANDIDATES,
) -> list[int]:
    """Which customers to compare, from the postings of a name's `candidate_keys` (each read at
    most ``max_postings + 1`` deep): those sharing a phone, then those sharing enough name keys
    (`shared_keys_needed`), most shared first, at most ``limit``.

    A key with more than ``max_postings`` customers says nothing about the name (a common word)
    and is left out; so the work is bounded by the number of keys, not of customers.
    """
    informative = {key: ids for key, ids in postings.items() if len(ids) <= max_postings}
    chosen: list[int] = []
    shared: dict[int, int] = {}
    for key, customer_ids in informative.items():
        if key.startswith(PHONE_KEY_PREFIX):
            chosen.extend(customer_ids)
        else:
            for customer_id in customer_ids:
                shared[customer_id] = shared.get(customer_id, 0) + 1
    needed = shared_keys_needed(sum(1 for key in informative if key.startswith(NAME_KEY_PREFIX)))
    chosen += sorted(
        (cid for cid, count in shared.items() if count >= needed), key=lambda cid: (-shared[cid], cid)
    )
    return list(dict.fromkeys(cid for cid in chosen if cid != exclude_id))[:limit]


def abbreviation_keys(normalized_name: str) -> list[str]:
    """Leading parts of the head office key that, as another customer's whole name key, would
    be its abbreviation (简称): 华为 for 华为技术. Looked up as exact keys, so an abbreviation
    is found even when it shares a single bigram with the name."""
    head, _branch = split_branch_key(normalized_name)
    minimum = 2 if head and _is_cjk(head[0]) else 5
    return [head[:end] for end in range(minimum, len(head) + 1)]


@dataclass(frozen=True)
class DuplicateSuspicion:
    score: float  # 0–100
    reason: str


def _name_evidence(a: str, b: str) -> tuple[float, str]:
    """The strongest reason two name keys look alike, with its score."""
    if a == b:
        return 100.0, "名称相同"
    head_a, branch_a = split_branch_key(a)
    head_b, branch_b = split_branch_key(b)
    evidence: list[tuple[float, str]] = []  # most specific first: max() keeps the first of ties
    if branch_a is not None or branch_b is not None:
        if head_a == head_b:
            evidence.append((100.0, f"同一公司的分支机构（{head_a}）"))
        head_ratio = round(fuzz.ratio(head_a, head_b), 1)
        evidence.append((head_ratio, f"总公司名称相似 {head_ratio:.0f}%"))
    short, long_ = sorted((head_a, head_b), key=len)
    minimum = 2 if short and _is_cjk(short[0]) else 5
    if len(short) >= minimum and short != long_ and long_.startswith(short):
        evidence.append((ABBREVIATION_SCORE, f"名称包含（{short}）"))
    ratio = round(fuzz.ratio(a, b), 1)
    evidence.append((ratio, f"名称相似 {ratio:.0f}%"))
    return max(evidence, key=lambda item: item[0])


def similarity(a: str, b: str) -> float:
    """Score 0–100 of how likely two name keys (from `normalize_company_name`) are one company."""
    return _name_evidence(a, b)[0]


def is_suspected_duplicate(score: float, threshold: float = SUSPECT_THRESHOLD) -> bool:
    """Whether a `similarity` score is high enough for a manager to look at the pair."""
    return score >= threshold


def assess_duplicate(
    name_a: str,
    name_b: str,
    phones_a: Iterable[str] = (),
    phones_b: Iterable[str] = (),
    threshold: float = SUSPECT_THRESHOLD,
) -> DuplicateSuspicion | None:
    """Score a candidate pair (name keys, E.164 phones); None when it is not suspected."""
    scores: list[float] = []
    reasons: list[str] = []
    shared_phones = sorted(set(phones_a) & set(phones_b))
    if shared_phones:
        scores.append(100.0)
        reasons.append("同一电话 " + "、".join(shared_phones))
    name_score, name_reason = _name_evidence(name_a, name_b)
    if is_suspected_duplicate(name_score, threshold):
        scores.append(name_score)
        reasons.append(name_reason)
    if not scores:
        return None
    return DuplicateSuspicion(max(scores), "；".join(reasons))


@dataclass(frozen=True)
class StoredCustomer:
    """What the duplicate rules see of a stored customer: its name key and every phone."""

    customer_id: int
    name_key: str
    phones: tuple[str, ...] = ()


@dataclass(frozen=True)
class Match:
    """A stored customer that an entry matches: exactly (name, phone) or by similarity."""

    customer_id: int
    matched_on: tuple[str, ...]
    score: float
    reason: str

    @property
    def exact(self) -> bool:
        return SIMILAR_NAME not in self.matched_on


SIMILAR_NAME = "similar_name"
MAX_MATCHES = 10
_EXACT_REASONS = {"name": "名称相同", "phone": "电话相同"}


def rank_matches(
    name_key: str | None,
    phones: Iterable[str],
    exact: Mapping[int, Sequence[str]],
    candidates: Iterable[StoredCustomer],
    limit: int = MAX_MATCHES,
) -> list[Match]:
    """What an entry (name key and/or phones) matches: exact matches first (what blocks the
    entry), then near duplicates by score. ``exact`` maps customer ids to the kinds of key
    they share (``name``, ``phone``)."""
    matches = [
        Match(cid, tuple(kinds), 100.0, "；".join(_EXACT_REASONS[kind] for kind in kinds))
        for cid, kinds in exact.items()
    ]
    if name_key is not None:
        phones = tuple(phones)
        for candidate in candidates:
            if candidate.customer_id in exact:
                continue
            suspicion = assess_duplicate(name_key, candidate.name_key, phones, candidate.phones)
            if suspicion is not None:
                matches.append(
                    Match(candidate.customer_id, (SIMILAR_NAME,), suspicion.score, suspicion.reason)
                )
    matches.sort(key=lambda match: (not match.exact, -match.score, match.customer_id))
    return matches[:limit]


def find_suspects(
    customer: StoredCustomer, candidates: Iterable[StoredCustomer]
) -> list[tuple[StoredCustomer, DuplicateSuspicion]]:
    """The candidates a manager should compare with ``customer``, each with score and reason."""
    suspects = []
    for candidate in candidates:
        if candidate.customer_id == customer.customer_id:
            continue
        suspicion = assess_duplicate(customer.name_key, candidate.name_key, customer.phones, candidate.phones)
        if suspicion is not None:
            suspects.append((candidate, suspicion))
    return suspects


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


class InvalidBirthday(ValueError):
    """Not a month-day (optionally with a year) that exists in the calendar."""


_BIRTHDAY = re.compile(r"(?:(\d{4})\s*[-/.年]\s*)?(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_LEAP_YEAR = 2000  # without a year, 02-29 must be accepted


@dataclass(frozen=True)
class Birthday:
    """A company's founding day or its owner's birthday: month and day, year optional."""

    month: int
    day: int
    year: int | None = None

    def __post_init__(self) -> None:
        try:
            date(self.year if self.year is not None else _LEAP_YEAR, self.month, self.day)
        except ValueError as error:
            raise InvalidBirthday(f"日期不存在：{self}") from error

    def __str__(self) -> str:
        month_day = f"{self.month:02d}-{self.day:02d}"
        return month_day if self.year is None else f"{self.year:04d}-{month_day}"


def parse_birthday(text: str) -> Birthday:
    """Parse ``MM-DD`` or ``YYYY-MM-DD`` (also with / or . and 1990年5月3日, 5月3日).

    Raises `InvalidBirthday` for anything else or a day that does not exist (02-29 is
    accepted without a year, only in leap years with one).
    """
    match = _BIRTHDAY.fullmatch(unicodedata.normalize("NFKC", text or "").strip())
    if match is None:
        raise InvalidBirthday(f"生日格式应为 MM-DD 或 YYYY-MM-DD：{text!r}")
    year, month, day = match.groups()
    return Birthday(int(month), int(day), int(year) if year else None)


# --- entry: the canonical form of a customer's fields -------------------------------------------

MAX_ID = 2**31 - 1  # ids are 32-bit integers on every backend
ACTIVE = "active"
IN_POOL = "pool"
ARCHIVED = "archived"
STATUSES = (ACTIVE, IN_POOL, ARCHIVED)
FOLLOWUP_KINDS = ("call", "visit", "sample", "quote", "other")
NAME_KEY = "name"
PHONE_KEY = "phone"


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


def exact_keys(name_key: str, phones: Iterable[str]) -> list[tuple[str, str]]:
    """The (kind, key) pairs that block a second entry of the same customer."""
    return [(NAME_KEY, name_key)] + [(PHONE_KEY, phone) for phone in phones]


@dataclass(frozen=True)
class Owner:
    """Who a customer is (to be) owned by: the owner's id, display name and team."""

    user_id: int
    display_name: str
    team: str | None


# --- who may do what -------------------------------------------------------------------------


def can_read_in_full(caller: Caller, owner_id: int | None, team: str | None, status: str) -> bool:
    """A salesperson reads their own customers, a manager the team's, an admin all.

    An archived customer is for the team's manager and admins only; a customer in the pool is
    read in full by the team's manager (salespeople see it in the pool list and take it).
    """
    if caller.is_admin:
        return True
    if status == ARCHIVED:
        return caller.manages(team)
    return (status == ACTIVE and owner_id == caller.user_id) or caller.manages(team)


def check_can_read(caller: Caller, owner_id: int | None, team: str | None, status: str) -> None:
    """Raise NotYourCustomer unless the caller may read this customer in full."""
    if not can_read_in_full(caller, owner_id, team, status):
        raise NotYourCustomer("this customer belongs to someone else", {"owner_id": owner_id})


def listing_scope(caller: Caller) -> tuple[str, Any]:
    """Which customers the caller lists: ("all", None), ("team", team) or ("own", user_id)."""
    if caller.is_admin:
        return "all", None
    if caller.is_manager and caller.team:
        return "team", caller.team
    return "own", caller.user_id


def check_manages(caller: Caller, team: str | None, action: str) -> None:
    """Raise Forbidden unless the caller is the team's manager or an admin."""
    if not caller.manages(team):
        raise Forbidden(f"only the team's manager or an admin may {action}", {"team": team})


def check_may_take(caller: Caller, team: str | None, status: str) -> None:
    """Any salesperson (or the manager) of the pool's team takes a customer from it."""
    if status != IN_POOL:
        raise NotInPool("this customer is not in the pool", {"status": status})
    if caller.role not in ("sales", "manager") or team is None or caller.team != team:
        raise Forbidden("only the team's salespeople take customers from its pool", {"team": team})


def check_may_claim(caller: Caller, owner_id: int | None, status: str) -> None:
    """A salesperson or manager who does not own an active customer may claim it."""
    if status == IN_POOL:
        raise CustomerInPool("this customer is in the pool: take it instead of claiming it")
    if status == ARCHIVED:
        raise CustomerArchived("this customer is archived")
    if caller.role not in ("sales", "manager"):
        raise Forbidden("only salespeople and managers claim customers", {"role": caller.role})
    if owner_id == caller.user_id:
        raise Conflict("you already own this customer")


def check_may_assign(caller: Caller, owner: Mapping[str, Any] | None, action: str) -> None:
    """The new owner must be an active salesperson or manager the caller manages
    (themself, for a salesperson)."""
    if owner is None or not owner.get("active", True):
        raise UnknownUser("no such active user", {"owner_id": ["no such active user"]})
    if owner["role"] not in ("sales", "manager"):
        raise InvalidInput("customers are owned by salespeople or managers", {"owner_id": ["not a seller"]})
    if owner["id"] == caller.user_id and caller.role in ("sales", "manager"):
        return
    if not caller.manages(owner.get("team")):
        raise Forbidden(f"you may not {action} for this user", {"owner_id": owner["id"]})


# --- disputes: the owner's standing ------------------------------------------------------------

NO_CONTACT = "（未登记联系人）"


def owner_standing(owner_id: int, contacts: Iterable[Mapping[str, Any]], owned_since: datetime) -> Claimant:
    """The owner as a claimant: their most senior recorded contact, since they got the customer.

    An owner with no contact of known decision level stands at the lowest level.
    """
    ranked = [contact for contact in contacts if contact.get("decision_level")]
    senior = max(ranked, key=lambda contact: contact["decision_level"], default=None)
    if senior is None:
        return Claimant(owner_id, NO_CONTACT, DECISION_LEVEL_MIN, owned_since)
    return Claimant(owner_id, senior.get("name") or NO_CONTACT, senior["decision_level"], owned_since)


def choose_winner(proposal: DisputeProposal, claimants: Sequence[Claimant], winner_id: Any) -> Claimant:
    """The manager's choice among the claimants, or the system's proposal when none is given."""
    if winner_id is None:
        return proposal.winner
    for claimant in claimants:
        if claimant.salesperson_id == winner_id:
            return claimant
    raise InvalidInput(
        "the winner must be the owner or one of the claimants", {"winner_id": ["not a claimant"]}
    )


# --- giving up a customer ----------------------------------------------------------------------


def check_abandon_alarm(alarm: Mapping[str, Any] | None, customer_id: int) -> None:
    """Raise AlarmRequired unless ``alarm`` is about this customer and a manager answered it."""
    if alarm is None:
        raise AlarmRequired("no such difficulty alarm: raise one about this customer first")
    if alarm.get("customer_id") != customer_id:
        raise AlarmRequired(
            "the difficulty alarm is about another customer",
            {"alarm_id": alarm.get("alarm_id"), "customer_id": alarm.get("customer_id")},
        )
    if not alarm.get("manager_answered"):
        raise AlarmRequired(
            "a manager has not answered the difficulty alarm yet", {"alarm_id": alarm.get("alarm_id")}
        )
