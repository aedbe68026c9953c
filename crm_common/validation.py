"""Marshmallow at the edges: load or raise InvalidInput with per-field details.

Before any schema runs, ``check_text`` refuses what no database keeps the same way: NUL
characters (PostgreSQL refuses them, SQLite keeps them), lone surrogates (not encodable as
UTF-8) and structures nested deeper than any of our inputs (they exhaust the stack). Every path
that loads through here (HTTP JSON, CSV import rows, events, the CLI) gets the same answer.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError

from crm_common.errors import InvalidInput

# Our deepest input is a customer's contacts (3 levels); 32 leaves room and stops stack exhaustion.
MAX_DEPTH = 32
NUL_MESSAGE = "must not contain NUL characters"
SURROGATE_MESSAGE = "must not contain lone surrogates (invalid UTF-16)"
DEPTH_MESSAGE = f"nested deeper than {MAX_DEPTH} levels"

# json.loads joins a valid surrogate pair into one character: any surrogate left is a lone one.
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as text, or None."""
    if "\x00" in text:
        return NUL_MESSAGE
    if _SURROGATE.search(text):
        return SURROGATE_MESSAGE
    return None


def check_text(payload: Any, max_depth: int = MAX_DEPTH) -> None:
    """InvalidInput with field details if any string (key or value) in ``payload`` holds NUL or
    a lone surrogate, or if it nests deeper than ``max_depth``. Iterative: any depth is safe."""
    problems: dict[tuple[str, ...], str] = {}
    stack: list[tuple[Any, tuple[str, ...]]] = [(payload, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                problems.setdefault(path, problem)
        elif isinstance(value, dict | list):
            if len(path) >= max_depth:
                problems.setdefault(path[:1], DEPTH_MESSAGE)
                continue
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and (problem := text_problem(key)):
                    problems.setdefault(path, problem)
                    continue
                stack.append((item, (*path, str(key))))
    if problems:
        raise InvalidInput("some fields hold text that cannot be stored", _nest(problems))


def _nest(problems: dict[tuple[str, ...], str]) -> dict:
    """{("contacts", "0", "name"): msg} → {"contacts": {"0": {"name": [msg]}}} (marshmallow's shape)."""
    details: dict = {}
    for path, message in sorted(problems.items()):
        node = details
        *parents, last = path or ("_schema",)
        for name in parents:
            child = node.setdefault(name, {})
            if not isinstance(child, dict):  # a parent already has its own message
                break
            node = child
        else:
            if not isinstance(node.get(last), dict):
                node[last] = [message]
    return details


def load(schema: Schema, payload: Any) -> Any:
    """``schema.load(payload)``; a validation failure is InvalidInput with field messages."""
    if not isinstance(payload, dict) and not schema.many:
        raise InvalidInput("expected a JSON object", {"_schema": ["expected a JSON object"]})
    check_text(payload)
    try:
        return schema.load(payload)
    except ValidationError as exc:
        raise InvalidInput("some fields are invalid", exc.messages) from exc
