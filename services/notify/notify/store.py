"""Notify's SQL, behind one Store over a UnitOfWork (``Store(self.db)`` in a worker,
``Store(unit)`` in a short transaction of a timer).

One mixin per area: in-app notifications (``store_inbox``), reminders and their claims
(``store_reminders``), watched customers, settings and manager notices (``store_watching``), and
the SMS log (``store_delivery``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from crm_common.db import UnitOfWork
from notify.store_delivery import DeliveryStore
from notify.store_inbox import InboxStore
from notify.store_reminders import ReminderStore
from notify.store_watching import WatchStore


class Store(InboxStore, ReminderStore, WatchStore, DeliveryStore):
    """Everything notify reads and writes in its database, in the unit's transaction."""

    def __init__(self, unit: UnitOfWork) -> None:
        self.unit = unit

    @property
    def session(self) -> Session:
        return self.unit.session

    def emit(self, event_type: str, data: dict[str, Any]) -> dict:
        """An outbox event, published only if the transaction commits."""
        return self.unit.emit(event_type, data)

    def emit_many(self, event_type: str, facts: Iterable[dict[str, Any]]) -> list[dict]:
        """Outbox events of one type, written in one statement."""
        return self.unit.emit_many(event_type, facts)
