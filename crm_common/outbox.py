"""Transactional outbox: events are rows written with the business change, published after.

An event is published only for a committed fact and is never lost while the broker is down:
the row waits until a relay has published it with publisher confirms and marked it sent.
Several instances of a service share one outbox safely: each relay claims a batch with a
token and a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so a row is published by one
relay at a time; one whose relay died is claimed again when its lease runs out. Delivery is
therefore at least once, and consumers drop repeats by ``event_id`` (``processed_events``).

A batch goes out on one channel in confirm mode, in the order the rows were written, and the
relay waits once for the broker's confirms of the whole batch, not once per event; only the
rows the broker confirmed are marked sent. A broker lost mid-batch leaves the rest unmarked:
they go out again, in order, with the same ``event_id``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

import eventlet
from eventlet.queue import Empty, Full, LightQueue
from kombu import Connection, Exchange, Producer
from kombu.exceptions import OperationalError
from nameko.constants import PERSISTENT
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
# events the relay publishes between two yields to the greenthreads beside it: publishing a whole
# batch (200) in one go held every RPC of the process for up to 0.1 s during a large import
PUBLISH_YIELD_EVERY = 20


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


class ConfirmTimeout(OperationalError):
    """The broker did not confirm a batch in time: what it did not confirm is published again."""


class ConfirmingChannel:
    """One AMQP channel in publisher-confirm mode: ``publish`` many, then ``wait_for_confirms``
    once. py-amqp's ``confirm_publish`` would wait for each message in turn; here the broker's
    acks (one per message, or one covering several) are collected as they arrive.
    """

    def __init__(self, amqp_uri: str, exchange: Exchange) -> None:
        self.connection = Connection(amqp_uri)
        try:
            # one quick retry: a broker that is away leaves rows waiting, it does not block the relay
            self.connection.ensure_connection(max_retries=1, interval_start=0.5)
            self.channel = self.connection.channel()
            self.channel.confirm_select()
            self.channel.events["basic_ack"].add(self._acked)
            self.channel.events["basic_nack"].add(self._nacked)
            self.producer = Producer(self.channel, exchange=exchange, serializer="json", auto_declare=True)
        except BaseException:
            self.close()
            raise
        self._last_tag = 0  # the broker numbers a confirm-mode channel's messages 1, 2, …
        self._unconfirmed: set[int] = set()
        self._confirmed: set[int] = set()
        self._refused: set[int] = set()

    def publish(self, payload: dict, routing_key: str) -> int:
        """Send one message without waiting; returns its delivery tag."""
        self.producer.publish(payload, routing_key=routing_key, delivery_mode=PERSISTENT, retry=False)
        self._last_tag += 1
        self._unconfirmed.add(self._last_tag)
        return self._last_tag

    def wait_for_confirms(self, timeout: float) -> tuple[set[int], set[int]]:
        """Block until the broker has answered every message published so far; returns the tags
        it confirmed and those it refused (nack). Raises ConfirmTimeout, or the connection's error."""
        deadline = time.monotonic() + timeout
        while self._unconfirmed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConfirmTimeout(f"{len(self._unconfirmed)} messages not confirmed in {timeout:g}s")
            try:
                self.connection.drain_events(timeout=remaining)
            except TimeoutError:
                continue
        confirmed, refused = self._confirmed, self._refused
        self._confirmed, self._refused = set(), set()
        return confirmed, refused

    def _settle(self, tag: int, multiple: bool) -> set[int]:
        settled = {t for t in self._unconfirmed if t <= tag} if multiple else {tag} & self._unconfirmed
        self._unconfirmed -= settled
        return settled

    def _acked(self, tag: int, multiple: bool) -> None:
        self._confirmed |= self._settle(tag, multiple)

    def _nacked(self, tag: int, multiple: bool) -> None:
        self._refused |= self._settle(tag, multiple)

    def close(self) -> None:
        with suppress(Exception):
            self.connection.release()


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
        confirm_timeout: float = 10.0,
    ) -> None:
        self.engine = engine
        self.table = table
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.lease = lease
        self.confirm_timeout = confirm_timeout
        self.amqp_uri = amqp_uri
        self.exchange = get_event_exchange(service_name, config or {})
        self._channel: ConfirmingChannel | None = None
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
        """Publish one claimed batch and wait once for its confirms; returns how many rows the
        broker confirmed (and were marked sent). Raises when the broker is away or dropped
        mid-batch: the unconfirmed rows are released to be published again."""
        token, rows = self.claim()
        if not rows:
            return 0
        published: dict[int, str] = {}
        confirmed: list[str] = []
        try:
            channel = self._connected()
            for count, row in enumerate(rows, 1):
                published[channel.publish(json.loads(row.payload), routing_key=row.event_type)] = row.id
                if count % PUBLISH_YIELD_EVERY == 0:
                    eventlet.sleep(0)  # a send to a writable socket never yields by itself
            acked, refused = channel.wait_for_confirms(self.confirm_timeout)
            confirmed = [row_id for tag, row_id in published.items() if tag in acked]
            if refused:
                log.warning("the broker refused %d events; they go out again", len(refused))
        except BaseException:
            self._disconnect()  # a channel in an unknown state: its tags no longer add up
            raise
        finally:
            if confirmed:
                with self.engine.begin() as conn:
                    conn.execute(
                        update(self.table)
                        .where(self.table.c.id.in_(confirmed), self.table.c.claim_token == token)
                        .values(sent_at=utcnow(), lease_until=None)
                    )
            if len(confirmed) < len(rows):
                self._release(token)
        return len(confirmed)

    def _connected(self) -> ConfirmingChannel:
        if self._channel is None:
            self._channel = ConfirmingChannel(self.amqp_uri, self.exchange)
        return self._channel

    def _disconnect(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def _release(self, token: str) -> None:
        # The broker did not confirm them: let them be claimed at once on the next pass.
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
        self._disconnect()

    def close(self) -> None:
        """Close the relay's broker connection (``run`` does it when stopped)."""
        self._disconnect()

    def stop(self) -> None:
        self._running = False
        self.nudge()
