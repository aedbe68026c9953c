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
"ing"), plus ``p:`` + each E.164 phone. A scan looks up a bounded number of rare keys, so
its cost follows how many customers share those keys, not how many customers there are;
the service may also ignore a key with very many postings, as it tells nothing.
Candidates are scored by `assess_duplicate`:

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
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from rapidfuzz import fuzz

from customers.normalize import INDUSTRY_WORDS, split_branch_key

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
