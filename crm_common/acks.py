"""A broker connection that drops at the moment a request is acknowledged, or while its reply is
being published, must not kill the service.

nameko 2.14's ``QueueConsumer.ack_message`` and ``requeue_message`` swallow AMQP connection errors
but not socket errors: a ``BrokenPipeError`` from the ack escapes the worker thread, and nameko
treats an error in a managed thread as fatal — the container (under ``nameko run``, the whole
process) stops. Found by the broker-drop fault test. An ack that cannot be sent is harmless: the
broker delivers the request again, and ``crm_common.idempotency`` answers it from the request log.

The reply is the same case one step earlier: ``RpcConsumer.handle_result`` publishes it and then
acks, and a publish that fails because the link is gone (kombu's OperationalError once its retries
are spent, or a socket error) escaped the worker thread too and stopped the service — seen when a
broker-drop fault test cut the link under 12 writes on a busy machine: customers and knowledge
stopped, and every later request timed out. A reply that cannot be published is logged and its
request requeued (or, on a dead channel, left to the broker): the caller's retry, or the
redelivery, is answered from the request log, so the write is still done once.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from kombu.exceptions import OperationalError
from nameko.messaging import QueueConsumer
from nameko.rpc import RpcConsumer

log = logging.getLogger(__name__)


def _tolerant(settle: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    @functools.wraps(settle)
    def settle_or_leave_to_the_broker(self: Any, message: Any) -> None:
        try:
            settle(self, message)
        except OSError as exc:
            log.warning(
                "%s lost with the broker connection (%s): the broker redelivers", settle.__name__, exc
            )

    settle_or_leave_to_the_broker.tolerant = True  # type: ignore[attr-defined]
    return settle_or_leave_to_the_broker


LINK_ERRORS = (OSError, OperationalError)


def _tolerant_reply(handle_result: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(handle_result)
    def reply_or_leave_to_the_broker(self: Any, message: Any, result: Any, exc_info: Any) -> Any:
        try:
            return handle_result(self, message, result, exc_info)
        except LINK_ERRORS as exc:
            log.warning(
                "a reply was lost with the broker connection (%s): the request is requeued and its"
                " repeat is answered from the request log",
                exc,
            )
            self.queue_consumer.requeue_message(message)  # tolerant: a dead channel redelivers
            return result, exc_info

    reply_or_leave_to_the_broker.tolerant = True  # type: ignore[attr-defined]
    return reply_or_leave_to_the_broker


def tolerate_lost_acks() -> None:
    """Make nameko's acks, requeues and RPC replies survive a dropped connection (once per
    process)."""
    for name in ("ack_message", "requeue_message"):
        settle = getattr(QueueConsumer, name)
        if not getattr(settle, "tolerant", False):
            setattr(QueueConsumer, name, _tolerant(settle))
    if not getattr(RpcConsumer.handle_result, "tolerant", False):
        RpcConsumer.handle_result = _tolerant_reply(RpcConsumer.handle_result)  # type: ignore[method-assign]
