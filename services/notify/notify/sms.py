"""SMS providers behind one small interface: ``send`` and ``find_sent``.

``ConsoleSms`` logs (the default in development); ``TwilioSms`` uses the real twilio SDK and can
be pointed at a local fake server with ``base_url``. Neither imports nameko: the service wraps
one of them in a DependencyProvider.

Exactly-once is the caller's job (Twilio has no idempotency key): record the intent (key, phone,
body, time), call ``send``; after a crash or an ``SmsTemporaryFailure`` call
``find_sent(key, to, since=intent time, body=body)`` before sending again.

``TwilioSms`` keeps one pooled HTTP session for every call, paces each sender to its
messages-per-second (``max_per_second``), and answers Twilio's 429 by pausing that sender and
trying the same message again: a 429 means Twilio created nothing, so the retry cannot be a
duplicate.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from notify.domain import as_utc
from notify.domain_sms import SmsOutcome, classify_provider_status

log = logging.getLogger(__name__)

# Twilio and our host disagree by a little; a message created this much before `since` still counts
RECONCILE_CLOCK_SKEW = timedelta(minutes=2)
RECONCILE_SCAN_LIMIT = 200


@dataclass(frozen=True)
class SmsResult:
    """What the provider says about one message: its id (Twilio ``SM…`` sid) and its status."""

    provider_id: str
    status: str


class SmsError(Exception):
    """The provider did not take the message."""

    def __init__(self, message: str, http_status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.code = code


class SmsRejected(SmsError):
    """Permanent: the provider refused the message (bad number, bad credentials); do not retry."""


class SmsTemporaryFailure(SmsError):
    """The provider failed or did not answer (5xx, rate limit, timeout); reconcile, then retry."""


class SmsProvider(Protocol):
    """The interface the notify service uses; both providers implement it."""

    def send(self, to: str, body: str, idempotency_key: str) -> SmsResult: ...

    def find_sent(self, idempotency_key: str, to: str, since: datetime, body: str) -> SmsResult | None: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- console


@dataclass(frozen=True)
class _ConsoleRecord:
    to: str
    body: str
    sent_at: datetime
    result: SmsResult


class ConsoleSms:
    """Development provider: logs each message and remembers it in memory (per process).

    Honours ``idempotency_key``: sending the same key twice logs once and returns the first result.
    """

    def __init__(self, clock: Callable[[], datetime] = _utcnow, logger: logging.Logger = log):
        self._clock = clock
        self._logger = logger
        self._lock = threading.Lock()
        self._sent: dict[str, _ConsoleRecord] = {}

    def send(self, to: str, body: str, idempotency_key: str) -> SmsResult:
        """Log the SMS and return ``SmsResult(provider_id="console-…", status="sent")``."""
        with self._lock:
            known = self._sent.get(idempotency_key)
            if known is not None:
                return known.result
            result = SmsResult(provider_id=f"console-{uuid.uuid4().hex}", status="sent")
            self._sent[idempotency_key] = _ConsoleRecord(to, body, as_utc(self._clock()), result)
        self._logger.info("SMS to %s [%s]: %s", to, idempotency_key, body)
        return result

    def find_sent(self, idempotency_key: str, to: str, since: datetime, body: str) -> SmsResult | None:
        """Return the result of an earlier send with this key to ``to`` at or after ``since``, else None.

        ``body`` is part of the shared interface (Twilio matches on it); the console matches on the key.
        """
        with self._lock:
            known = self._sent.get(idempotency_key)
        if known is None or known.to != to or known.sent_at < as_utc(since):
            return None
        return known.result

    @property
    def sent_count(self) -> int:
        """How many distinct messages were sent (for tests)."""
        with self._lock:
            return len(self._sent)


# --------------------------------------------------------------------------- Twilio


class RateLimited(Exception):
    """Twilio answered 429: it created nothing; ``retry_after`` is its Retry-After, if it sent one."""

    def __init__(self, retry_after: float | None):
        super().__init__(f"Twilio 429 (retry after {retry_after})")
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:  # an HTTP date: rare enough to use our own backoff instead
        return None


class PooledHttpClient(TwilioHttpClient):
    """The SDK's HTTP client with one pooled ``requests.Session`` for every call (``connections``
    kept open: as many as concurrent senders) and Twilio's 429 raised as :class:`RateLimited`.

    The SDK logs every request and response at INFO; that is most of its work per message, so
    its logger starts at WARNING (a logging config that names ``twilio.http_client`` wins).
    """

    def __init__(self, timeout: float | None = None, connections: int = 16):
        super().__init__(pool_connections=True, timeout=timeout)
        assert self.session is not None
        # the SDK keeps cpu_count + 4 connections: more concurrent senders than that would
        # open (and TLS-handshake) a fresh connection for most messages
        for scheme in ("https://", "http://"):
            self.session.mount(scheme, HTTPAdapter(pool_connections=1, pool_maxsize=connections))
        if self.logger.level == logging.NOTSET:
            self.logger.setLevel(logging.WARNING)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        response = super().request(method, url, *args, **kwargs)
        if response.status_code == 429:
            headers = response.headers or {}
            raise RateLimited(_retry_after(headers.get("Retry-After")))
        return response


class BaseUrlHttpClient(PooledHttpClient):
    """A PooledHttpClient that sends every ``https://*.twilio.com`` request to ``base_url`` instead.

    The SDK has no base-URL setting; rewriting at the HTTP layer covers every resource, paging
    links and region/edge host names alike. Proxy variables from the environment are ignored,
    so traffic for a local fake never leaves the machine.
    """

    def __init__(self, base_url: str, timeout: float | None = None, connections: int = 16):
        super().__init__(timeout=timeout, connections=connections)
        parts = urlsplit(base_url)
        if not parts.scheme or not parts.netloc:
            raise ValueError(f"base_url needs a scheme and host: {base_url!r}")
        self.base_scheme, self.base_netloc = parts.scheme, parts.netloc
        self.base_path = parts.path.rstrip("/")
        if self.session is not None:
            self.session.trust_env = False

    def rewrite(self, url: str) -> str:
        """Return ``url`` with a Twilio host replaced by the base URL; other URLs unchanged."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        if host != "twilio.com" and not host.endswith(".twilio.com"):
            return url
        return urlunsplit((self.base_scheme, self.base_netloc, self.base_path + parts.path, parts.query, ""))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        return super().request(method, self.rewrite(url), *args, **kwargs)


class SendRate:
    """One sender's pace: messages at least ``1 / max_per_second`` apart (None: no pace of our
    own), and every message held back while the sender is paused after a 429.

    Greenthread-safe (the lock is never held while sleeping). ``clock`` and ``sleep`` are
    injectable for tests.
    """

    def __init__(
        self,
        max_per_second: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
    ):
        if max_per_second is not None and max_per_second <= 0:
            raise ValueError("max_per_second must be positive (or None for no limit)")
        self.max_per_second = max_per_second
        self.interval = 1.0 / max_per_second if max_per_second else 0.0
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._next = 0.0
        self._paused_until = 0.0

    def wait_turn(self, deadline: float | None = None) -> bool:
        """Wait until this sender may send one message, and take that turn; False (no turn
        taken) when the turn would come after ``deadline`` (a ``clock`` time).

        Each caller books the next free turn and sleeps once until it comes: one wake-up per
        message however many senders queue. A pause that begins meanwhile books again."""
        while True:
            with self._lock:
                now = self._clock()
                turn = max(now, self._next, self._paused_until)
                if deadline is not None and turn > deadline:
                    return False
                self._next = turn + self.interval
            if turn > now:
                self._sleep(turn - now)
            if self._paused_until <= turn:
                return True

    def pause(self, seconds: float) -> None:
        """Hold every message of this sender back for ``seconds`` (Twilio said 429)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)


def _rest_error(error: TwilioRestException) -> SmsError:
    outcome = classify_provider_status(error.status)
    kind = SmsRejected if outcome == SmsOutcome.REJECTED else SmsTemporaryFailure
    code = error.code if isinstance(error.code, int) else None
    return kind(f"Twilio {error.status}: {error.msg}", http_status=error.status, code=code)


def _sdk_error(error: TwilioException) -> SmsError:
    # Page.process_response raises a bare TwilioException("Unable to fetch page", response)
    response = error.args[1] if len(error.args) > 1 else None
    status = getattr(response, "status_code", None)
    kind = SmsRejected if classify_provider_status(status) == SmsOutcome.REJECTED else SmsTemporaryFailure
    what = error.args[0] if error.args else error
    return kind(f"Twilio {status}: {what}" if status else f"Twilio error: {what}", http_status=status)


def _same_body(sent: str | None, wanted: str) -> bool:
    if sent is None:
        return False
    return sent.replace("\r\n", "\n").strip() == wanted.replace("\r\n", "\n").strip()


class TwilioSms:
    """SMS through the real Twilio SDK (``twilio.rest.Client``).

    Send from ``from_number`` or through ``messaging_service_sid`` (one is required).
    ``base_url`` (e.g. ``http://127.0.0.1:8099``) replaces ``https://api.twilio.com`` for tests;
    ``timeout`` bounds each HTTP request in seconds. ``status_callback`` is passed to Twilio
    as the StatusCallback URL of every message. ``connections``: how many HTTP connections to
    keep open (as many as concurrent senders). ``max_per_second``: the sender's
    messages-per-second at Twilio (None: no pace of our own). A 429 pauses the sender for
    Twilio's Retry-After (else ``rate_limit_backoff`` doubling per try, at most
    ``rate_limit_cap``) and tries again, up to ``rate_limit_retries`` times; ``max_wait`` bounds
    how long one send may wait for its turn in all (keep it well inside the send's lease).
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        base_url: str | None = None,
        timeout: float = 5,
        status_callback: str | None = None,
        connections: int = 16,
        max_per_second: float | None = None,
        rate_limit_retries: int = 4,
        rate_limit_backoff: float = 1.0,
        rate_limit_cap: float = 10.0,
        max_wait: float = 20.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
    ):
        if not account_sid or not auth_token:
            raise ValueError("Twilio needs an account SID and an auth token")
        if not from_number and not messaging_service_sid:
            raise ValueError("Twilio needs a sender number or a messaging service SID")
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.status_callback = status_callback
        self._validator = RequestValidator(auth_token)
        http_client = (
            BaseUrlHttpClient(base_url, timeout=timeout, connections=connections)
            if base_url
            else PooledHttpClient(timeout=timeout, connections=connections)
        )
        self.client = Client(account_sid, auth_token, http_client=http_client)
        self.rate = SendRate(max_per_second, clock=clock, sleep=sleep)
        self.rate_limit_retries = rate_limit_retries
        self.rate_limit_backoff = rate_limit_backoff
        self.rate_limit_cap = rate_limit_cap
        self.max_wait = max_wait
        self._clock, self._sleep = clock, sleep
        self.rate_limited = 0  # 429s answered so far (for the logs and tests)

    def _call(self, action: Callable[[], Any], paced: bool = False) -> Any:
        """``action()`` with Twilio's errors as SmsError; ``paced``: one message of this sender,
        sent in its turn. Either way a 429 pauses the sender and the action is tried again."""
        deadline = self._clock() + self.max_wait
        for attempt in range(self.rate_limit_retries + 1):
            if paced and not self.rate.wait_turn(deadline):
                raise SmsTemporaryFailure("the sender's rate limit leaves no turn in time", http_status=429)
            try:
                return self._translated(action)
            except RateLimited as limited:
                self.rate_limited += 1
                delay = limited.retry_after
                if delay is None:
                    delay = self.rate_limit_backoff * 2**attempt
                delay = min(delay, self.rate_limit_cap)
                log.warning("Twilio answered 429: the sender waits %.2fs (try %d)", delay, attempt + 1)
                self.rate.pause(delay)
                if not paced:  # a read: no turn of the sender to take, only the pause to sit out
                    if self._clock() + delay > deadline:
                        break
                    self._sleep(delay)
        raise SmsTemporaryFailure("Twilio 429: too many requests, still after backing off", 429, 20429)

    def _translated(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except TwilioRestException as error:
            raise _rest_error(error) from error
        except TwilioException as error:
            raise _sdk_error(error) from error
        except requests.Timeout as error:
            # the request may have reached Twilio: the caller must reconcile before retrying
            raise SmsTemporaryFailure(f"Twilio did not answer in time: {error}") from error
        except requests.RequestException as error:
            raise SmsTemporaryFailure(f"Twilio unreachable: {error}") from error

    def send(self, to: str, body: str, idempotency_key: str) -> SmsResult:
        """Create a Twilio message to ``to`` (E.164) and return its sid and status ("queued").

        ``idempotency_key`` is only logged: Twilio has none, and the body stays exactly what the
        user reads. Waits for the sender's turn; a 429 is tried again after the pause it asks.
        Raises :class:`SmsRejected` for a 4xx answer (e.g. 21211 invalid number) and
        :class:`SmsTemporaryFailure` for 5xx, timeouts, connection errors, and 429s or waits
        that outlast ``max_wait`` (Twilio created nothing then).
        """
        options: dict[str, Any] = {"to": to, "body": body}
        if self.from_number:
            options["from_"] = self.from_number
        if self.messaging_service_sid:
            options["messaging_service_sid"] = self.messaging_service_sid
        if self.status_callback:
            options["status_callback"] = self.status_callback
        message = self._call(lambda: self.client.messages.create(**options), paced=True)
        log.info("Twilio accepted %s for %s as %s", idempotency_key, to, message.sid)
        return SmsResult(provider_id=message.sid, status=str(message.status))

    def find_sent(self, idempotency_key: str, to: str, since: datetime, body: str) -> SmsResult | None:
        """Return the message Twilio already accepted for this send, or None; call it before a re-send.

        Twilio knows no idempotency key, so the match is on content. Matching rule: a message of
        this account to exactly ``to`` whose body equals ``body`` (line endings and outer
        whitespace ignored), created by Twilio no earlier than ``since`` minus two minutes of
        clock skew. The oldest match wins and its current status is returned, whatever it is
        (queued, sent, delivered, undelivered…). Two lookups, at most 200 messages each: those
        sent (``DateSent>``) since then, and the newest to ``to``, because Twilio fills
        ``date_sent`` only once a message has left its queue. Two reminders with the same title,
        time and content to the same phone would be taken for one: the same words, sent once.
        Raises :class:`SmsRejected` / :class:`SmsTemporaryFailure` like :meth:`send`.
        """
        earliest = as_utc(since) - RECONCILE_CLOCK_SKEW

        def matching_messages() -> list[Any]:
            sent = self.client.messages.list(to=to, date_sent_after=earliest, limit=RECONCILE_SCAN_LIMIT)
            recent = self.client.messages.list(to=to, limit=RECONCILE_SCAN_LIMIT)
            found = {}
            for message in [*sent, *recent]:
                created = message.date_created or message.date_sent
                if (
                    message.to == to
                    and _same_body(message.body, body)
                    and created is not None
                    and as_utc(created) >= earliest
                ):
                    found[message.sid] = (as_utc(created), message)
            return [message for _, message in sorted(found.values(), key=lambda pair: pair[0])]

        candidates = self._call(matching_messages)
        if not candidates:
            return None
        log.info("Twilio already has %s for %s as %s", idempotency_key, to, candidates[0].sid)
        return SmsResult(provider_id=candidates[0].sid, status=str(candidates[0].status))

    def validate_signature(self, url: str, params: Mapping[str, Any], signature: str | None) -> bool:
        """True when ``signature`` (the X-Twilio-Signature header) signs ``url`` and ``params``.

        ``url`` is the full public URL Twilio called (with query string); ``params`` the POSTed form.
        """
        return validate_twilio_signature(self._validator, url, params, signature)


def validate_twilio_signature(
    auth_token: str | RequestValidator,
    url: str,
    params: Mapping[str, Any],
    signature: str | None,
) -> bool:
    """True when ``signature`` is Twilio's HMAC of ``url`` and ``params`` under ``auth_token``.

    For the gateway's status-callback route, which needs no Twilio client. A missing signature
    is simply invalid.
    """
    if not signature:
        return False
    validator = auth_token if isinstance(auth_token, RequestValidator) else RequestValidator(auth_token)
    return bool(validator.validate(url, dict(params), signature))
