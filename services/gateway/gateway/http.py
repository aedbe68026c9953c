"""The gateway's HTTP server: nameko's WebServer, hardened against slow and oversized requests.

What nameko's server does not do, and this one does:

- The request body is read by the connection's own greenthread, under one deadline, before a
  worker is taken: a client that declares a length and never sends it holds a cheap greenthread
  for ``HTTP_READ_TIMEOUT_SECONDS`` at most, never one of the ``max_workers`` workers.
- A body over the route's limit (``MAX_BODY_BYTES``, or ``MAX_IMPORT_BYTES`` for uploads) is
  refused with 413 from its Content-Length, before reading it; a chunked body is cut at the limit.
- Each socket operation has a timeout, the request headers a deadline, and one client address
  may hold ``MAX_CONNECTIONS_PER_CLIENT`` connections (``MAX_CONNECTIONS`` in all): more are
  answered 429/503 at once and closed.
- What eventlet and werkzeug answer by themselves (URL or headers too long, a bad request line
  or Content-Length, an unknown method) comes with the one JSON error body too.

Every HTTP entrypoint of the gateway must use ``gateway.http.http``: a second nameko WebServer
would bind the same port (eventlet sets SO_REUSEPORT) and silently take half the connections.
"""

from __future__ import annotations

import io
import json
import logging
import socket
from collections import Counter
from functools import partial
from http import HTTPStatus
from typing import Any

import eventlet
from eventlet import wsgi
from eventlet.wsgi import HeaderLineTooLong, HeadersTooLarge
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import HttpOnlyProtocol, WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Request, Response

from gateway.errors import error_body

log = logging.getLogger(__name__)

DEFAULTS = {
    "HTTP_READ_TIMEOUT_SECONDS": 10.0,
    "MAX_CONNECTIONS": 1000,
    "MAX_CONNECTIONS_PER_CLIENT": 100,
    "MAX_BODY_BYTES": 1024 * 1024,
    "MAX_IMPORT_BYTES": 6 * 1024 * 1024,  # customers refuses files over 5 MB itself; multipart adds a little
}

CODES = {
    400: "bad_request",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    414: "uri_too_long",
    429: "too_many_connections",
    431: "headers_too_large",
    503: "server_busy",
    505: "http_version_not_supported",
}


def raw_response(status: int, message: str, headers: dict[str, str] | None = None) -> bytes:
    """A whole HTTP/1.1 response carrying the one error body, for answers written to the socket."""
    body = json.dumps(error_body(CODES.get(status, f"http_{status}"), message), ensure_ascii=False).encode()
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines += [f"Content-Length: {len(body)}", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(error_body(CODES.get(status, f"http_{status}"), message), ensure_ascii=False)
    return Response(body, status=status, headers=headers, mimetype="application/json")


class GatewayProtocol(HttpOnlyProtocol):
    """eventlet's HTTP protocol with a deadline on the headers and JSON for its own refusals."""

    def _read_request_line(self) -> Any:
        line = super()._read_request_line()
        if len(line) >= self.server.url_length_limit:
            self.send_error(414, "the URL is too long")
            return ""  # eventlet then closes the connection
        return line

    def parse_request(self) -> bool:
        deadline = eventlet.Timeout(self.server.socket_timeout)
        try:
            if not super().parse_request():
                return False
        except (HeaderLineTooLong, HeadersTooLarge):
            self.send_error(431, "the request headers are too large")
            return False
        except eventlet.Timeout as timeout:
            if timeout is not deadline:
                raise
            self.close_connection = 1
            return False
        finally:
            deadline.cancel()
        length = self.headers.get("Content-Length")
        if length is not None and not (length.isdigit() and length.isascii()):
            self.send_error(400, "Content-Length must be a non-negative integer")
            return False
        if length is not None and self.headers.get("Transfer-Encoding") is not None:
            self.send_error(400, "Content-Length and Transfer-Encoding are not allowed together")
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        self.close_connection = 1
        try:
            self.wfile.write(raw_response(code, message or HTTPStatus(code).phrase))
            self.wfile.flush()
        except OSError:
            pass

    def get_environ(self) -> dict:
        environ = super().get_environ()
        environ["gateway.close_connection"] = self._close_after_response
        return environ

    def _close_after_response(self) -> None:
        # set before the response starts: eventlet then answers "Connection: close" and does not
        # read (discard) the rest of a body it refused
        self.close_connection = 1


class BodyTooLarge(Exception):
    pass


class BodyIncomplete(Exception):
    pass


class GatewayWsgiApp(WsgiApp):
    """nameko's app, plus: read the body (bounded, under a deadline) before a worker is taken."""

    def __call__(self, environ: dict, start_response: Any) -> Any:
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
        except RequestRedirect as redirect:
            return redirect(environ, start_response)
        except HTTPException as exc:
            headers = {"Allow": ", ".join(exc.valid_methods)} if isinstance(exc, MethodNotAllowed) else {}
            return error_response(exc.code or 400, exc.description or "", headers)(environ, start_response)
        limit = self.server.limit(getattr(provider, "body_limit", "MAX_BODY_BYTES"))
        try:
            with eventlet.Timeout(self.server.read_timeout):
                body = read_body(environ, limit)
        except BodyTooLarge:
            environ["gateway.close_connection"]()
            response = error_response(413, f"the request body is larger than {limit} bytes")
            return response(environ, start_response)
        except (eventlet.Timeout, TimeoutError, OSError):
            environ["gateway.close_connection"]()
            response = error_response(408, "the request body did not arrive in time")
            return response(environ, start_response)
        except BodyIncomplete:
            environ["gateway.close_connection"]()
            return error_response(400, "the request body is incomplete or its chunks malformed")(
                environ, start_response
            )
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        request = Request(environ)
        request.path_values = values
        return provider.handle_request(request)(environ, start_response)


def read_body(environ: dict, limit: int) -> bytes:
    """The whole request body, at most ``limit`` bytes; BodyTooLarge beyond, without reading it."""
    stream = environ["wsgi.input"]
    chunked = environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
    if chunked:
        try:
            body = stream.read(limit + 1)  # eventlet's input undoes the chunking
        except ValueError as exc:  # eventlet's ChunkReadError: a malformed chunk
            raise BodyIncomplete from exc
        if len(body) > limit:
            raise BodyTooLarge
        return body
    length = int(environ.get("CONTENT_LENGTH") or 0)  # the protocol checked it is digits
    if length > limit:
        raise BodyTooLarge
    if length == 0:
        return b""
    body = stream.read(length)
    if len(body) < length:
        raise BodyIncomplete
    return body


class GatewayWebServer(WebServer):
    def setup(self) -> None:
        super().setup()
        config = self.container.config
        self.settings = {
            name: type(default)(config.get(name) if config.get(name) not in (None, "") else default)
            for name, default in DEFAULTS.items()
        }
        self.read_timeout = self.settings["HTTP_READ_TIMEOUT_SECONDS"]
        self.open_connections: Counter[str] = Counter()

    def limit(self, setting: str) -> int:
        return int(self.settings[setting])

    def get_wsgi_app(self) -> GatewayWsgiApp:
        return GatewayWsgiApp(self)

    def get_wsgi_server(self, sock: Any, wsgi_app: Any, protocol: Any = GatewayProtocol, debug: bool = False):
        return wsgi.Server(
            sock,
            sock.getsockname(),
            wsgi_app,
            protocol=protocol,
            debug=debug,
            log=logging.getLogger("nameko.web.server"),
            socket_timeout=self.read_timeout,
        )

    def run(self) -> None:
        per_client = self.settings["MAX_CONNECTIONS_PER_CLIENT"]
        total = self.settings["MAX_CONNECTIONS"]
        while self._is_accepting:
            sock, address = self._sock.accept()
            client = address[0]
            if per_client and self.open_connections[client] >= per_client:
                refusal = raw_response(429, "too many connections from your address", {"Retry-After": "1"})
            elif total and sum(self.open_connections.values()) >= total:
                refusal = raw_response(503, "the server is busy; try again", {"Retry-After": "1"})
            else:
                sock.settimeout(self.read_timeout)
                self.open_connections[client] += 1
                self.container.spawn_managed_thread(partial(self._serve, sock, address, client))
                continue
            self.container.spawn_managed_thread(partial(_refuse, sock, refusal))

    def _serve(self, sock: Any, address: Any, client: str) -> None:
        try:
            self.process_request(sock, address)
        finally:
            self.open_connections[client] -= 1
            if self.open_connections[client] <= 0:
                del self.open_connections[client]


def _refuse(sock: Any, response: bytes) -> None:
    """Answer at once and close; read what the client sent meanwhile so the answer is not reset."""
    try:
        sock.settimeout(1.0)
        sock.sendall(response)
        sock.shutdown(socket.SHUT_WR)
        received = 0
        while received < 65536 and (chunk := sock.recv(4096)):
            received += len(chunk)
    except OSError:
        pass
    finally:
        sock.close()


class GatewayHttp(HttpRequestHandler):
    """nameko's ``@http`` entrypoint served by the GatewayWebServer; ``body_limit`` names the
    setting that caps this route's request body."""

    server = GatewayWebServer()

    def __init__(self, method: str, url: str, body_limit: str = "MAX_BODY_BYTES", **kwargs: Any) -> None:
        self.body_limit = body_limit
        super().__init__(method, url, **kwargs)


http = GatewayHttp.decorator
