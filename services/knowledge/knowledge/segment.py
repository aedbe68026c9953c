"""Text side of knowledge search: terms for the full-text index, query terms, highlights.

One pipeline serves both the index and the query, so whatever the user types is cut
exactly the way the stored text was cut:

1. NFKC, casefold, Latin diacritics removed (全角 ＡＢＣ → abc, café → cafe).
2. Runs of letters/digits are kept; everything else (spaces, punctuation, symbols) is
   a separator. Inside a run, Chinese characters go to jieba, other scripts stay whole.
3. Chinese: jieba search mode (``cut_for_search``) with the sales dictionary, so the
   compound 阶梯报价 yields 阶梯, 报价 and 阶梯报价. jieba's HMM guesser is off: an
   unknown word (a company, a nickname) is cut into the same dictionary pieces or
   single characters in a document and in a query, whatever surrounds it.
4. English: single letters dropped; Harman's "S" stemmer (plurals only:
   prices → price, companies → company), applied to index and query alike.
5. Stopwords (:data:`STOPWORDS`) dropped; terms longer than :data:`MAX_TERM_LENGTH` dropped.

Every term is a run of letters/digits, so it is one token for PostgreSQL
``to_tsvector('simple', …)`` and for SQLite FTS5's ``unicode61`` tokenizer alike.

Match rule (the service's contract): an entry matches a query when it has at least one
of the query terms (OR), and is ranked by how many distinct query terms it has, useful
votes breaking ties — see :func:`knowledge.domain.relevance` and
:func:`knowledge.domain.rank`.
"""

from __future__ import annotations

import html
import logging
import os
import re
import tempfile
import threading
import time
import unicodedata
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

with warnings.catch_warnings():
    # jieba 0.42 imports the deprecated pkg_resources and would warn in every process
    warnings.simplefilter("ignore")
    import jieba

SALES_TERMS_PATH = Path(__file__).with_name("sales_terms.txt")
CACHE_DIR_ENV = "KNOWLEDGE_JIEBA_CACHE_DIR"
MAX_TERM_LENGTH = 64
ELLIPSIS = "…"

_STOPWORD_TEXT = """
    的 地 得 了 着 过 和 与 及 以及 或 或者 还是 是 就 都 而 而且 并 并且 也 又 还 但 但是
    在 把 被 给 从 对 向 于 为 以 之 其 该 此 等 等等 啊 吗 呢 吧 呀 哦 嗯 哈 么 嘛
    我 你 您 他 她 它 我们 你们 他们 她们 它们 咱们 自己 这 那 这个 那个 这些 那些 这样 那样
    一个 一些 一下 一直 一样 有 没 没有 不 很 太 非常 比较 已经 所有 所以 因为 如果 虽然 然后
    怎么 怎么办 怎样 如何 什么 为什么 哪 哪些 哪里 谁 可以 可能 会 要 能 应该 关于 对于 通过 根据
    a an the and or but if of to in on at for with by from as is are was were be been
    being it its this that these those i you he she we they me my our your their them
    his her do does did not no so than then there here what which who whom how why when
    where can could will would should shall may might must have has had about into over
    under up down out just very too also only all any some such own same other more most
    each both few
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())

# jieba only knows U+4E00–U+9FD5; the wider CJK blocks still belong to the Chinese run
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_LETTERS_AND_DIGITS = re.compile(r"[^\W_]+")
_SCRIPT_RUN = re.compile(f"[{_CJK}]+|[^{_CJK}]+")
_CJK_CHAR = re.compile(f"[{_CJK}]")
_ASCII_WORD = re.compile(r"[a-z0-9]+")
_SPACES = re.compile(r"\s+")

_default: Segmenter | None = None
_default_lock = threading.Lock()


def default_segmenter() -> Segmenter:
    """The process-wide :class:`Segmenter`, built on first use (0.5–2 s, see ``load_seconds``).

    Services call this once at startup so no request pays jieba's initialisation.
    """
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Segmenter()
    return _default


class Segmenter:
    """jieba with the sales dictionary, wrapped for indexing, querying and highlighting.

    Holds its own ``jieba.Tokenizer`` (the global one is left alone). jieba's prefix
    dictionary is cached in ``cache_dir`` (default: ``$KNOWLEDGE_JIEBA_CACHE_DIR`` or
    ``<tmp>/crm-knowledge-jieba``), so later processes load it from the cache.
    Safe to share between threads/greenlets once built.
    """

    def __init__(
        self,
        user_dictionary: Path = SALES_TERMS_PATH,
        cache_dir: Path | None = None,
    ) -> None:
        started = time.perf_counter()
        jieba.setLogLevel(logging.WARNING)  # jieba logs every dictionary load to stderr
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.tmp_dir = str(_writable_cache_dir(cache_dir))
        self._tokenizer.initialize()
        self._tokenizer.load_userdict(str(user_dictionary))
        self.load_seconds = time.perf_counter() - started

    def index_terms(self, text: str) -> str:
        """The space-joined terms of ``text`` for the full-text index column.

        Repeated words repeat (term frequency is kept for ranking); "" for a text
        with no terms.
        """
        return " ".join(self._terms(text))

    def query_terms(self, q: str) -> list[str]:
        """The distinct terms of a user query, in the order typed; [] if none remain."""
        return list(dict.fromkeys(self._terms(q)))

    def highlight(self, text: str, terms: Iterable[str], max_len: int = 120) -> str:
        """An HTML snippet of ``text`` around the first hit, hits in ``<mark>…</mark>``.

        ``terms`` are query terms (from :meth:`query_terms`). Whitespace is collapsed,
        everything outside the marks is HTML-escaped, and the visible text including
        the ``…`` at a cut end is at most ``max_len`` characters. Without a hit you get
        the beginning of the text. Raises ``ValueError`` if ``max_len`` < 3.
        """
        if max_len < 3:
            raise ValueError("max_len must be at least 3")
        text = _SPACES.sub(" ", text).strip()
        hits = _hit_spans(text, set(terms))
        start, end = _window(len(text), hits[0][0] if hits else 0, max_len)
        parts = [ELLIPSIS] if start > 0 else []
        cursor = start
        for hit_start, hit_end in hits:
            hit_start, hit_end = max(hit_start, cursor), min(hit_end, end)
            if hit_start >= hit_end:
                continue
            parts.append(html.escape(text[cursor:hit_start]))
            parts.append(f"<mark>{html.escape(text[hit_start:hit_end])}</mark>")
            cursor = hit_end
        parts.append(html.escape(text[cursor:end]))
        if end < len(text):
            parts.append(ELLIPSIS)
        return "".join(parts)

    def _terms(self, text: str) -> Iterator[str]:
        for run in _LETTERS_AND_DIGITS.findall(fold(text)):
            for script_run in _SCRIPT_RUN.findall(run):
                if _is_cjk(script_run[0]):
                    words = self._tokenizer.cut_for_search(script_run, HMM=False)
                else:
                    words = [_english_term(script_run)]
                for word in words:
                    if word and word not in STOPWORDS and len(word) <= MAX_TERM_LENGTH:
                        yield word


def fold(text: str) -> str:
    """NFKC, casefold and Latin diacritics removed: the form every term is compared in."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    if folded.isascii():
        return folded
    return "".join(_strip_latin_diacritic(char) for char in folded)


def stem(word: str) -> str:
    """Harman's S-stemmer for English plurals; words of three letters or less unchanged."""
    if len(word) <= 3 or not word.isascii():
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if word.endswith("s") and not word.endswith(("us", "ss", "is")):
        return word[:-1]
    return word


def _english_term(word: str) -> str:
    if word in STOPWORDS:
        return ""
    if word.isascii() and word.isalpha():
        return "" if len(word) == 1 else stem(word)
    return word


def _is_cjk(char: str) -> bool:
    return _CJK_CHAR.match(char) is not None


def _strip_latin_diacritic(char: str) -> str:
    decomposed = unicodedata.normalize("NFD", char)
    if len(decomposed) > 1 and decomposed[0].isascii():
        return decomposed[0]
    return char


def _hit_spans(text: str, terms: set[str]) -> list[tuple[int, int]]:
    """Merged (start, end) spans of ``text`` where a term occurs, in text order."""
    if not terms:
        return []
    folded_chars: list[str] = []
    origin: list[int] = []  # folded position → position in text
    for position, char in enumerate(text):
        for folded_char in fold(char):
            folded_chars.append(folded_char)
            origin.append(position)
    folded = "".join(folded_chars)

    spans: list[tuple[int, int]] = []
    # English terms match whole words (stemmed), so "act" does not light up "contract"
    for word in _ASCII_WORD.finditer(folded):
        if word.group() in terms or stem(word.group()) in terms:
            spans.append((word.start(), word.end()))
    # Chinese has no word boundaries: 报价 lights up inside 阶梯报价
    for term in terms:
        if term.isascii():
            continue
        found = folded.find(term)
        while found != -1:
            spans.append((found, found + len(term)))
            found = folded.find(term, found + 1)

    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return [(origin[start], origin[end - 1] + 1) for start, end in merged]


def _window(length: int, first_hit: int, max_len: int) -> tuple[int, int]:
    """Start and end of the visible text, leaving room for the ``…`` at a cut end."""
    if length <= max_len:
        return 0, length
    start = max(0, min(first_hit - max_len // 4, length - max_len))
    end = start + max_len
    if start > 0:
        start += 1
    if end < length:
        end -= 1
    return start, max(start, end)


def _writable_cache_dir(cache_dir: Path | None) -> Path:
    wanted = cache_dir or Path(
        os.environ.get(CACHE_DIR_ENV) or Path(tempfile.gettempdir()) / "crm-knowledge-jieba"
    )
    try:
        wanted.mkdir(parents=True, exist_ok=True)
        if os.access(wanted, os.W_OK):
            return wanted
    except OSError:
        pass
    # a read-only or foreign-owned directory must not stop the service from starting
    return Path(tempfile.mkdtemp(prefix="crm-knowledge-jieba-"))
