"""Consuming events at least once, acting on each exactly once."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def handle_once(handler: Callable[[Any, dict], Any]) -> Callable[[Any, dict], Any]:
    """Wrap an ``@event_handler`` method so a redelivered event (same ``event_id``) is skipped.

    The processed mark is written in the handler's own transaction (``self.db``), so the
    effects and the mark commit together or not at all.
    """

    @functools.wraps(handler)
    def once(self: Any, event: dict) -> Any:
        if not self.db.first_delivery(event["event_id"], handler.__qualname__):
            return None
        return handler(self, event)

    return once
