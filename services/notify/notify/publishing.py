"""Events by the batch: one multi-row outbox insert for a claim of hundreds of reminders.

The same rows ``UnitOfWork.emit`` writes one by one (``crm_common.db``), in the same
transaction, so the relay publishes them only if the claim commits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert

from crm_common.clock import utcnow
from crm_common.db import UnitOfWork
from crm_common.outbox import OUTBOX_TABLE, envelope
from notify.models import Base

_outbox = Base.metadata.tables[OUTBOX_TABLE]


def emit_all(unit: UnitOfWork, event_type: str, facts: Iterable[dict[str, Any]]) -> int:
    """Record one ``event_type`` event per fact in this transaction; returns how many."""
    now = utcnow()
    payloads = [envelope(event_type, data, unit.service_name, now) for data in facts]
    if not payloads:
        return 0
    unit.session.execute(
        insert(_outbox),
        [
            {
                "id": payload["event_id"],
                "event_type": event_type,
                "payload": json.dumps(payload, ensure_ascii=False, default=str),
                "created_at": now,
                "attempts": 0,
            }
            for payload in payloads
        ],
    )
    unit.emitted.extend(payloads)
    return len(payloads)
