"""A local fake of Twilio's Messages API, enough for the real twilio SDK, bound to 127.0.0.1.

    with FakeTwilio() as fake:
        sms = TwilioSms(fake.account_sid, fake.auth_token, from_number="+15005550006",
                        base_url=fake.base_url, timeout=1)
        fake.fail_next("error_500")          # the next API request answers 500
        fake.mode = "timeout"                # every request stalls until changed back to "ok"

Modes: ``ok``, ``error_400`` (Twilio 21211 invalid 'To'), ``error_<status>`` (any 4xx/5xx),
``timeout`` (stall ``stall_seconds``, nothing recorded) and ``accept_then_timeout`` (record the
message, then stall: the crash window that reconciliation must cover).

Every accepted message is recorded (thread-safe) so tests and the benchmark can count duplicates.
Test-only control routes without auth: ``GET /_fake/messages``, ``GET /_fake/stats``,
``POST /_fake/mode`` (JSON ``{"mode": "...", "times": n}``; without times: global), ``POST /_fake/reset``.

Command line (from the repo root): ``python -m tests.support.fake_twilio --port 8099`` prints the
base URL and credentials.
"""

from __future__ import annotations

import argparse
import base64
import hmac
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "AC" + "0" * 31 + "1"
DEFAULT_AUTH_TOKEN = "fake-twilio-auth-token"
MODES = ("ok", "timeout", "accept_then_timeout")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_MESSAGES = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages\.json$")
_MESSAGE = re.compile(
    rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>SM[0-9a-f]{{32}})\.json$"
)

_ERRORS = {
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
    # rough count for num_segments; the real rules live in notify.domain.sms_segments
    ucs2 = any(ord(char) > 0x7F for char in body)
    single, concat = (70, 67) if ucs2 else (160, 153)
    return 1 if len(body) <= single else -(-len(body) // concat)


def _parse_filter_date(value: str) -> datetime | None:
    value = value.strip()
    for parse in (
        lambda text: datetime.fromisoformat(text.replace("Z", "+00:00")),
        lambda text: datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC),
    ):
        try:
            moment = parse(value)
        except ValueError:
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


class _Server(ThreadingHTTPServer):
    # the default backlog of 5 drops connections when a sender pool opens dozens at once
    request_queue_size = 256


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


class FakeTwilio:
    """The fake server; a context manager that starts it on 127.0.0.1 (port 0 = any free port).

    ``deliver_on_read``: when True (default) a message reads back as ``sent`` with a ``date_sent``
    once created, as if the carrier took it at once; False keeps it ``queued`` without date_sent.
    """

    def __init__(
        self,
        port: int = 0,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        stall_seconds: float = 10.0,
        page_size: int = 50,
        deliver_on_read: bool = True,
    ):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.stall_seconds = stall_seconds
        self.default_page_size = page_size
        self.deliver_on_read = deliver_on_read
        self.state = FakeTwilioState()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeTwilio:
        """Serve in a background thread; returns self."""
        # a short poll keeps stop() (and every test teardown) quick
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-twilio", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; stalled requests are released at once."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- behaviour switches

    @property
    def mode(self) -> str:
        with self.state.lock:
            return self.state.mode

    @mode.setter
    def mode(self, mode: str) -> None:
        _check_mode(mode)
        with self.state.lock:
            self.state.mode = mode

    def fail_next(self, mode: str, times: int = 1) -> None:
        """Answer the next ``times`` API requests in ``mode`` (then back to the global mode)."""
        _check_mode(mode)
        with self.state.lock:
            self.state.next_modes.extend([mode] * times)

    def take_mode(self) -> str:
        with self.state.lock:
            mode = self.state.next_modes.popleft() if self.state.next_modes else self.state.mode
            self.state.requests_by_mode[mode] += 1
            return mode

    def stall(self) -> None:
        self._stopping.wait(self.stall_seconds)

    # -- what was accepted

    @property
    def messages(self) -> list[FakeMessage]:
        """A copy of every accepted message, oldest first."""
        with self.state.lock:
            return list(self.state.messages)

    def duplicates(self) -> dict[tuple[str, str], int]:
        """(to, body) pairs accepted more than once, with how many times."""
        counts = Counter((message.to, message.body) for message in self.messages)
        return {key: count for key, count in counts.items() if count > 1}

    def stats(self) -> dict[str, Any]:
        """Counts for a benchmark report: accepted, duplicate extras, requests per mode."""
        duplicates = self.duplicates()
        with self.state.lock:
            by_mode = dict(self.state.requests_by_mode)
            accepted = len(self.state.messages)
        return {
            "accepted": accepted,
            "duplicate_messages": sum(count - 1 for count in duplicates.values()),
            "requests_by_mode": by_mode,
        }

    def reset(self) -> None:
        """Forget messages and modes."""
        with self.state.lock:
            self.state.messages.clear()
            self.state.next_modes.clear()
            self.state.requests_by_mode.clear()
            self.state.mode = "ok"

    def accept(self, form: dict[str, str]) -> FakeMessage:
        message = FakeMessage(
            sid="SM" + secrets.token_hex(16),
            account_sid=self.account_sid,
            to=form["To"],
            from_=form.get("From"),
            body=form.get("Body", ""),
            messaging_service_sid=form.get("MessagingServiceSid"),
            status_callback=form.get("StatusCallback"),
            date_created=datetime.now(UTC).replace(microsecond=0),
        )
        with self.state.lock:
            self.state.messages.append(message)
        return message

    def read_back(self, message: FakeMessage) -> dict[str, Any]:
        with self.state.lock:
            if self.deliver_on_read and message.status == "queued":
                message.status, message.date_sent = "sent", message.date_created
            return message.as_twilio_json()

    def find(self, sid: str) -> FakeMessage | None:
        with self.state.lock:
            return next((message for message in self.state.messages if message.sid == sid), None)

    # -- status callbacks

    def send_status_callback(self, sid: str, status: str = "delivered") -> int:
        """POST a Twilio-signed status callback for message ``sid``; return the HTTP status.

        Only to loopback URLs: the fake never talks to the outside world.
        """
        message = self.find(sid)
        if message is None or not message.status_callback:
            raise LookupError(f"no message {sid} with a StatusCallback")
        host = urlsplit(message.status_callback).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"refusing a non-local status callback: {message.status_callback}")
        with self.state.lock:
            message.status = status
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "From": message.from_ or "",
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": message.to,
        }
        signature = sign(self.auth_token, message.status_callback, params)
        request = urllib.request.Request(
            message.status_callback,
            data=urlencode(params).encode(),
            headers={
                "X-Twilio-Signature": signature,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            method="POST",
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's X-Twilio-Signature: base64 HMAC-SHA1 of the URL followed by the sorted params."""
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), "sha1").digest()
    return base64.b64encode(digest).decode()


def _check_mode(mode: str) -> None:
    if mode in MODES:
        return
    match = re.fullmatch(r"error_(\d{3})", mode)
    if not match or not 400 <= int(match.group(1)) <= 599:
        raise ValueError(f"unknown mode {mode!r}")


def _error_body(status: int, code: int | None = None, message: str | None = None) -> dict[str, Any]:
    known_code, known_message = _ERRORS.get(status, (20000 + status, "Error"))
    code = code or known_code
    return {
        "code": code,
        "message": message or known_message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _handler_for(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeTwilio/1.0"
        # headers and body go out as two writes: with Nagle on, the client's delayed ACK
        # would add ~40 ms to every answer, which the real Twilio does not
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet in test output

        # -- plumbing

        def _reply(self, status: int, payload: object) -> None:
            body = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout mode)

        def _form(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            if self.headers.get("Content-Type", "").startswith("application/json"):
                return {key: str(value) for key, value in (json.loads(raw or "{}")).items()}
            return {key: values[-1] for key, values in parse_qs(raw, keep_blank_values=True).items()}

        def _authorised(self, account: str) -> bool:
            header = self.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                self._reply(401, _error_body(401))
                return False
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                user, password = "", ""
            if not (
                hmac.compare_digest(user, fake.account_sid) and hmac.compare_digest(password, fake.auth_token)
            ):
                self._reply(401, _error_body(401))
                return False
            if account != fake.account_sid:
                self._reply(404, _error_body(404))
                return False
            return True

        def _misbehave(self, mode: str) -> bool:
            """Apply a failure mode; True when the request is answered (or abandoned) already."""
            if mode == "timeout":
                fake.stall()
                self.close_connection = True
                return True
            if mode.startswith("error_"):
                self._reply(int(mode[6:]), _error_body(int(mode[6:])))
                return True
            return False

        # -- routes

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            if path.startswith("/_fake/"):
                self._control(path, self._form())
                return
            match = _MESSAGES.match(path)
            form = self._form()
            if not match:
                self._reply(404, _error_body(404))
                return
            if not self._authorised(match["account"]):
                return
            mode = fake.take_mode()
            if self._misbehave(mode):
                return
            problem = self._invalid(form)
            if problem:
                self._reply(400, _error_body(400, *problem))
                return
            message = fake.accept(form)
            if mode == "accept_then_timeout":
                fake.stall()
                self.close_connection = True
                return
            self._reply(201, message.as_twilio_json())

        def _invalid(self, form: dict[str, str]) -> tuple[int, str] | None:
            if not E164.match(form.get("To", "")):
                return 21211, f"The 'To' number {form.get('To', '')} is not a valid phone number."
            if not form.get("From") and not form.get("MessagingServiceSid"):
                return 21603, "A 'From' or 'MessagingServiceSid' parameter is required."
            if not form.get("Body"):
                return 21602, "Message body is required."
            return None

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path.startswith("/_fake/"):
                self._control(parts.path, {})
                return
            single, collection = _MESSAGE.match(parts.path), _MESSAGES.match(parts.path)
            match = single or collection
            if not match:
                self._reply(404, _error_body(404))
                return
            if not self._authorised(match["account"]) or self._misbehave(fake.take_mode()):
                return
            if single:
                message = fake.find(single["sid"])
                if message is None:
                    self._reply(404, _error_body(404))
                else:
                    self._reply(200, fake.read_back(message))
                return
            self._list(parts.path, {key: values[-1] for key, values in parse_qs(parts.query).items()})

        def _list(self, path: str, query: dict[str, str]) -> None:
            page_size = max(1, min(1000, int(query.get("PageSize", fake.default_page_size))))
            page = max(0, int(query.get("Page", 0)))
            messages = reversed(fake.messages)  # newest first
            if "To" in query:  # filtered before rendering: a benchmark holds tens of thousands
                messages = (message for message in messages if message.to == query["To"])
            rows = [fake.read_back(message) for message in messages]
            if "From" in query:
                rows = [row for row in rows if row["from"] == query["From"]]
            for key, keep in (
                ("DateSent", lambda sent, bound: sent.date() == bound.date()),
                ("DateSent>", lambda sent, bound: sent >= bound),
                ("DateSent<", lambda sent, bound: sent <= bound),
            ):
                bound = _parse_filter_date(query[key]) if key in query else None
                if bound is not None:
                    rows = [
                        row
                        for row in rows
                        if row["date_sent"] and keep(parsedate_to_datetime(row["date_sent"]), bound)
                    ]
            start = page * page_size
            chunk = rows[start : start + page_size]

            def page_uri(number: int) -> str:
                params = {key: value for key, value in query.items() if key not in ("Page", "PageToken")}
                params.update({"PageSize": str(page_size), "Page": str(number)})
                if number:
                    params["PageToken"] = f"PASM{number * page_size}"
                return f"{path}?{urlencode(params)}"

            has_next = start + page_size < len(rows)
            self._reply(
                200,
                {
                    "messages": chunk,
                    "end": start + len(chunk) - 1 if chunk else start,
                    "first_page_uri": page_uri(0),
                    "next_page_uri": page_uri(page + 1) if has_next else None,
                    "previous_page_uri": page_uri(page - 1) if page > 0 else None,
                    "page": page,
                    "page_size": page_size,
                    "start": start,
                    "uri": page_uri(page),
                },
            )

        def _control(self, path: str, form: dict[str, str]) -> None:
            if path == "/_fake/messages":
                self._reply(
                    200,
                    [
                        {
                            **asdict(message),
                            "date_created": message.date_created.isoformat(),
                            "date_sent": message.date_sent.isoformat() if message.date_sent else None,
                        }
                        for message in fake.messages
                    ],
                )
            elif path == "/_fake/stats":
                self._reply(200, fake.stats())
            elif path == "/_fake/mode" and self.command == "POST":
                try:
                    if form.get("times"):
                        fake.fail_next(form["mode"], int(form["times"]))
                    else:
                        fake.mode = form.get("mode", "ok")
                except (KeyError, ValueError) as error:
                    self._reply(400, {"error": str(error)})
                    return
                self._reply(200, {"mode": fake.mode})
            elif path == "/_fake/reset" and self.command == "POST":
                fake.reset()
                self._reply(200, {"reset": True})
            else:
                self._reply(404, {"error": "unknown control route"})

    return Handler


def main(argv: list[str] | None = None) -> None:
    """Run the fake in the foreground until interrupted."""
    parser = argparse.ArgumentParser(description="Fake Twilio Messages API on 127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    parser.add_argument("--stall-seconds", type=float, default=10.0)
    parser.add_argument("--mode", default="ok")
    args = parser.parse_args(argv)
    fake = FakeTwilio(args.port, args.account_sid, args.auth_token, args.stall_seconds)
    fake.mode = args.mode
    print(
        json.dumps(
            {"base_url": fake.base_url, "account_sid": fake.account_sid, "auth_token": fake.auth_token}
        ),
        flush=True,
    )
    try:
        fake._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake._server.server_close()


if __name__ == "__main__":
    main()
