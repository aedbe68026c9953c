"""A local fake of Twilio's Messages API, enough for the real twilio SDK, bound to 127.0.0.1.

    with FakeTwilio() as fake:
        sms = TwilioSms(fake.account_sid, fake.auth_token, from_number="+15005550006",
                        base_url=fake.base_url, timeout=1)
        fake.fail_next("error_500")          # the next API request answers 500
        fake.mode = "timeout"                # every request stalls until changed back to "ok"

Modes: ``ok``, ``error_400`` (Twilio 21211 invalid 'To'), ``error_<status>`` (any 4xx/5xx),
``timeout`` (stall ``stall_seconds``, nothing recorded) and ``accept_then_timeout`` (record the
message, then stall: the crash window that reconciliation must cover).

``max_per_second``: like a Twilio sender's messages-per-second, a message that would be one more
than that within the last second for its sender (From or MessagingServiceSid) is answered 429
(20429) and not created. Every 429 carries ``Retry-After: <retry_after>`` when that is set.
``stats()`` counts the 429s and the TCP connections clients opened.

Every accepted message is recorded (thread-safe) so tests and the benchmark can count duplicates.
Test-only control routes without auth: ``GET /_fake/messages``, ``GET /_fake/stats``,
``POST /_fake/mode`` (JSON ``{"mode": "...", "times": n}``; without times: global), ``POST /_fake/reset``.

Command line (from the repo root): ``python -m tests.support.fake_twilio --port 8099`` prints the
base URL and credentials.

Import everything from here; the fake is split by area: this module is the server (start, stop,
behaviour switches, what it accepted), ``fake_twilio_messages`` the messages and the state, Twilio's
error bodies and signature, ``fake_twilio_http`` the HTTP routes.
"""

from __future__ import annotations

import argparse
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, deque
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.support.fake_twilio_http import FakeTwilioHttpServer, handler_for
from tests.support.fake_twilio_messages import (
    API_VERSION,
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    E164,
    MODES,
    FakeMessage,
    FakeTwilioState,
    check_mode,
    sign,
)

__all__ = [
    "API_VERSION",
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "E164",
    "MODES",
    "FakeMessage",
    "FakeTwilio",
    "FakeTwilioState",
    "main",
    "sign",
]


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
        max_per_second: float | None = None,
        retry_after: float | None = None,
    ):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.stall_seconds = stall_seconds
        self.default_page_size = page_size
        self.deliver_on_read = deliver_on_read
        self.max_per_second = max_per_second
        self.retry_after = retry_after
        self.state = FakeTwilioState()
        self._stopping = threading.Event()
        self._server = FakeTwilioHttpServer(("127.0.0.1", port), handler_for(self))
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
        check_mode(mode)
        with self.state.lock:
            self.state.mode = mode

    def fail_next(self, mode: str, times: int = 1) -> None:
        """Answer the next ``times`` API requests in ``mode`` (then back to the global mode)."""
        check_mode(mode)
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
            rate_limited, connections = self.state.rate_limited, self.state.connections
        return {
            "accepted": accepted,
            "duplicate_messages": sum(count - 1 for count in duplicates.values()),
            "requests_by_mode": by_mode,
            "rate_limited": rate_limited,
            "connections": connections,
        }

    def reset(self) -> None:
        """Forget messages and modes."""
        with self.state.lock:
            self.state.messages.clear()
            self.state.next_modes.clear()
            self.state.requests_by_mode.clear()
            self.state.recent_by_sender.clear()
            self.state.rate_limited = self.state.connections = 0
            self.state.mode = "ok"

    @property
    def rate_limited(self) -> int:
        """How many requests were answered 429 (by ``max_per_second`` or an ``error_429`` mode)."""
        with self.state.lock:
            return self.state.rate_limited

    @property
    def connections(self) -> int:
        """How many TCP connections clients opened to the fake."""
        with self.state.lock:
            return self.state.connections

    def count_rate_limited(self) -> None:
        with self.state.lock:
            self.state.rate_limited += 1

    def count_connection(self) -> None:
        with self.state.lock:
            self.state.connections += 1

    def accept(self, form: dict[str, str]) -> FakeMessage | None:
        """Create the message; None when its sender is over ``max_per_second`` (nothing created)."""
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
        sender = form.get("From") or form.get("MessagingServiceSid") or ""
        with self.state.lock:
            if self.max_per_second is not None:
                now = time.monotonic()
                recent = self.state.recent_by_sender.setdefault(sender, deque())
                while recent and recent[0] <= now - 1.0:
                    recent.popleft()
                if len(recent) >= self.max_per_second:
                    self.state.rate_limited += 1
                    return None
                recent.append(now)
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


def main(argv: list[str] | None = None) -> None:
    """Run the fake in the foreground until interrupted."""
    parser = argparse.ArgumentParser(description="Fake Twilio Messages API on 127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    parser.add_argument("--stall-seconds", type=float, default=10.0)
    parser.add_argument("--mode", default="ok")
    parser.add_argument("--max-per-second", type=float, default=None, help="per sender; 429 above it")
    parser.add_argument("--retry-after", type=float, default=None, help="Retry-After seconds on a 429")
    args = parser.parse_args(argv)
    fake = FakeTwilio(
        args.port,
        args.account_sid,
        args.auth_token,
        args.stall_seconds,
        max_per_second=args.max_per_second,
        retry_after=args.retry_after,
    )
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
