"""Time as a dependency, so rules about "due" and "late" are tested without sleeping.

Tests across real processes (tests/flows) move the services' clock with ``CRM_CLOCK_OFFSET_FILE``:
a file holding the seconds to add to the real time (``-86400`` is yesterday), read again whenever
it changes, so a test moves every service's ``Clock`` at once by rewriting one file
(`tests.support.system.RunningSystem.move_clock`). Only the injected ``Clock`` moves: tokens, the
outbox, leases and ``occurred_at`` keep the real time. Never set it in production (a warning is
logged at start when it is).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from nameko.extensions import DependencyProvider

log = logging.getLogger(__name__)

OFFSET_FILE_VARIABLE = "CRM_CLOCK_OFFSET_FILE"


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
    """The real time, moved by the seconds in ``offset_file`` when there is one (tests only)."""

    def __init__(self, offset_file: str | None = None) -> None:
        self.offset_file = offset_file if offset_file is not None else os.environ.get(OFFSET_FILE_VARIABLE)
        self._stamp: tuple[int, int, int] | None = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return utcnow() + self.offset() if self.offset_file else utcnow()

    def offset(self) -> timedelta:
        """The offset in the file (none while there is no file); read again when the file changed."""
        assert self.offset_file
        try:
            status = os.stat(self.offset_file)
        except FileNotFoundError:
            return timedelta(0)
        stamp = (status.st_ino, status.st_mtime_ns, status.st_size)
        if stamp != self._stamp:
            try:
                with open(self.offset_file, encoding="ascii") as source:
                    self._offset = timedelta(seconds=float(source.read().strip() or 0))
            except (OSError, ValueError, OverflowError) as exc:
                log.error(
                    "%s %s unreadable (%s): the clock keeps its offset",
                    OFFSET_FILE_VARIABLE,
                    self.offset_file,
                    exc,
                )
            self._stamp = stamp
        return self._offset


class Clock(DependencyProvider):
    """Injects an object with ``now()`` (UTC, aware); tests swap in a FrozenClock."""

    def __init__(self, clock: Any = None) -> None:
        self.clock = clock or SystemClock()

    def setup(self) -> None:
        if isinstance(self.clock, SystemClock) and self.clock.offset_file:
            log.warning(
                "the clock is moved by the seconds in %s (%s): for tests only",
                self.clock.offset_file,
                OFFSET_FILE_VARIABLE,
            )

    def get_dependency(self, worker_ctx: Any) -> Any:
        return self.clock
