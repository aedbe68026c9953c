"""Transactional outbox: events are rows written with the business change, published after.

An event is published only for a committed fact and is never lost while the broker is down:
the row waits until a relay has published it with publisher confirms and marked it sent.
Several instances of a service share one outbox safely: each relay claims a batch with a
token and a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so a row is published by one
relay at a time; one whose relay died is claimed again when its lease runs out. Delivery is
therefore at least once, and consumers drop repeats by ``event_id`` (``processed_events``).
"""

from __future__ import annotations

import json
import logging
import uuid
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

import eventlet
from eventlet.queue import Empty, Full, LightQueue
from nameko.amqp.publish import Publisher
from nameko.standalone.events import get_event_exchange
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    and_,
    or_,
    select,
    update,
)

from crm_common.clock import utcnow
from crm_common.timestamps import UtcDateTime

log = logging.getLogger(__name__)

EVENT_VERSION = 1
OUTBOX_TABLE = "outbox_events"
PROCESSED_TABLE = "processed_events"


def add_outbox_tables(metadata: MetaData) -> None:
    """Declare the outbox and processed-events tables in a service's own metadata."""
    Table(
        OUTBOX_TABLE,
        metadata,
        Column("id", String(36), primary_key=True),
        Column("event_type", String(100), nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", UtcDateTime, nullable=False, index=True),
        Column("sent_at", UtcDateTime, nullable=True, index=True),
        Column("claim_token", String(36), nullable=True),
        Column("lease_until", UtcDateTime, nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
    )
    Table(
        PROCESSED_TABLE,
        metadata,
        Column("event_id", String(64), nullable=False),
        Column("handler", String(200), nullable=False),
        Column("processed_at", UtcDateTime, nullable=False),
        PrimaryKeyConstraint("event_id", "handler"),
    )


def envelope(event_type: str, data: dict[str, Any], source: str, occurred_at: datetime) -> dict:
    """The payload every event carries: an id, when, a version and the facts."""
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "source": source,
        "occurred_at": occurred_at.isoformat(),
        "version": EVENT_VERSION,
        "data": data,
    }


class OutboxRelay:
    """Publishes a service's committed outbox rows to ``<service>.events``."""

    def __init__(
        self,
        engine: Engine,
        table: Table,
        service_name: str,
        amqp_uri: str,
        config: dict[str, Any] | None = None,
        batch_size: int = 200,
        poll_interval: float = 1.0,
        lease: timedelta = timedelta(seconds=30),
    ) -> None:
        self.engine = engine
        self.table = table
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.lease = lease
        self.exchange = get_event_exchange(service_name, config or {})
        # Few retries: a down broker should leave rows waiting, not block the relay.
        self.publisher = Publisher(
            amqp_uri,
            exchange=self.exchange,
            declare=[self.exchange],
            serializer="json",
            use_confirms=True,
            retry_policy={"max_retries": 1, "interval_start": 0.5},
        )
        self._nudges: LightQueue = LightQueue(maxsize=1)
        self._running = False

    def nudge(self) -> None:
        """Publish soon: a transaction with events has just committed."""
        with suppress(Full):  # a nudge already waiting is enough
            self._nudges.put_nowait(True)

    def claim(self) -> tuple[str, list[Any]]:
        """Lease a batch of unsent rows to this relay; returns the token and the rows."""
        t = self.table
        now = utcnow()
        token = str(uuid.uuid4())
        claimable = and_(t.c.sent_at.is_(None), or_(t.c.lease_until.is_(None), t.c.lease_until < now))
        candidates = select(t.c.id).where(claimable).order_by(t.c.created_at).limit(self.batch_size)
        if self.engine.dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        with self.engine.begin() as conn:
            conn.execute(
                update(t)
                .where(t.c.id.in_(candidates), claimable)
                .values(claim_token=token, lease_until=now + self.lease, attempts=t.c.attempts + 1)
                .execution_options(synchronize_session=False)
            )
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.c.id, t.c.event_type, t.c.payload)
                .where(t.c.claim_token == token, t.c.sent_at.is_(None))
                .order_by(t.c.created_at)
            ).all()
        return token, list(rows)

    def publish_pending(self) -> int:
        """Publish one claimed batch; returns how many rows were published and marked."""
        token, rows = self.claim()
        published: list[str] = []
        try:
            for row in rows:
                self.publisher.publish(json.loads(row.payload), routing_key=row.event_type)
                published.append(row.id)
        finally:
            if published:
                with self.engine.begin() as conn:
                    conn.execute(
                        update(self.table)
                        .where(self.table.c.id.in_(published), self.table.c.claim_token == token)
                        .values(sent_at=utcnow(), lease_until=None)
                    )
            if len(published) < len(rows):
                self._release(token)
        return len(published)

    def _release(self, token: str) -> None:
        # The broker refused mid-batch: let the rest be claimed at once on the next pass.
        with self.engine.begin() as conn:
            conn.execute(
                update(self.table)
                .where(self.table.c.claim_token == token, self.table.c.sent_at.is_(None))
                .values(lease_until=None, claim_token=None)
            )

    def run(self) -> None:
        """Loop until stopped: publish what is pending, then wait for a nudge or the poll."""
        self._running = True
        backoff = self.poll_interval
        while self._running:
            try:
                sent = self.publish_pending()
                backoff = self.poll_interval
            except Exception as exc:  # broker or database away: keep rows, try again later
                log.warning("outbox relay could not publish (%s); retrying in %.1fs", exc, backoff)
                eventlet.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if sent >= self.batch_size:
                continue
            with suppress(Empty):
                self._nudges.get(timeout=self.poll_interval)

    def stop(self) -> None:
        self._running = False
        self.nudge()
