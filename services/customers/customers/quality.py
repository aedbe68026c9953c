"""How well the duplicate rules do on a labelled set of pairs: the two figures of issue 12.

The set (``tests/data/matching_pairs.csv``) holds pairs of customers as a salesperson would
enter them: ``name_a, phone_a, name_b, phone_b, label, reason, category``. Customer A is stored,
customer B is being entered. A phone written ``contact:…`` is a contact's phone. The label says
what should happen:

- ``block``: the same customer; entering B must be refused;
- ``flag``: possibly the same (a branch, the same 字号 in another region, a homophone, a
  traditional or English name): B is entered and the pair goes to the manager;
- ``allow``: different customers: B is entered, whether or not the pair is flagged.

`outcome` runs the real rules on a pair, as the service does, without a database:

- **blocked** when a phone key is shared, or the name keys are equal and
  `domain.blocks_same_name` (no region on one side, or the same region);
- otherwise **flagged** when the fuzzy scan would both *find* B's candidate A through the keys
  it looks up (`domain.candidate_keys` and `choose_candidates` over A's postings, or A's whole key
  among `domain.abbreviation_keys` of B) and *suspect* it (`domain.assess_duplicate`, score ≥
  `SUSPECT_THRESHOLD`);
- otherwise **none**.

The figures (`measure`):

- **precision of blocks** = blocked pairs labelled ``block`` / all blocked pairs. Must be 1.0:
  a block never refuses a different company, nor a pair that is only to be flagged;
- **caught** = pairs caught / pairs labelled ``block`` or ``flag``, where a ``block`` pair is
  caught when it is blocked, and a ``flag`` pair when it is flagged (and not blocked: that
  would break the precision). Must be at least 95 %.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from customers import domain
from customers.normalize import analyse_company_name, normalize_phone

BLOCKED, FLAGGED, NONE = "block", "flag", "none"
LABELS = (BLOCKED, FLAGGED, "allow")
REQUIRED_PRECISION = 1.0
REQUIRED_CAUGHT = 0.95
DEFAULT_SET = Path(__file__).resolve().parents[3] / "tests" / "data" / "matching_pairs.csv"


@dataclass(frozen=True)
class Pair:
    name_a: str
    phone_a: str
    name_b: str
    phone_b: str
    label: str
    reason: str
    category: str


@dataclass
class Figures:
    pairs: int = 0
    labelled: dict[str, int] = field(default_factory=dict)
    blocked: int = 0
    blocked_rightly: int = 0
    to_catch: int = 0
    caught: int = 0
    wrongly_blocked: list[tuple[Pair, str]] = field(default_factory=list)
    missed: list[tuple[Pair, str]] = field(default_factory=list)
    by_category: dict[str, list[int]] = field(default_factory=dict)  # category: [caught, to catch]
    allow_flagged: int = 0  # different companies shown to the manager anyway (no figure required)

    @property
    def block_precision(self) -> float:
        return self.blocked_rightly / self.blocked if self.blocked else 1.0

    @property
    def caught_share(self) -> float:
        return self.caught / self.to_catch if self.to_catch else 1.0


def load_pairs(path: Path = DEFAULT_SET) -> list[Pair]:
    """The labelled pairs of a CSV; ValueError for an unknown label or a missing column."""
    with path.open(encoding="utf-8", newline="") as lines:
        pairs = [
            Pair(**{name: (row[name] or "").strip() for name in Pair.__dataclass_fields__})
            for row in csv.DictReader(lines)
        ]
    unknown = {pair.label for pair in pairs} - set(LABELS)
    if unknown:
        raise ValueError(f"unknown labels in {path}: {sorted(unknown)}")
    return pairs


def _phones(written: str) -> tuple[list[str], list[dict]]:
    """(the customer's phones, its contacts) from a phone cell."""
    if not written:
        return [], []
    if written.startswith("contact:"):
        return [], [{"name": "联系人", "phone": normalize_phone(written.removeprefix("contact:"))}]
    return [normalize_phone(written)], []


def outcome(pair: Pair) -> tuple[str, str]:
    """What the rules do with the pair: (blocked / flagged / none, the reason given)."""
    a, b = analyse_company_name(pair.name_a), analyse_company_name(pair.name_b)
    phones_a = domain.all_phones(*_phones(pair.phone_a))
    phones_b = domain.all_phones(*_phones(pair.phone_b))
    shared = set(phones_a) & set(phones_b)
    if shared:
        return BLOCKED, "电话相同 " + "、".join(sorted(shared))
    if a.key == b.key and domain.blocks_same_name(b.region, a.region):
        return BLOCKED, "名称相同"
    stored_keys = domain.candidate_keys(a.key, phones_a)
    postings = {key: [1] for key in domain.candidate_keys(b.key, phones_b) if key in stored_keys}
    found = 1 in domain.choose_candidates(postings) or a.key in domain.abbreviation_keys(b.key) + [b.key]
    if not found:
        return NONE, "not a candidate"
    suspicion = domain.assess_duplicate(
        b.key, a.key, phones_b, phones_a, region_a=b.region, region_b=a.region
    )
    return (FLAGGED, suspicion.reason) if suspicion is not None else (NONE, "found, not suspected")


def measure(pairs: Iterable[Pair]) -> Figures:
    figures = Figures()
    for pair in pairs:
        figures.pairs += 1
        figures.labelled[pair.label] = figures.labelled.get(pair.label, 0) + 1
        result, reason = outcome(pair)
        if result == BLOCKED:
            figures.blocked += 1
            if pair.label == BLOCKED:
                figures.blocked_rightly += 1
            else:
                figures.wrongly_blocked.append((pair, reason))
        if pair.label == "allow" and result == FLAGGED:
            figures.allow_flagged += 1
        if pair.label in (BLOCKED, FLAGGED):
            figures.to_catch += 1
            counts = figures.by_category.setdefault(pair.category, [0, 0])
            counts[1] += 1
            if result == pair.label:
                figures.caught += 1
                counts[0] += 1
            else:
                figures.missed.append((pair, f"{result}: {reason}"))
    return figures


def report(figures: Figures) -> str:
    lines = [
        f"labelled pairs: {figures.pairs} ({', '.join(f'{k} {v}' for k, v in sorted(figures.labelled.items()))})",
        f"precision of blocks: {figures.block_precision:.3f} ({figures.blocked_rightly}/{figures.blocked}; "
        f"required {REQUIRED_PRECISION:.2f})",
        f"caught (block pairs blocked, flag pairs flagged): {figures.caught_share:.3f} "
        f"({figures.caught}/{figures.to_catch}; required {REQUIRED_CAUGHT:.2f})",
        f"pairs labelled allow that are flagged (a manager looks, nothing is refused): "
        f"{figures.allow_flagged}/{figures.labelled.get('allow', 0)}",
        "by category (caught/to catch): "
        + ", ".join(f"{name} {c}/{n}" for name, (c, n) in sorted(figures.by_category.items())),
    ]
    lines += [
        f"WRONGLY BLOCKED: {p.name_a} | {p.name_b} ({p.label}): {why}" for p, why in figures.wrongly_blocked
    ]
    lines += [
        f"missed: {p.name_a} | {p.name_b} ({p.label}, {p.category}): {why}" for p, why in figures.missed
    ]
    return "\n".join(lines)
