"""All of the knowledge service's SQL, behind one :class:`Store` per worker: entries
(:mod:`knowledge.store_entries`), alarms (:mod:`knowledge.store_alarms`) and the full-text index
(:mod:`knowledge.store_search`). It takes and gives domain objects; use cases never see a row."""

from __future__ import annotations

from typing import Any

from crm_common.db import UnitOfWork
from knowledge.segment import Segmenter
from knowledge.store_alarms import AlarmsStore
from knowledge.store_entries import EntriesStore
from knowledge.store_search import SearchIndex


class Store(EntriesStore, AlarmsStore):
    """The knowledge tables through one worker's unit of work (its session and its outbox)."""

    def __init__(self, uow: UnitOfWork, segmenter: Segmenter) -> None:
        self.uow = uow
        self.session = uow.session
        self.segmenter = segmenter
        self.index = SearchIndex(self.session)

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        """Record an event in this transaction (published only if it commits)."""
        self.uow.emit(event_type, data)
