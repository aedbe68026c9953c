"""The one table from an error to an HTTP status, and the one error body.

Every error body is ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import importlib
import logging

from nameko.exceptions import RemoteError, UnknownService

from crm_common.errors import (
    Conflict,
    CrmError,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceTimeout,
    ServiceUnavailable,
    TooManyRequests,
    Unauthenticated,
)
from crm_common.registry import BACKENDS

log = logging.getLogger(__name__)

# Each service's errors module is its contract with callers: importing it registers its error
# types, so they arrive here as themselves and keep their codes. Every service the registry lists.
for _service in BACKENDS:
    importlib.import_module(_service.exceptions_module)

# Most specific first: the first class the error is an instance of gives the status.
STATUS_BY_ERROR: tuple[tuple[type[CrmError], int], ...] = (
    (InvalidInput, 400),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (TooManyRequests, 429),
    (ServiceTimeout, 504),
    (ServiceUnavailable, 503),
)


def error_body(code: str, message: str, details: object = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details}}


def describe(exc: BaseException) -> tuple[int, dict]:
    """The HTTP status and body for ``exc``; unexpected errors are logged and become a 500."""
    if isinstance(exc, CrmError):
        for error_type, status in STATUS_BY_ERROR:
            if isinstance(exc, error_type):
                return status, error_body(exc.code, exc.message, exc.details)
    if isinstance(exc, UnknownService):
        return 503, error_body("service_unavailable", f"service {exc.args[0]} is not running")
    if isinstance(exc, RemoteError):
        log.error("remote error: %s %s", exc.exc_type, exc.value)
    else:
        log.exception("unexpected error in the gateway", exc_info=exc)
    return 500, error_body("internal_error", "something went wrong on our side; it has been logged")
