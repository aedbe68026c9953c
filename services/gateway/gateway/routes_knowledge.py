"""Routes of the knowledge area."""

from __future__ import annotations

from typing import Any


class KnowledgeRoutes:
    knowledge: Any
    caller: Any
