"""``python -m crm_common.declare_queues``: declare every service's event-handler queues.

RabbitMQ drops an event published to an exchange with no queue bound. nameko declares a
handler's queue only when that service first starts, so on a fresh broker an event from a
service that started earlier would be lost for a subscriber that starts later. Running this
before any service starts (``make run``, every container) binds every queue first.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from typing import Any

import amqp
from kombu import Connection, Queue
from nameko.events import EventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from crm_common.config import load_config
from crm_common.events import EventHandler as CheckedEventHandler
from crm_common.events import failure_queues, handler_queue, queue_exists
from crm_common.registry import BACKEND_PROGRAMS
from crm_common.registry import program as registered


def service_class(service: str) -> type:
    """The nameko service class of a process (a service, or one of its own processes)."""
    module, _, name = registered(service).entrypoint.partition(":")
    return getattr(importlib.import_module(module), name)


def config_of(process: str) -> dict[str, Any]:
    """The config a process runs with: its service's (``customers-scanner`` runs with customers')."""
    return load_config(registered(process).service.config_path)


def handler_queues(service: str, config: dict[str, Any], as_service: str | None = None) -> list[Queue]:
    """The queues the event handlers of process ``service`` (its nameko name) consume, exactly as
    the handlers declare them; ``as_service``: the names they had in that process instead."""
    queues = []
    for method_name, method in inspect.getmembers(service_class(service), inspect.isfunction):
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if not isinstance(entrypoint, EventHandler):
                continue
            if not isinstance(entrypoint, CheckedEventHandler):
                raise TypeError(
                    f"{service}.{method_name}: use crm_common.events.event_handler, "
                    "so a malformed or failing event cannot loop"
                )
            queues.append(
                handler_queue(
                    entrypoint.source_service,
                    entrypoint.event_type,
                    as_service or service,
                    method_name,
                    config,
                )
            )
    return queues


def declare(amqp_uri: str, services: list[str]) -> list[str]:
    """Declare (idempotently) the exchanges, queues and bindings; returns the queue names.

    A queue that exists with other arguments (declared by an older release) is re-declared
    with the current ones, its messages kept (:func:`redeclare`).
    """
    declared = []
    with Connection(amqp_uri) as connection:
        connection.ensure_connection(max_retries=3)
        queues = failure_queues(config_of(services[0]))
        for service in services:
            queues += handler_queues(service, config_of(service))
        for queue in queues:
            declare_keeping_messages(connection, queue)
            declared.append(queue.name)
        for service in services:
            former = registered(service).took_over_from
            if former is not None:
                config = config_of(service)
                for old, new in zip(
                    handler_queues(service, config, as_service=former),
                    handler_queues(service, config),
                    strict=True,
                ):
                    retire(connection, old, new)
    return declared


def retire(connection: Connection, old: Queue, new: Queue) -> None:
    """The queue of a handler that moved to another process (``Process.took_over_from``): its
    messages go to the handler's new queue (declared, bound), then it is deleted, so it neither
    keeps the events it held nor collects every later one. Left for the next run while a process
    of the older release still consumes it. An event in both queues (published after the new
    one was bound) is handled once: the moved handler keeps its processed marks' name."""
    if not queue_exists(connection, old.name):
        return
    with connection.channel() as channel:
        consumers = channel.queue_declare(old.name, passive=True).consumer_count
    if consumers:
        print(
            f"{old.name}: its handler moved to {new.name}, but {consumers} consumer(s) of the older "
            "release still read it: left as it is; run crm-declare-queues again once they have stopped",
            file=sys.stderr,
        )
        return
    with connection.channel() as channel:
        if old.exchange is not None and old.exchange.name:
            channel.queue_unbind(old.name, old.exchange.name, old.routing_key or "")
    moved = _move(connection, old.name, new.name)
    with connection.channel() as channel:
        left = channel.queue_declare(old.name, passive=True)
        if left.consumer_count or left.message_count:  # a consumer came back meanwhile: next run
            return
        channel.queue_delete(old.name)  # quorum queues refuse if_unused: checked just above
    print(f"{old.name}: retired, {moved} message(s) moved to {new.name}", file=sys.stderr)


def holding_queue(queue: Queue) -> Queue:
    """Where ``queue``'s messages (and the events published meanwhile) wait while it is re-declared."""
    return Queue(
        f"{queue.name}.redeclaring",
        exchange=queue.exchange,
        routing_key=queue.routing_key,
        durable=True,
    )


def declare_keeping_messages(connection: Connection, queue: Queue) -> None:
    try:
        with connection.channel() as channel:
            queue(channel).declare()
    except connection.channel_errors as exc:
        if getattr(exc, "reply_code", None) != 406:  # PRECONDITION_FAILED: other arguments
            raise
        with connection.channel() as channel:
            consumers = channel.queue_declare(queue.name, passive=True).consumer_count
        if consumers:  # a service of the older release still runs: the next run does it
            print(
                f"{queue.name} exists with other arguments ({exc}) and has {consumers} consumer(s): "
                "left as it is; run crm-declare-queues again once they have stopped",
                file=sys.stderr,
            )
            return
        print(f"{queue.name} exists with other arguments ({exc}): re-declaring it", file=sys.stderr)
        redeclare(connection, queue)
        return
    # a re-declaration interrupted after the new queue was made: its messages are still held
    if queue_exists(connection, holding_queue(queue).name):
        _move(connection, holding_queue(queue).name, queue.name)
        with connection.channel() as channel:
            channel.queue_delete(holding_queue(queue).name)


def redeclare(connection: Connection, queue: Queue) -> None:
    """Re-declare ``queue`` with its current arguments, keeping its messages.

    The holding queue is bound like the queue first, so an event published meanwhile is kept
    too; the old queue is unbound, emptied into it, deleted (only when no consumer is attached:
    run this with the services stopped, as ``make run`` and the containers' entrypoint do),
    declared anew, and filled back. Interrupted, a second run finishes it (at-least-once:
    a message may be delivered twice, which ``handle_once`` absorbs).
    """
    holding = holding_queue(queue)
    with connection.channel() as channel:
        holding(channel).declare()
        if queue.exchange is not None and queue.exchange.name:
            channel.queue_unbind(queue.name, queue.exchange.name, queue.routing_key or "")
    _move(connection, queue.name, holding.name)
    with connection.channel() as channel:
        channel.queue_delete(queue.name, if_unused=True)
    with connection.channel() as channel:
        queue(channel).declare()
    _move(connection, holding.name, queue.name)
    with connection.channel() as channel:
        channel.queue_delete(holding.name)


def _move(connection: Connection, source: str, target: str) -> int:
    """Move every message of ``source`` to ``target`` (publisher-confirmed before each ack)."""
    moved = 0
    with connection.channel() as channel:
        channel.confirm_select()
        while (message := channel.basic_get(source, no_ack=False)) is not None:
            copy = amqp.Message(message.body, **message.properties)
            channel.basic_publish_confirm(copy, exchange="", routing_key=target)
            channel.basic_ack(message.delivery_tag)
            moved += 1
    return moved


def main(argv: list[str]) -> int:
    services = argv or [program.name for program in BACKEND_PROGRAMS]
    amqp_uri = config_of(services[0])["AMQP_URI"]
    for name in declare(amqp_uri, services):
        print(f"declared {name}")
    return 0


def main_cli() -> None:
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    main_cli()
