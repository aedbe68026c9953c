"""notify's SMS rules: the text of a message (GSM-7 / UCS-2 segments, cutting without breaking a
character), what to do after an attempt (retry with backoff or give up), and how delivery
reports move a message on. Plain Python only."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

SMS_PREFIX = "【销售提醒】"
SMS_ELLIPSIS = "…"
SMS_TIME_FORMAT = "%m-%d %H:%M"


# --------------------------------------------------------------------------- SMS text

# GSM 03.38 default alphabet; the escape character itself is not something a user types
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# extension table characters cost two septets (escape + char)
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_CONCAT = 160, 153
UCS2_SINGLE, UCS2_CONCAT = 70, 67


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` fits the GSM-7 alphabet (with its extension table)."""
    return all(char in _GSM7_BASIC or char in _GSM7_EXTENSION for char in text)


def sms_segments(text: str) -> int:
    """Return how many SMS segments Twilio bills for ``text`` (0 for empty text).

    GSM-7: 160 septets alone, 153 per segment when concatenated; extension characters cost 2.
    Otherwise UCS-2: 70 UTF-16 units alone, 67 per segment; an emoji outside the BMP costs 2.
    A two-unit character is never split across segments.
    """
    if not text:
        return 0
    if is_gsm7(text):
        units = [2 if char in _GSM7_EXTENSION else 1 for char in text]
        single, concat = GSM7_SINGLE, GSM7_CONCAT
    else:
        units = [2 if ord(char) > 0xFFFF else 1 for char in text]
        single, concat = UCS2_SINGLE, UCS2_CONCAT
    if sum(units) <= single:
        return 1
    segments, used = 1, 0
    for unit in units:
        if used + unit > concat:
            segments, used = segments + 1, 0
        used += unit
    return segments


_ZWJ = "\u200d"
_KEYCAP = "\u20e3"


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _extends_previous(char: str) -> bool:
    """True for characters that belong to the character before them (marks, modifiers, joiners)."""
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or char in (_ZWJ, _KEYCAP)
        or 0xFE00 <= code <= 0xFE0F  # variation selectors (emoji presentation)
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF  # skin tones
        or 0xE0020 <= code <= 0xE007F  # tag sequences (subdivision flags)
    )


def is_cut_boundary(text: str, index: int) -> bool:
    """True when cutting ``text`` at ``index`` keeps every visible character whole.

    Python strings hold code points, so surrogate pairs are never split; this also keeps
    emoji sequences (ZWJ families, skin tones, flags, keycaps), combining marks and CRLF whole.
    """
    if index <= 0 or index >= len(text):
        return True
    before, after = text[index - 1], text[index]
    if before == "\r" and after == "\n":
        return False
    if before == _ZWJ or _extends_previous(after):
        return False
    if _is_regional_indicator(before) and _is_regional_indicator(after):
        run = 0
        while index - run - 1 >= 0 and _is_regional_indicator(text[index - run - 1]):
            run += 1
        # flags are pairs of regional indicators: an odd run means we are inside a flag
        return run % 2 == 0
    return True


def _longest_fitting_prefix(before: str, text: str, after: str, max_segments: int) -> str | None:
    """Longest cut of ``text`` at a safe boundary such that before+cut+after fits, or None."""

    def fits(length: int) -> bool:
        return sms_segments(before + text[:length] + after) <= max_segments

    if not fits(0):
        return None
    low, high = 0, len(text)
    while low < high:  # segment count only grows as text grows, so bisect
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    while low > 0 and not is_cut_boundary(text, low):
        low -= 1
    return text[:low].rstrip()


def compose_sms(
    title: str,
    due_at_local: datetime | None,
    content: str,
    max_segments: int = 3,
) -> str:
    """Return the Chinese SMS for a reminder: “【销售提醒】{title} {MM-DD HH:MM}：{content}”.

    ``due_at_local`` is shown as given (convert with :func:`to_local` first); None leaves the time
    out (manager notices). When the text would exceed ``max_segments`` segments, the content is
    cut at a character boundary (never inside an emoji) and ends with “…”; the prefix, title and
    time stay whole. Only when the title alone is too long is the title cut, and the content
    dropped. Raises ``ValueError`` when ``max_segments`` is below 1.
    """
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    title = " ".join(title.split())
    content = content.strip()
    when = f" {due_at_local.strftime(SMS_TIME_FORMAT)}" if due_at_local is not None else ""
    head = f"{SMS_PREFIX}{title}{when}"
    full = f"{head}：{content}" if content else head
    if sms_segments(full) <= max_segments:
        return full
    if content:
        kept = _longest_fitting_prefix(f"{head}：", content, SMS_ELLIPSIS, max_segments)
        if kept is not None:
            return f"{head}：{kept}{SMS_ELLIPSIS}"
    kept_title = _longest_fitting_prefix(SMS_PREFIX, title, SMS_ELLIPSIS + when, max_segments)
    if kept_title is None:  # only possible with absurdly small limits; the prefix must stay
        raise ValueError("max_segments too small for the SMS prefix and time")
    return f"{SMS_PREFIX}{kept_title}{SMS_ELLIPSIS}{when}"


def clip_text(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters at a character boundary (with an ellipsis)."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = limit
    while cut > 0 and not is_cut_boundary(text, cut):
        cut -= 1
    return text[:cut].rstrip() + SMS_ELLIPSIS


# --------------------------------------------------------------------------- SMS retry policy


class SmsOutcome(StrEnum):
    SENT = "sent"  # provider accepted the message
    REJECTED = "rejected"  # permanent: bad number, bad credentials; retrying cannot help
    TEMPORARY = "temporary"  # 5xx, rate limit, timeout, no connection: try again later


class SmsStep(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class SmsDecision:
    """What to do after one SMS attempt: record as sent, retry after ``delay`` seconds, or fail."""

    step: SmsStep
    delay: float | None = None
    permanent: bool = False


def backoff_delays(
    attempts: int = 4, base: float = 1.0, factor: float = 2.0, cap: float = 30.0
) -> list[float]:
    """Return the waits in seconds between ``attempts`` tries: attempts − 1 values, base·factorⁿ, capped.

    ``backoff_delays()`` is ``[1.0, 2.0, 4.0]``: try, wait 1 s, try, wait 2 s, try, wait 4 s, try.
    Raises ``ValueError`` for fewer than one attempt or negative numbers.
    """
    if attempts < 1 or base < 0 or factor < 1 or cap < 0:
        raise ValueError("attempts >= 1, base >= 0, factor >= 1 and cap >= 0 required")
    return [min(cap, base * factor**retry) for retry in range(attempts - 1)]


def classify_provider_status(http_status: int | None) -> SmsOutcome:
    """Classify a provider response; None means no response at all (timeout, connection error).

    2xx → sent; 408 and 429 (timeout, rate limit) → temporary; other 4xx → rejected for good
    (bad number); 5xx, no response and anything unexpected → temporary.
    """
    if http_status is None:
        return SmsOutcome.TEMPORARY
    if 200 <= http_status < 300:
        return SmsOutcome.SENT
    if http_status in (408, 429):
        return SmsOutcome.TEMPORARY
    if 400 <= http_status < 500:
        return SmsOutcome.REJECTED
    return SmsOutcome.TEMPORARY


def decide_after_attempt(outcome: SmsOutcome, attempt: int, delays: list[float]) -> SmsDecision:
    """Decide the next step after try number ``attempt`` (1-based) given ``delays`` from :func:`backoff_delays`.

    Sent → SENT. Rejected → FAILED (permanent, no retry). Temporary → RETRY with the next
    delay while one is left, then FAILED (not permanent: the provider might recover).
    Before retrying a temporary failure the caller reconciles with the provider
    (``find_sent``), since a timeout may hide an accepted message.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    if outcome == SmsOutcome.SENT:
        return SmsDecision(SmsStep.SENT)
    if outcome == SmsOutcome.REJECTED:
        return SmsDecision(SmsStep.FAILED, permanent=True)
    if attempt <= len(delays):
        return SmsDecision(SmsStep.RETRY, delay=delays[attempt - 1])
    return SmsDecision(SmsStep.FAILED)


# --------------------------------------------------------------------------- SMS delivery

# Twilio's message statuses in the order a message moves through them; callbacks may arrive
# out of order, and a late "sent" must not undo "delivered".
_DELIVERY_ORDER = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "read": 5,
}
DELIVERY_FAILURES = frozenset({"undelivered", "failed"})


def advance_delivery_status(current: str | None, reported: str) -> str:
    """Return the provider status to keep after a status callback reports ``reported``.

    A status only moves forward (queued → sent → delivered/undelivered/failed); an unknown
    status is kept as reported, since the provider knows more than we do.
    """
    reported = reported.strip().lower()
    if current is None or reported not in _DELIVERY_ORDER or current not in _DELIVERY_ORDER:
        return reported or (current or "")
    return reported if _DELIVERY_ORDER[reported] >= _DELIVERY_ORDER[current] else current


def sms_failed_notice(reminder_title: str | None, error: str | None) -> tuple[str, str]:
    """Return the Chinese (title, body) of the in-app notice that an SMS reminder did not go out."""
    why = f"（{clip_text(error, 80)}）" if error else ""
    if reminder_title:
        body = f"提醒「{clip_text(reminder_title, 60)}」的短信未能发送{why}，请直接在应用中处理该提醒。"
    else:
        body = f"一条短信通知未能发送{why}，请在应用中查看。"
    return "短信提醒发送失败", body
