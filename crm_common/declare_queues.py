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

from kombu import Connection, Queue
from nameko.events import SERVICE_POOL, EventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.standalone.events import get_event_exchange

from crm_common.config import SERVICE_NAMES, load_config, service_config_path

SERVICE_CLASSES = {
    "accounts": "accounts.service:AccountsService",
    "customers": "customers.service:CustomersService",
    "pipeline": "pipeline.service:PipelineService",
    "notify": "notify.service:NotifyService",
    "knowledge": "knowledge.service:KnowledgeService",
}


def service_class(service: str) -> type:
    module, _, name = SERVICE_CLASSES[service].partition(":")
    return getattr(importlib.import_module(module), name)


def handler_queues(service: str, config: dict[str, Any]) -> list[Queue]:
    """The durable queues nameko would declare for ``service``'s SERVICE_POOL event handlers."""
    queues = []
    for method_name, method in inspect.getmembers(service_class(service), inspect.isfunction):
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if not isinstance(entrypoint, EventHandler) or entrypoint.handler_type is not SERVICE_POOL:
                continue
            source = entrypoint.source_service
            queues.append(
                Queue(
                    f"evt-{source}-{entrypoint.event_type}--{service}.{method_name}",
                    exchange=get_event_exchange(source, config),
                    routing_key=entrypoint.event_type,
                    durable=True,
                    auto_delete=entrypoint.reliable_delivery is False,
                )
            )
    return queues


def declare(amqp_uri: str, services: list[str]) -> list[str]:
    """Declare (idempotently) the exchanges, queues and bindings; returns the queue names."""
    declared = []
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        for service in services:
            config = load_config(service_config_path(service))
            for queue in handler_queues(service, config):
                queue(channel).declare()
                declared.append(queue.name)
    return declared


def main(argv: list[str]) -> int:
    services = argv or list(SERVICE_NAMES)
    amqp_uri = load_config(service_config_path(services[0]))["AMQP_URI"]
    for name in declare(amqp_uri, services):
        print(f"declared {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
