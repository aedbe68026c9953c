"""declare_queues declares each handler queue exactly as the handler does (or RabbitMQ refuses
the second declaration with PRECONDITION_FAILED), and re-declares a queue left by an older
release with other arguments without losing its messages."""

import json
from urllib.parse import quote

import requests
from kombu import Connection, Exchange, Producer, Queue

from crm_common.declare_queues import declare, handler_queues, holding_queue
from crm_common.events import RETRY_QUEUE, handler_queue_arguments
from pipeline.service import PipelineService
from tests.support.system import eventually

MANAGEMENT = "http://127.0.0.1:15672/api"
TRANSFERRED = "evt-customers-customer_transferred--pipeline.on_customer_transferred"


def queue_info(rabbit_config, name):
    reply = requests.get(
        f"{MANAGEMENT}/queues/{rabbit_config['vhost']}/{quote(name, safe='')}",
        auth=("guest", "guest"),
        timeout=10,
    )
    reply.raise_for_status()
    return reply.json()


def depth(connection, name):
    with connection.channel() as channel:
        return channel.queue_declare(name, passive=True).message_count


def publish_event(connection, n):
    Producer(connection.default_channel).publish(
        json.dumps({"n": n}).encode(),
        exchange=Exchange("customers.events", type="topic", durable=True),
        routing_key="customer_transferred",
        content_type="application/json",
        delivery_mode=2,
    )


def test_services_start_on_the_queues_declare_queues_made(
    rabbit_config, container_factory, service_config, migrated
):
    declared = declare(rabbit_config["AMQP_URI"], ["customers", "pipeline", "notify"])
    assert TRANSFERRED in declared and RETRY_QUEUE in declared
    assert queue_info(rabbit_config, TRANSFERRED)["arguments"] == handler_queue_arguments(TRANSFERRED)
    assert queue_info(rabbit_config, TRANSFERRED)["type"] == "quorum"

    migrated("pipeline")
    container = container_factory(PipelineService, service_config)
    container.start()  # nameko declares the same queues again: same arguments, or it fails here
    with Connection(rabbit_config["AMQP_URI"]) as connection, connection.channel() as channel:
        assert channel.queue_declare(TRANSFERRED, passive=True).consumer_count == 1
    assert declare(rabbit_config["AMQP_URI"], ["pipeline"])  # and again while it runs


def test_a_queue_of_an_older_release_is_redeclared_with_its_messages(rabbit_config):
    uri = rabbit_config["AMQP_URI"]
    [old] = [
        Queue(q.name, exchange=q.exchange, routing_key=q.routing_key, durable=True)  # classic, no arguments
        for q in handler_queues("pipeline", {"AMQP_URI": uri})
        if q.name == TRANSFERRED
    ]
    with Connection(uri) as connection:
        old(connection.default_channel).declare()
        for n in range(3):
            publish_event(connection, n)
        assert eventually(lambda: depth(connection, TRANSFERRED) == 3, seconds=5)

        declare(uri, ["pipeline"])

        info = queue_info(rabbit_config, TRANSFERRED)
        assert info["type"] == "quorum" and info["arguments"] == handler_queue_arguments(TRANSFERRED)
        assert eventually(lambda: depth(connection, TRANSFERRED) == 3, seconds=5)
        publish_event(connection, 3)  # still bound to the exchange
        assert eventually(lambda: depth(connection, TRANSFERRED) == 4, seconds=5)
        with connection.channel() as channel:
            bodies = [json.loads(channel.basic_get(TRANSFERRED, no_ack=True).body) for _ in range(4)]
        assert bodies == [{"n": n} for n in range(4)]  # in order, none lost
        assert not requests.get(
            f"{MANAGEMENT}/queues/{rabbit_config['vhost']}/{quote(holding_queue(old).name, safe='')}",
            auth=("guest", "guest"),
            timeout=10,
        ).ok


def test_an_interrupted_redeclaration_is_finished_by_the_next_run(rabbit_config):
    uri = rabbit_config["AMQP_URI"]
    [queue] = [q for q in handler_queues("pipeline", {"AMQP_URI": uri}) if q.name == TRANSFERRED]
    holding = holding_queue(queue)
    with Connection(uri) as connection:
        holding(connection.default_channel).declare()  # stopped after the old queue was deleted
        for n in range(2):
            publish_event(connection, n)
        assert eventually(lambda: depth(connection, holding.name) == 2, seconds=5)
        declare(uri, ["pipeline"])
        assert eventually(lambda: depth(connection, TRANSFERRED) == 2, seconds=5)
        assert not requests.get(
            f"{MANAGEMENT}/queues/{rabbit_config['vhost']}/{quote(holding.name, safe='')}",
            auth=("guest", "guest"),
            timeout=10,
        ).ok


def test_a_queue_with_old_arguments_still_consumed_is_left_for_the_next_run(rabbit_config):
    uri = rabbit_config["AMQP_URI"]
    [queue] = [q for q in handler_queues("pipeline", {"AMQP_URI": uri}) if q.name == TRANSFERRED]
    old = Queue(queue.name, exchange=queue.exchange, routing_key=queue.routing_key, durable=True)
    with Connection(uri) as connection, connection.channel() as consuming:
        old(consuming).declare()
        publish_event(connection, 0)
        consuming.basic_consume(TRANSFERRED, callback=lambda message: None)  # an old service, still up
        declare(uri, ["pipeline"])  # no error: the other queues are declared
        assert queue_info(rabbit_config, TRANSFERRED)["type"] == "classic"
        assert queue_info(rabbit_config, RETRY_QUEUE)["type"] == "classic"
    declare(uri, ["pipeline"])  # the old consumer is gone
    assert queue_info(rabbit_config, TRANSFERRED)["type"] == "quorum"


OLD_SCAN = "evt-customers-customer_created--customers.scan_new_customer"
NEW_SCAN = "evt-customers-customer_created--customers-scanner.scan_new_customer"


def consumers(connection, name):
    with connection.channel() as channel:
        return channel.queue_declare(name, passive=True).consumer_count


def publish_created(connection, n):
    Producer(connection.default_channel).publish(
        json.dumps({"n": n}).encode(),
        exchange=Exchange("customers.events", type="topic", durable=True),
        routing_key="customer_created",
        content_type="application/json",
        delivery_mode=2,
    )


def test_the_queue_of_a_handler_moved_to_another_process_is_emptied_into_its_new_queue_and_deleted(
    rabbit_config,
):
    """The scan moved from customers to customers-scanner: what the old queue held is scanned by
    the new process, and the old queue no longer collects every customer_created."""
    uri = rabbit_config["AMQP_URI"]
    [old] = [
        q
        for q in handler_queues("customers-scanner", {"AMQP_URI": uri}, as_service="customers")
        if q.name == OLD_SCAN
    ]
    with Connection(uri) as connection:
        old(connection.default_channel).declare()  # the older release's queue, with events in it
        for n in range(3):
            publish_created(connection, n)
        assert eventually(lambda: depth(connection, OLD_SCAN) == 3, seconds=5)

        with connection.channel() as consuming:  # an older customers process still reads it
            consuming.basic_consume(OLD_SCAN, callback=lambda message: None)
            declare(uri, ["customers", "customers-scanner"])
            assert consumers(connection, OLD_SCAN) == 1  # left as it is
        assert eventually(lambda: consumers(connection, OLD_SCAN) == 0, seconds=10)

        declared = declare(uri, ["customers", "customers-scanner"])
        assert NEW_SCAN in declared and OLD_SCAN not in declared
        assert not requests.get(
            f"{MANAGEMENT}/queues/{rabbit_config['vhost']}/{quote(OLD_SCAN, safe='')}",
            auth=("guest", "guest"),
            timeout=10,
        ).ok
        # the 3 it held, plus the copies the new queue got once bound (handle_once keeps one each)
        assert eventually(lambda: depth(connection, NEW_SCAN) >= 3, seconds=5)
        with connection.channel() as channel:
            bodies = []
            while (message := channel.basic_get(NEW_SCAN, no_ack=True)) is not None:
                bodies.append(json.loads(message.body)["n"])
        assert set(bodies) == {0, 1, 2}
        publish_created(connection, 3)
        assert eventually(lambda: depth(connection, NEW_SCAN) == 1, seconds=5)
