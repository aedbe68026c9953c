"""The fake Twilio's HTTP side: the Messages API routes (create, fetch, list with Twilio's filters and
paging), Basic auth, the failure modes as a client sees them, and the test-only ``/_fake/`` control
routes. What it serves from: ``fake_twilio.FakeTwilio`` and ``fake_twilio_messages``."""

from __future__ import annotations

import base64
import hmac
import json
import re
from dataclasses import asdict
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.support.fake_twilio_messages import API_VERSION, E164, error_body

if TYPE_CHECKING:
    from tests.support.fake_twilio import FakeTwilio

_MESSAGES = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages\.json$")
_MESSAGE = re.compile(
    rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>SM[0-9a-f]{{32}})\.json$"
)


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


class FakeTwilioHttpServer(ThreadingHTTPServer):
    # the default backlog of 5 drops connections when a sender pool opens dozens at once
    request_queue_size = 256


def handler_for(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeTwilio/1.0"
        # headers and body go out as two writes: with Nagle on, the client's delayed ACK
        # would add ~40 ms to every answer, which the real Twilio does not
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet in test output

        def setup(self) -> None:
            super().setup()
            fake.count_connection()  # one handler per connection: keep-alive reuses it

        # -- plumbing

        def _reply(self, status: int, payload: object) -> None:
            body = json.dumps(payload).encode()
            try:
                self.send_response(status)
                if status == 429 and fake.retry_after is not None:
                    self.send_header("Retry-After", f"{fake.retry_after:g}")
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
                self._reply(401, error_body(401))
                return False
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                user, password = "", ""
            if not (
                hmac.compare_digest(user, fake.account_sid) and hmac.compare_digest(password, fake.auth_token)
            ):
                self._reply(401, error_body(401))
                return False
            if account != fake.account_sid:
                self._reply(404, error_body(404))
                return False
            return True

        def _misbehave(self, mode: str) -> bool:
            """Apply a failure mode; True when the request is answered (or abandoned) already."""
            if mode == "timeout":
                fake.stall()
                self.close_connection = True
                return True
            if mode.startswith("error_"):
                if mode == "error_429":
                    fake.count_rate_limited()
                self._reply(int(mode[6:]), error_body(int(mode[6:])))
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
                self._reply(404, error_body(404))
                return
            if not self._authorised(match["account"]):
                return
            mode = fake.take_mode()
            if self._misbehave(mode):
                return
            problem = self._invalid(form)
            if problem:
                self._reply(400, error_body(400, *problem))
                return
            message = fake.accept(form)
            if message is None:
                self._reply(429, error_body(429))
                return
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
                self._reply(404, error_body(404))
                return
            if not self._authorised(match["account"]) or self._misbehave(fake.take_mode()):
                return
            if single:
                message = fake.find(single["sid"])
                if message is None:
                    self._reply(404, error_body(404))
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
