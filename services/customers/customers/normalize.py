"""Exact keys for company names and phones: the rules that decide 撞单 at entry.

A customer is blocked at entry when its *name key* or any *phone key* equals one already
stored. Everything here is pure: no database, no clock, no configuration.

What makes two company names the same key
-----------------------------------------
A registered Chinese company name reads 行政区划 + 字号 + 行业 + 组织形式, e.g.
深圳市 + 华为 + 技术 + 有限公司. The key keeps 字号 + 行业 and drops the rest:

1. Width and case: NFKC (full-width ＡＢＣ１２３ → ABC123), then casefold.
2. Bracketed parts are dropped: （上海）, (China), 【重点客户】, [old], 〔〕, 〖〗. They are
   registration details or notes, never the trade name. Book-title marks 《》 and quotes 「」
   are only punctuation: their content is kept.
3. Whitespace, punctuation and symbols (Chinese and ASCII, ·, &, ®) are dropped.
4. Legal-form suffixes are stripped repeatedly from the end: 股份有限公司, 有限责任公司,
   有限公司, 股份公司, 总公司, 公司, 集团, 合伙企业, 个人独资企业 (and traditional 有限責任公司,
   集團); Co., Ltd., Company Limited, Limited, Inc., Corp., Corporation, LLC, GmbH, PLC,
   Pte, Pty, Group, LP, LLP. So 海尔集团有限公司 = 海尔集团 = 海尔.
   Kept on purpose: 厂 (服装厂 names the trade: a 服装厂 and a 服装有限公司 are left to the fuzzy
   scan), 控股/Holdings (a holding company is a different buyer from its operating company),
   企业, 商行, 经营部, 店.
5. Administrative regions are stripped from the *start only*: provinces, municipalities,
   autonomous regions, SARs, the prefecture-level cities in `CITIES` (with or without 省/市/
   自治区/特别行政区) and, right after one of those, a district or county (朝阳区, 浦东新区, 某某县).
   Pinyin forms are stripped from English names (Shanghai Acme Trading → acmetrading).
   A region inside or at the end of the name is part of the trade name and is kept.
6. A region is never stripped when it is the trade name. It stays when what would remain
   is only industry words (北京银行, 上海贸易, 青岛啤酒, Shanghai Trading), is shorter than two
   characters, or — when the region was written bare, without 省/市 — shorter than three
   (金华火腿 ≠ 义乌火腿; 深圳市华为 → 华为 but 深圳华为 stays 深圳华为).
7. Never an empty key: each step that would empty the name is skipped (有限公司 alone stays
   有限公司; a name that is only a bracket keeps the bracket's content). A name with no letter,
   digit or CJK character at all raises `InvalidCompanyName`.
8. Size: a name longer than `MAX_NAME_LENGTH` characters (the entry limit), or one that NFKC
   swells beyond `MAX_KEY_LENGTH` (the key column), raises `InvalidCompanyName` before any other
   work, so no input makes these rules cost more than a bounded amount.

Decisions, as a sales floor would take them
-------------------------------------------
- Regions (KEY_VERSION 2). Chinese company names are unique only within the registering
  region, and common trade names (恒发, 宏达, 鑫源) exist in hundreds of cities. So the key drops
  the region but remembers it: `analyse_company_name` gives the key and the *explicit region*,
  the canonical path of the region prefix it stripped (rule 5: 深圳市 → ``广东/深圳``,
  广东省深圳市 → ``广东/深圳``, 深圳市南山区 → ``广东/深圳/南山区``, Shenzhen … → ``广东/深圳``)
  or, without one, of a bracket that holds only a region (恒发五金（广州）有限公司 → ``广东/广州``).
  Levels are resolved with `REGIONS_FILE` (a city gets its province, a county-level city its
  prefecture); a district the file does not know is kept as written. A region kept as part of
  the trade name (rule 6: 北京银行, 深圳华为) is no explicit region.
  The rule: two names with the same key **block** each other unless both carry an explicit
  region and the regions differ (`regions_differ`); then the entry is accepted and the pair is
  flagged to the manager as 同字号，不同地区. A region on one side only still blocks
  (深圳市华为技术 = 华为技术), and so do two writings of one region (广东省深圳市X = 深圳市X).
  Regions at different depths are different regions (广东省X / 深圳市X, 深圳市X / 深圳市南山区X):
  a province-level and a city-level registration are two entities, so the pair is flagged, never
  blocked — a block must never refuse a different company; the manager sees every flag.
  In the duplicate block a name holds `exact_name_key`: its key, qualified by its region when
  it has one (恒发五金@广东/深圳), so the database's unique key refuses two entries of one name in
  one region even when they race.
- A branch office is a separate customer: 华为技术有限公司北京分公司 buys on its own and may
  belong to another salesperson. Its key keeps the branch marker, head and branch joined by
  `BRANCH_SEPARATOR`: 华为技术/北京分公司. It does not block the head office nor another
  branch, and the fuzzy scan (domain.similarity) flags it against both. The branch's region
  is kept (it is what tells the branches apart), 北京市分公司 = 北京分公司, and 华为技术有限公司
  (北京分公司) is the same branch as 华为技术有限公司北京分公司.
  Markers: 分公司 分厂 分店 分行 支行 分理处 分部 办事处 代表处 营业部 分所, Branch (Office),
  Representative Office.
- Sister companies with a different trade name (华为 / 荣耀) are different customers, and so
  are two companies of one group with different industry words (华为技术 / 华为投资控股):
  those are for the fuzzy scan and the manager, not for a hard block.
- Not blocked, only flagged by the fuzzy scan (domain): traditional vs simplified characters
  beyond the legal suffixes (華為 ≠ 华为: 繁简), homophones (阿里吧吧 ≠ 阿里巴巴: 同音), Chinese vs
  English names of one company (华为技术 ≠ Huawei Technologies: 中英文名), typos. `to_simplified`
  and `pinyin_syllables` are what the scan compares with.

Keys are stored with a unique constraint; `KEY_VERSION` changes whenever these rules do, and
``crm-customers-rekey`` (customers.rekey) recomputes stored keys.

Phones
------
One normaliser for the whole project: `crm_common.phones.normalize_phone` (E.164, extensions
dropped), re-exported here.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from crm_common.phones import InvalidPhone, normalize_phone  # noqa: F401 — re-exported
from customers.constants import (  # noqa: F401 — re-exported
    MAX_KEY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PHONE_LENGTH,
    QUOTED_LENGTH,
    quoted,
)
from customers.normalize_tables import (  # noqa: F401 — re-exported
    BRANCH_MARKERS,
    CHINESE_LEGAL_FORMS,
    CITIES,
    INDUSTRY_WORDS,
    LATIN_BRANCH_MARKERS,
    LATIN_LEGAL_FORMS,
    MAX_READINGS,
    PINYIN_REGIONS,
    PROVINCES,
    pinyin_readings,
    pinyin_syllables,
    to_simplified,
)

KEY_VERSION = 2
BRANCH_SEPARATOR = "/"
REGION_SEPARATOR = "@"
REGIONS_FILE = Path(__file__).with_name("data") / "regions.tsv"
DEFAULT_PHONE_REGION = "CN"
MAX_FOLDED_LENGTH = 2 * MAX_KEY_LENGTH  # the rules below never see more text than this


class InvalidCompanyName(ValueError):
    """The name has nothing a key can be made of (empty, or only punctuation)."""


# --- patterns ------------------------------------------------------------------------------

_OPEN_BRACKETS = "([{【〔〖"
_CLOSE_BRACKETS = ")]}】〕〗"
_BRACKETED = re.compile(
    f"[{re.escape(_OPEN_BRACKETS)}][^{re.escape(_OPEN_BRACKETS + _CLOSE_BRACKETS)}]*"
    f"[{re.escape(_CLOSE_BRACKETS)}]"
)
_TRAILING_BRACKETED = re.compile(
    f"[{re.escape(_OPEN_BRACKETS)}]([^{re.escape(_OPEN_BRACKETS + _CLOSE_BRACKETS)}]*)"
    f"[{re.escape(_CLOSE_BRACKETS)}]\\s*$"
)
_DISTRICT = re.compile(r"[\u4e00-\u9fff]{2,3}?[区县]")


def _region_forms() -> list[tuple[str, str, bool]]:
    """(written form, bare name, written with its marker) for every region, longest first."""
    forms: list[tuple[str, str, bool]] = []
    for bare, marked_forms in PROVINCES.items():
        forms.append((bare, bare, False))
        forms.extend((marked, bare, True) for marked in marked_forms)
    for city in CITIES:
        forms.append((city, city, False))
        forms.append((city + "市", city, True))
    forms.extend((word, word, False) for word in PINYIN_REGIONS)
    return sorted(set(forms), key=lambda form: -len(form[0]))


_REGION_FORMS = _region_forms()
_MARKED_REGION = re.compile("|".join(re.escape(text) for text, _bare, marked in _REGION_FORMS if marked))
_BARE_OF_MARKED = {text: bare for text, bare, marked in _REGION_FORMS if marked}
_BARE_OF_FORM = {text: bare for text, bare, _marked in _REGION_FORMS}
_MARKED_BY_FORM = {text: marked for text, _bare, marked in _REGION_FORMS}
_REGION_LENGTHS = sorted({len(text) for text, _bare, _marked in _REGION_FORMS}, reverse=True)
_LEGAL_FORM_ANYWHERE = re.compile(
    "|".join(re.escape(form) for form in CHINESE_LEGAL_FORMS)
    + "|"
    + "|".join(rf"\b{form}\b" for form in sorted(LATIN_LEGAL_FORMS, key=len, reverse=True))
)


# Pinyin region words that the rule of pypinyin below would not give, or would give ambiguously.
_PINYIN_REGION_NAMES: dict[str, str] = {
    "shanxi": "山西", "shaanxi": "陕西", "xi an": "西安", "xian": "西安", "inner mongolia": "内蒙古",
    "hong kong": "香港", "hongkong": "香港", "macau": "澳门", "macao": "澳门", "tibet": "西藏",
    "urumqi": "乌鲁木齐", "harbin": "哈尔滨", "hohhot": "呼和浩特", "lhasa": "拉萨",
}  # fmt: skip


def _load_regions() -> tuple[dict[str, str], dict[str, list[str]]]:
    """(name by six-digit adcode, adcodes by name) from `REGIONS_FILE`."""
    by_code: dict[str, str] = {}
    by_name: dict[str, list[str]] = {}
    with REGIONS_FILE.open(encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("#") or not line.strip():
                continue
            code, name = line.rstrip("\n").split("\t")
            by_code[code] = name
            by_name.setdefault(name, []).append(code)
    return by_code, by_name


_REGION_NAME_BY_CODE, _REGION_CODES_BY_NAME = _load_regions()
_PROVINCE_OF_CODE: dict[str, str] = {
    code[:2]: bare
    for bare, forms in PROVINCES.items()
    for code, name in _REGION_NAME_BY_CODE.items()
    if code.endswith("0000") and name in forms
}
_PROVINCE_CODE = {bare: prefix + "0000" for prefix, bare in _PROVINCE_OF_CODE.items()}


_CHINESE_OF_PINYIN_REGION: dict[str, str] = {
    **{
        "".join(pinyin_syllables(bare)): bare
        for bare in (*PROVINCES, *CITIES)
        if "".join(pinyin_syllables(bare)) in PINYIN_REGIONS
    },
    **_PINYIN_REGION_NAMES,
}


def _region_path(cuts: list[tuple[int, bool, str]]) -> str | None:
    """The canonical path (``广东/深圳/南山区``) of the regions written at the start of a name,
    each level resolved with `REGIONS_FILE` (a city gets its province, a county-level city its
    prefecture); a district the file does not know is kept as written."""
    code: str | None = None
    unknown: str | None = None
    for _end, _marked, written in cuts:
        bare = _BARE_OF_FORM.get(written, written)
        bare = _CHINESE_OF_PINYIN_REGION.get(bare, bare)
        if bare in PROVINCES:
            if code is None or code[:2] != _PROVINCE_CODE.get(bare, "")[:2]:
                code = _PROVINCE_CODE.get(bare)
            continue
        codes = _REGION_CODES_BY_NAME.get(bare + "市") or _REGION_CODES_BY_NAME.get(written) or []
        within = [c for c in codes if code is None or c.startswith(code.rstrip("0")[:4] or code[:2])]
        if within:
            code = within[0]
        elif code is not None:
            unknown = written
    if code is None:
        return None
    parts = [_PROVINCE_OF_CODE.get(code[:2], _REGION_NAME_BY_CODE.get(code[:2] + "0000", code))]
    city = _REGION_NAME_BY_CODE.get(code[:4] + "00")
    if code[2:4] != "00" and city is not None:
        parts.append(city[:-1] if city.endswith("市") and len(city) > 2 else city)
    if code[4:] != "00":
        parts.append(_REGION_NAME_BY_CODE[code])
    if unknown:
        parts.append(unknown)
    return "/".join(parts)


# --- company names --------------------------------------------------------------------------


@dataclass(frozen=True)
class CompanyName:
    """A company name as the duplicate rules see it: its key and its explicit region.

    ``region`` is the canonical path of the region the name was registered under (province/
    city/district from `REGIONS_FILE`, e.g. ``广东/深圳`` for 深圳市…, ``广东/深圳/南山区`` for
    深圳市南山区…), or None when the name carries none (see "Regions" in the module docstring).
    """

    key: str
    region: str | None


@lru_cache(maxsize=8192)  # an entry asks for the same key several times; the rules are pure
def analyse_company_name(name: str) -> CompanyName:
    """The key and the explicit region of a company name (rules in the module docstring).

    A branch office gives ``<head key>/<branch>``, e.g. ``华为技术/北京分公司``; its region is the
    head office's. Raises `InvalidCompanyName` when the name has no letter, digit or CJK
    character, or is longer than `MAX_NAME_LENGTH` (or than `MAX_FOLDED_LENGTH` once folded).
    """
    if len(name or "") > MAX_NAME_LENGTH:
        raise InvalidCompanyName(f"公司名称过长：{len(name)} 个字符，最多 {MAX_NAME_LENGTH} 个")
    folded = unicodedata.normalize("NFKC", name or "").casefold()
    if len(folded) > MAX_FOLDED_LENGTH:
        raise InvalidCompanyName(f"公司名称过长：规范化后 {len(folded)} 个字符，最多 {MAX_FOLDED_LENGTH} 个")
    head, branch = _split_branch(folded)
    if branch is not None:
        head_key, region = _name_key(head)
        if head_key:
            key = head_key + BRANCH_SEPARATOR + _branch_key(branch)
            if len(key) > MAX_KEY_LENGTH:
                raise InvalidCompanyName(
                    f"公司名称过长：规范化后 {len(key)} 个字符，最多 {MAX_KEY_LENGTH} 个"
                )
            return CompanyName(key, region)
    key, region = _name_key(folded)
    if not key:
        raise InvalidCompanyName(f"公司名称无效：{quoted(name)}（没有文字或数字）")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidCompanyName(f"公司名称过长：规范化后 {len(key)} 个字符，最多 {MAX_KEY_LENGTH} 个")
    return CompanyName(key, region)


def normalize_company_name(name: str) -> str:
    """Return the name key of a company name: `analyse_company_name` without the region."""
    return analyse_company_name(name).key


def company_region(name: str) -> str | None:
    """The explicit region of a company name (``广东/深圳``), None when it has none."""
    return analyse_company_name(name).region


def exact_name_key(key: str, region: str | None) -> str:
    """The name's key in the duplicate block: the name key, qualified by its region when the
    name has one (``恒发五金@广东/深圳``). Two names with different regions then hold different
    keys; the rule that a region on one side only still blocks is applied by the lookup
    (domain.name_block_keys). Never longer than `MAX_KEY_LENGTH`: a long one ends in a digest."""
    if region is None:
        return key
    qualified = key + REGION_SEPARATOR + region
    if len(qualified) <= MAX_KEY_LENGTH:
        return qualified
    digest = hashlib.blake2b(qualified.encode(), digest_size=16).hexdigest()
    return key[: MAX_KEY_LENGTH - len(digest) - 1] + REGION_SEPARATOR + digest


def regions_differ(a: str | None, b: str | None) -> bool:
    """Whether two names are in different regions: both carry one and the paths differ."""
    return a is not None and b is not None and a != b


def split_branch_key(key: str) -> tuple[str, str | None]:
    """Split a name key into (head office key, branch part or None)."""
    head, separator, branch = key.partition(BRANCH_SEPARATOR)
    return (head, branch) if separator else (key, None)


def _name_key(text: str) -> tuple[str, str | None]:
    bracket_region = _bracketed_region(text)
    words = _words(_remove_bracketed(text))
    if not words:
        # the whole name was bracketed: its content is all there is
        words = _words(text)
        bracket_region = None
    words = _strip_legal_forms(words)
    words, region = _strip_region_prefix(words)
    return words.replace(" ", ""), region or bracket_region


def _bracketed_region(text: str) -> str | None:
    """The region written in brackets (恒发五金（广州）有限公司, Hengfa (Guangzhou) Ltd.): the
    first bracket whose whole content is a region."""
    for match in _BRACKETED.finditer(text):
        words = _words(match.group(0))
        if not words:
            continue
        regions, end = _region_run(words)
        if regions and end >= len(words):
            return _region_path(regions)
    return None


def _remove_bracketed(text: str) -> str:
    previous = None
    while previous != text:  # nested brackets go from the inside out
        previous = text
        text = _BRACKETED.sub(" ", text)
    return text


def _words(text: str) -> str:
    """Punctuation, symbols and whitespace become single spaces between words."""
    chars = [" " if unicodedata.category(char)[0] in "PSZC" else char for char in text]
    return " ".join("".join(chars).split())


def _strip_legal_forms(words: str) -> str:
    while True:
        stripped = _strip_one_legal_form(words)
        if stripped is None or not stripped:
            return words
        words = stripped


def _strip_one_legal_form(words: str) -> str | None:
    for form in CHINESE_LEGAL_FORMS:
        if words.endswith(form):
            return words[: -len(form)].rstrip()
    head, _space, last = words.rpartition(" ")
    if last in LATIN_LEGAL_FORMS:
        return head
    return None


def _match_region(words: str, position: int) -> tuple[int, bool] | None:
    """Length of the region written at ``position`` and whether it carried its marker."""
    for length in _REGION_LENGTHS:  # longest first: a dictionary probe per length, not per form
        text = words[position : position + length]
        marked = _MARKED_BY_FORM.get(text)
        if marked is None or len(text) < length:
            continue
        end = position + length
        if text.isascii() and end < len(words) and words[end] != " ":
            continue  # a pinyin region must be a whole word: "xiamenite" is not Xiamen
        return length, marked
    return None


def _region_run(words: str) -> tuple[list[tuple[int, bool, str]], int]:
    """The regions written one after another at the start of ``words``: (end, marked, what
    was written) each, and where the run ends."""
    cuts: list[tuple[int, bool, str]] = []
    position = 0
    while True:
        region = _match_region(words, position)
        if region is not None:
            length, marked = region
        elif cuts and (district := _DISTRICT.match(words, position)):
            length, marked = district.end() - position, True
        else:
            break
        written = words[position : position + length]
        position += length
        while position < len(words) and words[position] == " ":
            position += 1
        cuts.append((position, marked, written))
    return cuts, position


def _strip_region_prefix(words: str) -> tuple[str, str | None]:
    cuts, _end = _region_run(words)
    for index in range(len(cuts) - 1, -1, -1):
        cut, marked, _written = cuts[index]
        remainder = words[cut:]
        if _is_trade_name(remainder, marked):
            return remainder, _region_path(cuts[: index + 1])
    return words, None


def _is_trade_name(remainder: str, region_was_marked: bool) -> bool:
    compact = remainder.replace(" ", "")
    if len(compact) < (2 if region_was_marked else 3):
        return False
    return not _is_only_industry_words(compact)


def _industry_words_by_first_character() -> dict[str, tuple[str, ...]]:
    words: dict[str, list[str]] = {}
    for word in INDUSTRY_WORDS:
        words.setdefault(word[:1], []).append(word)
    return {first: tuple(sorted(group)) for first, group in words.items()}


_INDUSTRY_WORDS_BY_FIRST = _industry_words_by_first_character()  # only words that can start here


@lru_cache(maxsize=4096)
def _is_only_industry_words(compact: str) -> bool:
    if not compact:
        return True
    return any(
        compact.startswith(word) and _is_only_industry_words(compact[len(word) :])
        for word in _INDUSTRY_WORDS_BY_FIRST.get(compact[0], ())
    )


def _split_branch(folded: str) -> tuple[str, str | None]:
    """(head office part, branch part) of a name, or (name, None) if it is no branch."""
    bracketed = _TRAILING_BRACKETED.search(folded)
    if bracketed is not None:
        content = _words(bracketed.group(1))
        if _branch_marker_at_end(content) is not None:
            return folded[: bracketed.start()], content
    words = _words(_remove_bracketed(folded))
    marker = _branch_marker_at_end(words)
    if marker is None:
        return folded, None
    prefix = words[: -len(marker)].rstrip()
    legal_forms = list(_LEGAL_FORM_ANYWHERE.finditer(prefix))
    if legal_forms:
        cut = legal_forms[-1].end()
        return prefix[:cut], prefix[cut:] + marker
    for text, _bare, _marked in _REGION_FORMS:
        head = prefix[: -len(text)]
        if prefix.endswith(text) and head and (not text.isascii() or head.endswith(" ")):
            return head, text + marker
    return prefix, marker


def _branch_marker_at_end(words: str) -> str | None:
    for marker in BRANCH_MARKERS:
        if words.endswith(marker):
            return marker
    for marker in LATIN_BRANCH_MARKERS:
        if words == marker or words.endswith(" " + marker):
            return marker
    return None


def _branch_key(branch: str) -> str:
    words = _MARKED_REGION.sub(lambda match: _BARE_OF_MARKED[match.group(0)], _words(branch))
    return words.replace(" ", "")
