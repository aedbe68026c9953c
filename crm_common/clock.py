"""Time as a dependency, so rules about "due" and "late" are tested without sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from nameko.extensions import DependencyProvider


def utcnow() -> datetime:
    return datetime.now(UTC)


class FrozenClock:
    """A clock for tests: stands still until moved."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)


class SystemClock:
    def now(self) -> datetime:
        return utcnow()


class Clock(DependencyProvider):
    """Injects an object with ``now()`` (UTC, aware); tests swap in a FrozenClock."""

    def __init__(self, clock: Any = None) -> None:
        self.clock = clock or SystemClock()

    def get_dependency(self, worker_ctx: Any) -> Any:
        return self.clock
