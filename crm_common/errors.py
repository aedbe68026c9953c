"""Errors callers may expect, each with a stable code.

Every subclass is registered with nameko so that it crosses an RPC hop as itself (not as a
``RemoteError``): the gateway then maps it to an HTTP status with one table (``gateway.errors``).
The constructor signature ``(message, details=None)`` is what nameko uses to rebuild it.
"""

from __future__ import annotations

import json
from typing import Any

from nameko.exceptions import deserialize_to_instance

# nameko turns every value inside an error's args into text on the way (1 → "1", None → "None"),
# so details travel as JSON text with this prefix and are read back on arrival.
_JSON = "json:"


class CrmError(Exception):
    """Base of every expected error: ``code`` is stable, ``message`` is for people."""

    code = "error"

    def __init__(self, message: str, details: Any = None) -> None:
        if isinstance(details, str) and details.startswith(_JSON):
            details = json.loads(details[len(_JSON) :])
        super().__init__(message, _JSON + json.dumps(details, ensure_ascii=False, default=str))
        self.message = message
        self.details = details

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        deserialize_to_instance(cls)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidInput(CrmError):
    """The request is malformed or fails validation (HTTP 400); details hold field errors."""

    code = "validation_error"


class MalformedJson(InvalidInput):
    code = "malformed_json"


class Unauthenticated(CrmError):
    """No caller, a bad token or bad credentials (HTTP 401)."""

    code = "unauthenticated"


class Forbidden(CrmError):
    """The caller is known but may not do this (HTTP 403)."""

    code = "forbidden"


class NotFound(CrmError):
    """No such thing, or the caller may not know it exists (HTTP 404)."""

    code = "not_found"


class Conflict(CrmError):
    """A business rule refuses the request in the current state (HTTP 409)."""

    code = "conflict"


class TooManyRequests(CrmError):
    """The caller must wait before trying again (HTTP 429); ``details["retry_after"]`` in seconds."""

    code = "too_many_requests"


class ServiceUnavailable(CrmError):
    """A service needed for the answer is down or too slow (HTTP 503)."""

    code = "service_unavailable"


class ServiceTimeout(ServiceUnavailable):
    """A service did not answer in time (HTTP 504)."""

    code = "service_timeout"


deserialize_to_instance(CrmError)
