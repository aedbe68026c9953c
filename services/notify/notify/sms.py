"""SMS providers behind one small interface: ``send`` and ``find_sent``.

``ConsoleSms`` logs (the default in development); ``TwilioSms`` uses the real twilio SDK and can
be pointed at a local fake server with ``base_url``. Neither imports nameko: the service wraps
one of them in a DependencyProvider.

Exactly-once is the caller's job (Twilio has no idempotency key): record the intent (key, phone,
body, time), call ``send``; after a crash or an ``SmsTemporaryFailure`` call
``find_sent(key, to, since=intent time, body=body)`` before sending again.
"""

from __future__ import annotations

import logging
import threading
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

from notify.domain import SmsOutcome, as_utc, classify_provider_status

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


class BaseUrlHttpClient(TwilioHttpClient):
    """A TwilioHttpClient that sends every ``https://*.twilio.com`` request to ``base_url`` instead.

    The SDK has no base-URL setting; rewriting at the HTTP layer covers every resource, paging
    links and region/edge host names alike. Proxy variables from the environment are ignored,
    so traffic for a local fake never leaves the machine.
    """

    def __init__(self, base_url: str, timeout: float | None = None):
        super().__init__(timeout=timeout)
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
    keep open (as many as concurrent senders).
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
            BaseUrlHttpClient(base_url, timeout=timeout) if base_url else TwilioHttpClient(timeout=timeout)
        )
        if http_client.session is not None:
            # the SDK keeps cpu_count + 4 connections: more concurrent senders than that would
            # open (and TLS-handshake) a fresh connection for most messages
            for scheme in ("https://", "http://"):
                http_client.session.mount(scheme, HTTPAdapter(pool_maxsize=connections))
        self.client = Client(account_sid, auth_token, http_client=http_client)

    def _call(self, action: Callable[[], Any]) -> Any:
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
        user reads. Raises :class:`SmsRejected` for a 4xx answer (e.g. 21211 invalid number) and
        :class:`SmsTemporaryFailure` for 5xx, 429, timeouts and connection errors.
        """
        options: dict[str, Any] = {"to": to, "body": body}
        if self.from_number:
            options["from_"] = self.from_number
        if self.messaging_service_sid:
            options["messaging_service_sid"] = self.messaging_service_sid
        if self.status_callback:
            options["status_callback"] = self.status_callback
        message = self._call(lambda: self.client.messages.create(**options))
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
