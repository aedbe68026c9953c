"""The web console (销售工作台): the built files of web/ served at ``/``, same origin as /api/v1.

- ``/assets/*`` are content-hashed by the build: cached for a year (``immutable``).
- ``/`` and every client route of the console (``/customers/12``, ``/admin/users`` …) get
  ``index.html``, never cached, so a new build is picked up at the next page load.
- Nothing under ``/api`` is ever answered with the console: unknown API paths stay JSON 404s.
- Without a build (``web/dist/index.html`` missing) the console paths answer 503 with a page that
  says how to build it; the API works as always.

The folder is ``CONSOLE_DIR`` from the config (default ``<repo>/web/dist``).
"""

from __future__ import annotations

import gzip
import mimetypes
import os
from pathlib import Path

from nameko.extensions import DependencyProvider
from werkzeug.exceptions import NotFound as WerkzeugNotFound
from werkzeug.security import safe_join
from werkzeug.utils import send_from_directory
from werkzeug.wrappers import Request, Response

from crm_common.config import REPO_ROOT
from gateway.http import http

DEFAULT_CONSOLE_DIR = REPO_ROOT / "web" / "dist"
ASSET_MAX_AGE = 365 * 24 * 3600
# The console's top-level client routes (web/src/router.ts): these paths get index.html.
CLIENT_SECTIONS = (
    "login",
    "customers",
    "reminders",
    "pipeline",
    "knowledge",
    "alarms",
    "appraisal",
    "admin",
    "forbidden",
)
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")

MISSING_BUILD_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>销售工作台未构建</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto; line-height: 1.6">
<h1>销售工作台尚未构建 (the web console has not been built)</h1>
<p>The API works at <a href="/api/v1/health">/api/v1</a>. To build the console, install Node.js 20
and npm, then run <code>make console</code> (or <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>)
and reload this page.</p>
<p>Looked for: <code>{index}</code></p>
</body></html>
"""


class ConsoleFiles(DependencyProvider):
    """Where the built console lives; gzipped copies of text files are kept in memory."""

    def setup(self) -> None:
        configured = self.container.config.get("CONSOLE_DIR") or os.environ.get("CRM_CONSOLE_DIR")
        self.root = Path(configured) if configured else DEFAULT_CONSOLE_DIR
        self.gzipped: dict[tuple[str, float], bytes] = {}

    def get_dependency(self, worker_ctx) -> ConsoleFiles:
        return self


class ConsoleRoutes:
    console_files = ConsoleFiles()

    @http("GET", "/")
    def console_index(self, request: Request) -> Response:
        return self._console_page(request)

    @http("GET", f"/<any({', '.join(CLIENT_SECTIONS)}):section>")
    def console_section(self, request: Request, section: str) -> Response:
        return self._console_page(request)

    @http("GET", f"/<any({', '.join(CLIENT_SECTIONS)}):section>/<path:rest>")
    def console_client_route(self, request: Request, section: str, rest: str) -> Response:
        return self._console_page(request)

    @http("GET", "/assets/<path:name>")
    def console_asset(self, request: Request, name: str) -> Response:
        response = self._send(request, "assets/" + name)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = f"public, max-age={ASSET_MAX_AGE}, immutable"
        return response

    # --------------------------------------------------------------------------------------------

    def _console_page(self, request: Request) -> Response:
        index = self.console_files.root / "index.html"
        if not index.is_file():
            return Response(
                MISSING_BUILD_PAGE.format(index=index),
                status=503,
                mimetype="text/html",
                headers={"Cache-Control": "no-store"},
            )
        response = self._send(request, "index.html")
        response.headers["Cache-Control"] = "no-cache"
        return response

    def _send(self, request: Request, relative: str) -> Response:
        root = self.console_files.root
        if not (root / "index.html").is_file():
            return Response("the console has not been built", status=404, mimetype="text/plain")
        path = safe_join(str(root), relative)
        if path is None or not os.path.isfile(path):
            return Response("not found", status=404, mimetype="text/plain")
        mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
        if "gzip" in request.headers.get("Accept-Encoding", "") and mimetype.startswith(COMPRESSIBLE):
            return self._send_gzipped(request, path, mimetype)
        try:
            response = send_from_directory(root, relative, request.environ, max_age=0)
        except WerkzeugNotFound:
            return Response("not found", status=404, mimetype="text/plain")
        response.direct_passthrough = False
        return response

    def _send_gzipped(self, request: Request, path: str, mimetype: str) -> Response:
        stat = os.stat(path)
        key = (path, stat.st_mtime)
        body = self.console_files.gzipped.get(key)
        if body is None:
            with open(path, "rb") as handle:
                body = gzip.compress(handle.read(), compresslevel=6, mtime=0)
            self.console_files.gzipped[key] = body
        etag = f'"{int(stat.st_mtime)}-{stat.st_size}-gz"'
        headers = {"ETag": etag, "Vary": "Accept-Encoding", "Content-Encoding": "gzip"}
        if etag in request.headers.get("If-None-Match", ""):
            return Response(status=304, headers=headers)
        charset = "; charset=utf-8" if mimetype.startswith("text/") or "javascript" in mimetype else ""
        return Response(body, status=200, headers=headers, content_type=mimetype + charset)
