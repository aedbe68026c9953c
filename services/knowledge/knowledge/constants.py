"""The knowledge service's fixed vocabulary and limits (stdlib only: schemas, domain and use cases
share them)."""

from __future__ import annotations

from enum import StrEnum

MAX_TAGS = 10
MAX_TAG_LENGTH = 30
MAX_TITLE_LENGTH = 200
MAX_ID = 2**31 - 1  # ids are 32-bit integers: a larger one names nothing (and PostgreSQL refuses it)


class EntryKind(StrEnum):
    SOLUTION = "solution"
    SUCCESS_STORY = "success_story"
    FAQ = "faq"


class AlarmStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    RESOLVED = "resolved"


class Role(StrEnum):
    SALES = "sales"
    MANAGER = "manager"
    ADMIN = "admin"
