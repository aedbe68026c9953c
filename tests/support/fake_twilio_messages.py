"""What the fake Twilio remembers and how it renders it: the accepted messages, the failure modes,
Twilio's error bodies and its request signature. The server around them: ``fake_twilio``; its HTTP
routes: ``fake_twilio_http``."""

from __future__ import annotations

import base64
import hmac
import re
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any

API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "AC" + "0" * 31 + "1"
DEFAULT_AUTH_TOKEN = "fake-twilio-auth-token"
MODES = ("ok", "timeout", "accept_then_timeout")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")

ERRORS = {
    400: (21211, "The 'To' number is not a valid phone number."),
    401: (20003, "Authenticate"),
    404: (20404, "The requested resource was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}


def _rfc2822(moment: datetime | None) -> str | None:
    return format_datetime(moment, usegmt=True) if moment else None


def _segments(body: str) -> int:
    # rough count for num_segments; the real rules live in notify.domain_sms.sms_segments
    ucs2 = any(ord(char) > 0x7F for char in body)
    single, concat = (70, 67) if ucs2 else (160, 153)
    return 1 if len(body) <= single else -(-len(body) // concat)


@dataclass
class FakeMessage:
    """One message the fake accepted."""

    sid: str
    account_sid: str
    to: str
    from_: str | None
    body: str
    messaging_service_sid: str | None
    status_callback: str | None
    date_created: datetime
    status: str = "queued"
    date_sent: datetime | None = None
    # when the fake took it, to the microsecond (Twilio's dates have whole seconds): for benchmarks
    accepted_at: float = field(default_factory=time.time)

    def as_twilio_json(self) -> dict[str, Any]:
        """The message as Twilio's API renders it."""
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": _rfc2822(self.date_created),
            "date_sent": _rfc2822(self.date_sent),
            "date_updated": _rfc2822(self.date_sent or self.date_created),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(_segments(self.body)),
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": self.to,
            "uri": uri,
        }


@dataclass
class FakeTwilioState:
    """Everything the fake remembers; guarded by ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    messages: list[FakeMessage] = field(default_factory=list)
    mode: str = "ok"
    next_modes: deque[str] = field(default_factory=deque)
    requests_by_mode: Counter[str] = field(default_factory=Counter)
    recent_by_sender: dict[str, deque[float]] = field(default_factory=dict)
    rate_limited: int = 0
    connections: int = 0


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's X-Twilio-Signature: base64 HMAC-SHA1 of the URL followed by the sorted params."""
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), "sha1").digest()
    return base64.b64encode(digest).decode()


def check_mode(mode: str) -> None:
    if mode in MODES:
        return
    match = re.fullmatch(r"error_(\d{3})", mode)
    if not match or not 400 <= int(match.group(1)) <= 599:
        raise ValueError(f"unknown mode {mode!r}")


def error_body(status: int, code: int | None = None, message: str | None = None) -> dict[str, Any]:
    known_code, known_message = ERRORS.get(status, (20000 + status, "Error"))
    code = code or known_code
    return {
        "code": code,
        "message": message or known_message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
