"""Consuming events: at least once, each acted on exactly once, and never in a loop.

Every ``@event_handler`` of the services is this module's :func:`event_handler`, a nameko
``EventHandler`` that

- checks the envelope (:class:`EnvelopeSchema`) before a worker starts, and acknowledges and
  drops (with a log line naming the queue and why) a message that is not one, including a body
  that is not JSON at all: retried, it could only fail again;
- retries a handler that raises after a delay, through a RabbitMQ dead-letter exchange (the
  handler's queue rejects into ``crm.retry``, a queue whose messages expire back into the
  handler's queue), counting the attempts in the broker's own ``x-death`` header;
- after ``EVENT_MAX_ATTEMPTS`` failed attempts moves the message to the dead-letter queue
  ``crm.dead-letters`` (see :mod:`crm_common.dead_letters` and ``crm-dead-letters``);
- consumes a quorum queue, which counts the returns of a message whose consumer died while
  handling it (``x-delivery-count``): a message that kills its process on every restart is
  dead-lettered as well, counted in the same attempts.

See docs/events.md, "Poison messages and dead letters", for why it is built this way.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from functools import partial
from typing import Any

from kombu import Connection, Exchange, Queue
from marshmallow import INCLUDE, Schema, ValidationError, fields, validate
from nameko.events import SERVICE_POOL, EventHandlerConfigurationError
from nameko.events import EventHandler as NamekoEventHandler
from nameko.messaging import Consumer, QueueConsumer
from nameko.standalone.events import get_event_exchange

log = logging.getLogger(__name__)

EVENT_VERSION = 1

RETRY_EXCHANGE = "crm.retry"
RETRY_QUEUE = "crm.retry"
DEAD_LETTER_EXCHANGE = "crm.dead-letters"
DEAD_LETTER_QUEUE = "crm.dead-letters"

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_RETRY_DELAY_MS = 5000


# --- the envelope ---------------------------------------------------------------------------


class EnvelopeSchema(Schema):
    """``{"event_id", "occurred_at", "version": 1, "data": {...}}``; other keys are allowed."""

    class Meta:
        unknown = INCLUDE

    # the processed-events table keys on it: String(64)
    event_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    occurred_at = fields.AwareDateTime(required=True)
    version = fields.Integer(strict=True, required=True, validate=validate.Equal(EVENT_VERSION))
    data = fields.Dict(keys=fields.String(), required=True)


_envelope_schema = EnvelopeSchema()


def envelope_problem(body: Any) -> str | None:
    """Why ``body`` is not an event envelope, in one line; None when it is one."""
    if not isinstance(body, dict):
        return f"the body is a JSON {type(body).__name__}, not an object"
    try:
        _envelope_schema.load(body)
    except ValidationError as exc:
        return "; ".join(
            f"{field}: {' '.join(map(str, messages)) if isinstance(messages, list) else messages}"
            for field, messages in sorted(exc.normalized_messages().items())
        )
    return None


# --- settings and queues --------------------------------------------------------------------


def _setting(config: dict[str, Any], key: str, default: int) -> int:
    value = config.get(key) or os.environ.get(f"CRM_{key}") or default
    number = int(value)
    if number < 1:
        raise ValueError(f"{key} must be at least 1, not {value!r}")
    return number


def max_attempts(config: dict[str, Any]) -> int:
    """Attempts of a handler that raises before its message is dead-lettered (default 5)."""
    return _setting(config, "EVENT_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)


def retry_delay_ms(config: dict[str, Any]) -> int:
    """Milliseconds between two attempts (default 5000)."""
    return _setting(config, "EVENT_RETRY_DELAY_MS", DEFAULT_RETRY_DELAY_MS)


def handler_queue_name(source: str, event_type: str, service: str, method: str) -> str:
    """nameko's name for a SERVICE_POOL handler's queue."""
    return f"evt-{source}-{event_type}--{service}.{method}"


def handler_queue_arguments(name: str) -> dict[str, Any]:
    """The arguments of every handler queue. They must be the same wherever the queue is
    declared (here and ``crm_common.declare_queues``), or RabbitMQ refuses the declaration."""
    return {
        # counts returns of unacknowledged messages (x-delivery-count); no x-delivery-limit: the
        # broker would dead-letter into crm.retry, and the loop back here, having no rejection
        # in it, is a dead-letter cycle RabbitMQ drops silently. The handler counts instead.
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": RETRY_EXCHANGE,
        "x-dead-letter-routing-key": name,
        # quorum queues lose a dead letter the target cannot take unless told otherwise
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def handler_queue(source: str, event_type: str, service: str, method: str, config: dict) -> Queue:
    """The durable quorum queue of one SERVICE_POOL event handler, bound to ``<source>.events``."""
    name = handler_queue_name(source, event_type, service, method)
    return Queue(
        name,
        exchange=get_event_exchange(source, config),
        routing_key=event_type,
        durable=True,
        queue_arguments=handler_queue_arguments(name),
    )


def failure_queues(config: dict[str, Any]) -> list[Queue]:
    """The retry queue (its messages expire back to the queue they came from, by their routing
    key, the handler queue's name) and the dead-letter queue."""
    retry = Queue(
        RETRY_QUEUE,
        exchange=Exchange(RETRY_EXCHANGE, type="fanout", durable=True),
        durable=True,
        queue_arguments={
            "x-message-ttl": retry_delay_ms(config),
            "x-dead-letter-exchange": "",
        },
    )
    dead = Queue(
        DEAD_LETTER_QUEUE,
        exchange=Exchange(DEAD_LETTER_EXCHANGE, type="fanout", durable=True),
        durable=True,
    )
    return [retry, dead]


def attempts_so_far(message: Any, queue: str) -> tuple[int, int]:
    """(failed attempts, deaths) of ``message`` in ``queue``: the times a handler raised (the
    broker's ``x-death`` count of rejections into ``crm.retry``) and the times it came back
    unacknowledged since (the quorum queue's ``x-delivery-count``: its consumer died)."""
    headers = message.headers or {}
    rejected = 0
    for death in headers.get("x-death") or ():
        if death.get("queue") == queue and death.get("reason") == "rejected":
            rejected = int(death.get("count") or 0)
    return rejected, int(headers.get("x-delivery-count") or 0)


# --- the entrypoint -------------------------------------------------------------------------


class EventQueueConsumer(QueueConsumer):
    """nameko's queue consumer, but a body that cannot be decoded is acknowledged and logged.

    kombu raises out of the consumer loop on an undecodable body unless the consumer has an
    ``on_decode_error``; the message then comes back on every reconnection.
    """

    def get_consumers(self, consumer_cls: Any, channel: Any) -> Any:
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = partial(self._undecodable, provider)
        return consumers

    def _undecodable(self, provider: Any, message: Any, exc: Exception) -> None:
        log.error(
            "%s: malformed event dropped: the body cannot be decoded (%s, content type %s): %.120r",
            provider.queue.name,
            exc,
            message.content_type,
            message.body,
        )
        message.ack()


class EventHandler(NamekoEventHandler):
    """A SERVICE_POOL event handler with envelope check, delayed retries and dead letters."""

    queue_consumer = EventQueueConsumer()

    def __init__(self, source_service: str, event_type: str, **kwargs: Any) -> None:
        if kwargs.get("handler_type", SERVICE_POOL) is not SERVICE_POOL or not kwargs.get(
            "reliable_delivery", True
        ):
            raise EventHandlerConfigurationError("crm_common.events handles SERVICE_POOL handlers only")
        if "requeue_on_error" in kwargs:
            raise EventHandlerConfigurationError(
                "a failed event is retried with a delay, then dead-lettered: no requeue_on_error"
            )
        super().__init__(source_service, event_type, **kwargs)

    def setup(self) -> None:
        config = self.container.config
        self.max_attempts = max_attempts(config)
        self.queue = handler_queue(
            self.source_service, self.event_type, self.container.service_name, self.method_name, config
        )
        self.retries = self._declare(config)
        Consumer.setup(self)  # registers with the queue consumer (nameko's setup would redo the queue)

    def _declare(self, config: dict[str, Any]) -> bool:
        """Declare the retry and dead-letter queues (without them a rejection would drop the
        message) and the handler's queue; False when the handler's queue exists with other
        arguments (an older release's): it is then consumed as it is, and a failure goes
        straight to the dead-letter queue, since rejecting it would drop it."""
        retries = True
        with Connection(config["AMQP_URI"]) as connection:
            for queue in (*failure_queues(config), self.queue):
                try:
                    with connection.channel() as channel:
                        queue(channel).declare()
                except connection.channel_errors as exc:  # PRECONDITION_FAILED: other arguments
                    log.error(
                        "%s exists with other arguments (%s): used as it is until "
                        "crm-declare-queues re-declares it%s",
                        queue.name,
                        exc,
                        "; failed events go to the dead-letter queue at once" if queue is self.queue else "",
                    )
                    if queue is self.queue:
                        retries = False
                        self.queue.no_declare = True  # type: ignore[attr-defined]  # kombu sets it via attrs
        return retries

    def handle_message(self, body: Any, message: Any) -> None:
        problem = envelope_problem(body)
        if problem is not None:
            event_id = body.get("event_id") if isinstance(body, dict) else None
            log.error(
                "%s: malformed event dropped (event_id %r): %s: %.200r",
                self.queue.name,
                event_id,
                problem,
                body,
            )
            self.queue_consumer.ack_message(message)
            return
        failed, died = attempts_so_far(message, self.queue.name)
        if failed + died >= self.max_attempts:
            self._dead_letter(
                message,
                body,
                f"its consumer died while handling it {died} times"
                + (f" (and the handler raised {failed} times)" if failed else ""),
                failed + died,
            )
            return
        super().handle_message(body, message)

    def handle_message_processed(self, message: Any, result: Any = None, exc_info: Any = None) -> None:
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        attempt = sum(attempts_so_far(message, self.queue.name)) + 1
        if attempt < self.max_attempts and self.retries:
            log.warning(
                "%s: attempt %d of %d failed (%s: %s); retried later",
                self.queue.name,
                attempt,
                self.max_attempts,
                exc_info[0].__name__,
                exc_info[1],
            )
            if message.channel.connection:  # else the broker has it back already
                message.reject(requeue=False)  # → crm.retry → back here after the delay
            return
        self._dead_letter(message, message.payload, f"{exc_info[0].__name__}: {exc_info[1]}"[:500], attempt)

    def _dead_letter(self, message: Any, body: Any, reason: str, attempts: int) -> None:
        from crm_common.dead_letters import publish_dead_letter

        event_id = body.get("event_id") if isinstance(body, dict) else None
        try:
            dead_letter_id = publish_dead_letter(
                self.container.config["AMQP_URI"],
                message,
                queue=self.queue.name,
                service=self.container.service_name,
                event_type=self.event_type,
                event_id=event_id,
                reason=reason,
                attempts=attempts,
            )
        except Exception:
            log.exception("%s: event %s could not be dead-lettered; retried", self.queue.name, event_id)
            if message.channel.connection:
                message.reject(requeue=False)
            return
        log.error(
            "%s: event %s dead-lettered as %s after %d attempts: %s",
            self.queue.name,
            event_id,
            dead_letter_id,
            attempts,
            reason,
        )
        self.queue_consumer.ack_message(message)


event_handler = EventHandler.decorator


def handle_once(handler: Callable[[Any, dict], Any]) -> Callable[[Any, dict], Any]:
    """Wrap an ``@event_handler`` method so a redelivered event (same ``event_id``) is skipped.

    The processed mark is written in the handler's own transaction (``self.db``), so the
    effects and the mark commit together or not at all. The envelope was checked before the
    worker started (:class:`EventHandler`). The mark names the handler ``<ServiceClass>.<method>``
    — the service's class, also for a handler written in a mixin of it (``service_<area>.py``),
    so moving a handler between the service and its mixins does not forget what it handled. A
    class that took handlers over from another (customers' scan, moved from ``CustomersService``
    to ``CustomersScannerService`` in a process of its own) names the former in ``handled_as``:
    its marks keep that name, so an event handled before the move, or by a process of the older
    release still running beside it, is not handled again.
    """

    @functools.wraps(handler)
    def once(self: Any, event: dict) -> Any:
        owner = getattr(type(self), "handled_as", None) or type(self).__name__
        if not self.db.first_delivery(event["event_id"], f"{owner}.{handler.__name__}"):
            return None
        return handler(self, event)

    return once


def queue_exists(connection: Any, name: str) -> bool:
    """Whether queue ``name`` exists on the broker (a passive declare; ``connection`` is kombu's)."""
    try:
        with connection.channel() as channel:
            channel.queue_declare(name, passive=True)
    except connection.channel_errors:
        return False
    return True
