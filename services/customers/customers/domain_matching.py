"""Duplicates: the keys a customer is found under and how alike two customers are. Plain
Python: no nameko, no SQLAlchemy.

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
`abbreviation_keys` (the leading parts of at most `MAX_ABBREVIATION_LENGTH` characters) are
looked up as exact name keys. Candidates are scored by
`assess_duplicate`:

- same phone → 100, "同一电话 +86…";
- a branch of the same head office, or two branches of it → 100 on the head office names,
  "同一公司的分支机构（…）" (a branch is a separate customer, but the manager must see it);
- a name that is the leading part of the other (华为 / 华为技术, a 简称) → 90, "名称包含（…）";
- otherwise ``fuzz.ratio`` of the keys, "名称相似 92%". token_set_ratio is not used: keys
  have no whitespace, and Chinese names have no word boundaries to sort.

Suspected at a score of `SUSPECT_THRESHOLD` (85) or more.

Bounded work
------------
Every rule here does at most linear work in its input and caps what it produces: names longer
than `MAX_NAME_LENGTH` and phones longer than `MAX_PHONE_LENGTH` are refused (normalize), keys
compared or indexed are cut at `MAX_KEY_LENGTH`, a name gives at most `MAX_NAME_KEYS` n-grams
and `MAX_ABBREVIATION_LENGTH` leading parts, and error messages quote only the start of what
was given. So a key stored before these limits, or an event carrying one, costs no more than an
ordinary name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from customers.constants import (
    CustomerId,  # noqa: F401 — re-exported: the domain's words
)
from customers.normalize import (
    INDUSTRY_WORDS,
    MAX_KEY_LENGTH,
    MAX_NAME_LENGTH,  # noqa: F401 — the entry limits, re-exported for schemas
    MAX_PHONE_LENGTH,  # noqa: F401
    pinyin_readings,
    pinyin_syllables,
    regions_differ,
    split_branch_key,
    to_simplified,
)

SUSPECT_THRESHOLD = 85.0
MAX_NAME_KEYS = 8
MAX_ABBREVIATION_LENGTH = 30  # a 简称 is a few characters; a longer leading part is for the ratio
ABBREVIATION_SCORE = 90.0
NAME_KEY_PREFIX = "n:"
PINYIN_KEY_PREFIX = "n:~"  # a name key too: counted with the character grams
PHONE_KEY_PREFIX = "p:"
SAME_NAME_KEY_PREFIX = "k:"  # the whole name key: the same 字号 in another region
TRADE_KEY_PREFIX = "t:"  # the trade name's pinyin (Chinese) or letters (English): 中英文名
DIRECT_KEY_PREFIXES = (PHONE_KEY_PREFIX, SAME_NAME_KEY_PREFIX, TRADE_KEY_PREFIX)
MIN_TRADE_LETTERS = 4
MAX_TRADE_LETTERS = 60  # a 字号 is a few syllables; a longer one is no trade name to look up
MAX_SOUND_KEYS = 2 * MAX_NAME_KEYS  # pinyin grams: a character with two readings gives two
MAX_CANDIDATE_KEYS = MAX_NAME_KEYS + MAX_SOUND_KEYS + 2  # grams, sounds, whole key, trade name
REGION_SCORE = 95.0
HOMOPHONE_SCORE = 95.0
TRADITIONAL_SCORE = 98.0
ENGLISH_NAME_SCORE = 90.0


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
    At most `MAX_NAME_KEYS` character grams of the simplified head office key and as many pinyin
    grams (pairs of syllables: homophones and traditional characters share them), the whole key
    (``k:``, the same 字号 in another region), the trade name's pinyin or letters (``t:``, an
    English name against a Chinese one) and one key per phone. Linear in the name.
    """
    key = normalized_name[:MAX_KEY_LENGTH]
    head, _branch = split_branch_key(to_simplified(key))
    size = 2 if any(_is_cjk(char) for char in head) else 3
    grams: list[str] = []
    for start in range(len(head) - size + 1):
        gram = head[start : start + size]
        if gram not in COMMON_GRAMS and gram not in grams:
            grams.append(gram)
            if len(grams) == MAX_NAME_KEYS:
                break
    # a name shorter than one gram, or made only of common grams, is its own key
    keys = {NAME_KEY_PREFIX + gram for gram in grams[:MAX_NAME_KEYS] or [head]}
    if size == 2:
        # three syllables: a pair of syllables is shared by hundreds of names (pinyin has ~400),
        # three are as telling as two characters; a homophone or a traditional character keeps them
        sounds: list[str] = []
        for start in range(len(head) - 2):
            if head[start : start + 2] in COMMON_GRAMS and head[start + 1 : start + 3] in COMMON_GRAMS:
                continue
            for first in pinyin_readings(head[start])[:2]:  # 长 is zhang or chang: both
                for second in pinyin_readings(head[start + 1])[:2]:
                    for third in pinyin_readings(head[start + 2])[:2]:
                        sound = f"{first}-{second}-{third}"
                        if sound not in sounds:
                            sounds.append(sound)
            if len(sounds) >= MAX_SOUND_KEYS:
                break
        keys |= {PINYIN_KEY_PREFIX + sound for sound in sounds[:MAX_SOUND_KEYS]}
    trade = trade_sound(key)
    if trade is not None:
        keys.add(TRADE_KEY_PREFIX + trade)
    keys.add(same_name_key(key))
    return keys | {PHONE_KEY_PREFIX + phone for phone in phones}


def same_name_key(normalized_name: str) -> str:
    """The ``k:`` posting of a whole name key, within the key column (a long one ends in a digest)."""
    key = SAME_NAME_KEY_PREFIX + normalized_name
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.blake2b(normalized_name.encode(), digest_size=16).hexdigest()
    return key[: MAX_KEY_LENGTH - len(digest) - 1] + "#" + digest


# the lengths of the industry words, longest first: a key's ending of each length is looked up
# (at most one word of a length can end it), instead of trying every word with endswith
_INDUSTRY_WORD_LENGTHS = sorted({len(word) for word in INDUSTRY_WORDS}, reverse=True)


def trade_name(normalized_name: str) -> str:
    """The 字号 of a name key: its head office part without the industry words at its end
    (华为技术 → 华为, 阿里巴巴网络技术 → 阿里巴巴, huaweitechnologies → huawei). Keeps at least two
    characters (four letters). Linear in the key: each step removes a word."""
    head, _branch = split_branch_key(to_simplified(normalized_name[:MAX_KEY_LENGTH]))
    minimum = 2 if head and _is_cjk(head[0]) else MIN_TRADE_LETTERS
    stripped = True
    while stripped:
        stripped = False
        for length in _INDUSTRY_WORD_LENGTHS:
            if len(head) - length >= minimum and head[-length:] in INDUSTRY_WORDS:
                head = head[:-length]
                stripped = True
                break
    return head


def trade_sound(normalized_name: str) -> str | None:
    """How the 字号 sounds in letters: the pinyin of a Chinese one (华为 → huawei), the letters
    of an English one; None for a mixed or too short one."""
    trade = trade_name(normalized_name)
    if trade and all(_is_cjk(char) for char in trade):
        sound = "".join(pinyin_syllables(trade))
    elif trade.isascii() and trade.isalpha():
        sound = trade
    else:
        return None
    return sound if MIN_TRADE_LETTERS <= len(sound) <= MAX_TRADE_LETTERS else None


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
    most ``max_postings + 1`` deep): those sharing a phone, the whole name key or the trade
    name's sound (`DIRECT_KEY_PREFIXES`), then those sharing enough name keys
    (`shared_keys_needed`), most shared first, at most ``limit``.

    A key with more than ``max_postings`` customers says nothing about the name (a common word)
    and is left out; so the work is bounded by the number of keys, not of customers.
    """
    informative = {key: ids for key, ids in postings.items() if len(ids) <= max_postings}
    chosen: list[int] = []
    shared: dict[int, int] = {}
    sounded: dict[int, int] = {}  # pinyin keys are counted apart: one spot of a name gives both kinds
    for key, customer_ids in sorted(informative.items()):
        if key.startswith(DIRECT_KEY_PREFIXES):
            chosen.extend(customer_ids)
        else:
            counts = sounded if key.startswith(PINYIN_KEY_PREFIX) else shared
            for customer_id in customer_ids:
                counts[customer_id] = counts.get(customer_id, 0) + 1
    needed = shared_keys_needed(
        sum(
            1
            for key in informative
            if key.startswith(NAME_KEY_PREFIX) and not key.startswith(PINYIN_KEY_PREFIX)
        )
    )
    needed_sounds = shared_keys_needed(sum(1 for key in informative if key.startswith(PINYIN_KEY_PREFIX)))
    alike = {cid for cid, count in shared.items() if count >= needed}
    alike |= {cid for cid, count in sounded.items() if count >= needed_sounds}
    chosen += sorted(alike, key=lambda cid: (-shared.get(cid, 0) - sounded.get(cid, 0), cid))
    return list(dict.fromkeys(cid for cid in chosen if cid != exclude_id))[:limit]


def abbreviation_keys(normalized_name: str) -> list[str]:
    """Leading parts of the head office key that, as another customer's whole name key, would
    be its abbreviation (简称): 华为 for 华为技术. Looked up as exact keys, so an abbreviation
    is found even when it shares a single bigram with the name. At most the leading parts of up
    to `MAX_ABBREVIATION_LENGTH` characters: their count and size never grow with the name."""
    head, _branch = split_branch_key(normalized_name[:MAX_KEY_LENGTH])
    minimum = 2 if head and _is_cjk(head[0]) else 5
    return [head[:end] for end in range(minimum, min(len(head), MAX_ABBREVIATION_LENGTH) + 1)]


@dataclass(frozen=True)
class DuplicateSuspicion:
    score: float  # 0–100
    reason: str


def _spelling_evidence(a: str, b: str) -> tuple[float, str]:
    """The strongest reason two name keys, as written, look alike, with its score (on their
    first `MAX_KEY_LENGTH` characters: the ratio costs the product of the lengths)."""
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


def _name_evidence(
    a: str, b: str, region_a: str | None = None, region_b: str | None = None
) -> tuple[float, str]:
    """The strongest reason two name keys look alike, with its score and a reason a manager
    reads at once:

    - 同字号，不同地区: the same key, both with an explicit region, different regions (never a
      block: see normalize, "Regions");
    - 繁简: alike once both are in simplified characters (華為技術 / 华为技术);
    - 同音: the same pinyin, tones left out (阿里吧吧 / 阿里巴巴), or pinyin alike where the
      characters are not;
    - 中英文名: an English name whose 字号 is the pinyin of the Chinese one's (Huawei
      Technologies / 华为技术);
    - otherwise the evidence of the spelling (`_spelling_evidence`).

    A reason quotes only ``a`` (what is typed, in a check) and never the other name: who may not
    read that customer learns nothing of it from the reason (docs/CONTRACTS.md).

    Each comparison is linear in the keys, but the ratios, which cost the product of their
    lengths: all run on keys cut at `MAX_KEY_LENGTH`.
    """
    a, b = a[:MAX_KEY_LENGTH], b[:MAX_KEY_LENGTH]
    if a == b and regions_differ(region_a, region_b):
        return REGION_SCORE, f"同字号，不同地区（{_region_shown(region_a)}）"
    evidence = [_spelling_evidence(a, b)]
    simple_a, simple_b = to_simplified(a), to_simplified(b)
    if (simple_a, simple_b) != (a, b):
        if simple_a == simple_b:
            evidence.append((TRADITIONAL_SCORE, f"繁简（{simple_a}）"))
        else:
            score, reason = _spelling_evidence(simple_a, simple_b)
            evidence.append((score, f"繁简：{reason}"))
    if simple_a != simple_b and any(map(_is_cjk, simple_a)) and any(map(_is_cjk, simple_b)):
        sound_a, sound_b = pinyin_syllables(simple_a), pinyin_syllables(simple_b)
        if _sound_alike(simple_a, simple_b):
            evidence.append((HOMOPHONE_SCORE, f"同音（读音 {quoted_sound(sound_a)}）"))
        else:
            # syllables compared as whole tokens: 鑫源 / 鑫达 (xin yuan / xin da) share one of two
            sound_ratio = round(fuzz.ratio(*_as_tokens(sound_a, sound_b)), 1)
            if sound_ratio > fuzz.ratio(simple_a, simple_b):
                evidence.append(
                    (min(sound_ratio, HOMOPHONE_SCORE - 1), f"同音（读音相似 {sound_ratio:.0f}%）")
                )
    if any(map(_is_cjk, a)) != any(map(_is_cjk, b)):
        trade_a, trade_b = trade_sound(a), trade_sound(b)
        if trade_a is not None and trade_a == trade_b:
            said = trade_name(a) if trade_name(a) == trade_a else f"{trade_name(a)}，读作 {trade_a}"
            evidence.append((ENGLISH_NAME_SCORE, f"中英文名（{said}）"))
    return max(evidence, key=lambda item: item[0])


def _sound_alike(a: str, b: str) -> bool:
    """Whether two texts read alike character by character, any reading of each (长 = 昌: chang)."""
    return len(a) == len(b) and all(
        x == y or set(pinyin_readings(x)) & set(pinyin_readings(y)) for x, y in zip(a, b, strict=True)
    )


def _as_tokens(a: Sequence[str], b: Sequence[str]) -> tuple[str, str]:
    """Two syllable sequences as strings of one character per distinct syllable."""
    codes: dict[str, str] = {}
    for syllable in (*a, *b):
        codes.setdefault(syllable, chr(0xE000 + len(codes)))
    return "".join(codes[x] for x in a), "".join(codes[x] for x in b)


def _region_shown(region: str | None) -> str:
    return (region or "").replace("/", "·")


def quoted_sound(syllables: Sequence[str], limit: int = 12) -> str:
    """Pinyin syllables for a reason, at most ``limit`` of them."""
    shown = " ".join(syllables[:limit])
    return shown + (" …" if len(syllables) > limit else "")


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
    region_a: str | None = None,
    region_b: str | None = None,
) -> DuplicateSuspicion | None:
    """Score a candidate pair (name keys, E.164 phones, explicit regions); None when it is not
    suspected."""
    scores: list[float] = []
    reasons: list[str] = []
    shared_phones = sorted(set(phones_a) & set(phones_b))
    if shared_phones:
        scores.append(100.0)
        reasons.append("同一电话 " + "、".join(shared_phones))
    name_score, name_reason = _name_evidence(name_a, name_b, region_a, region_b)
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
    region: str | None = None  # the name's explicit region (normalize.company_region)


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
    region: str | None = None,
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
            suspicion = assess_duplicate(
                name_key,
                candidate.name_key,
                phones,
                candidate.phones,
                region_a=region,
                region_b=candidate.region,
            )
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
        suspicion = assess_duplicate(
            customer.name_key,
            candidate.name_key,
            customer.phones,
            candidate.phones,
            region_a=customer.region,
            region_b=candidate.region,
        )
        if suspicion is not None:
            suspects.append((candidate, suspicion))
    return suspects
