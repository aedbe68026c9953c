"""Marshmallow at the edges: load or raise InvalidInput with per-field details."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError

from crm_common.errors import InvalidInput


def load(schema: Schema, payload: Any) -> Any:
    """``schema.load(payload)``; a validation failure is InvalidInput with field messages."""
    if not isinstance(payload, dict) and not schema.many:
        raise InvalidInput("expected a JSON object", {"_schema": ["expected a JSON object"]})
    try:
        return schema.load(payload)
    except ValidationError as exc:
        raise InvalidInput("some fields are invalid", exc.messages) from exc
