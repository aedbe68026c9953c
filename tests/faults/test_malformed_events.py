"""Malformed events on every subscribed queue of every service, against the running system:
each is dropped with a log line (acknowledged once, never redelivered), the queues drain, and a
valid event sent afterwards is still processed by every handler."""

import json
import sqlite3
import time
import uuid
from datetime import UTC, datetime

import pytest
import requests
from kombu import Connection, Producer

from crm_common.declare_queues import config_of, handler_queues, service_class
from crm_common.registry import BACKEND_PROGRAMS, program
from tests.support.system import eventually

pytestmark = pytest.mark.fault

MANAGEMENT = "http://127.0.0.1:15672/api"


def valid(event_type, **data):
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "occurred_at": datetime.now(UTC).isoformat(),
        "version": 1,
        "data": data,
    }


def malformed(event_type):
    """(body bytes, content type, what is wrong) — the ways an event can be broken."""
    good = valid(event_type, customer_id=1)
    without = lambda key: {k: v for k, v in good.items() if k != key}  # noqa: E731
    cases = [
        (without("event_id"), "no event_id"),
        (without("data"), "no data"),
        ({**good, "data": ["customer_id", 1]}, "data not an object"),
        ({**good, "data": None}, "data null"),
        ({**good, "version": "1"}, "version a string"),
        ({**good, "event_id": 42}, "event_id a number"),
        ({**good, "event_id": "x" * 500}, "event_id too long"),
        (without("occurred_at"), "no occurred_at"),
        ([good], "a list"),
        ("customer_created", "a string"),
    ]
    bodies = [(json.dumps(body).encode(), "application/json", why) for body, why in cases]
    bodies.append((b'{"event_id": "1", "data": {', "application/json", "not JSON"))
    bodies.append((b"\xff\xfe\x00garbage", "application/json", "not UTF-8"))
    bodies.append((b"\x80\x04K\x01.", "application/x-python-serialize", "a pickle"))
    return bodies


def subscribed_queues():
    """Every handler queue of every process (customers-scanner's too), enumerated as declare_queues does."""
    return [
        (process.name, queue)
        for process in BACKEND_PROGRAMS
        for queue in handler_queues(process.name, config_of(process.name))
    ]


def queue_stats(system, name):
    reply = requests.get(
        f"{MANAGEMENT}/queues/{system.vhost}/{requests.utils.quote(name, safe='')}",
        auth=("guest", "guest"),
        timeout=10,
    )
    reply.raise_for_status()
    return reply.json()


def publish(connection, queue, body, content_type):
    Producer(connection.default_channel).publish(
        body, exchange="", routing_key=queue, content_type=content_type, content_encoding="utf-8"
    )


def processed(system, service, event_id):
    with sqlite3.connect(system.var_dir / f"{service}.db") as db:
        return {
            row[0]
            for row in db.execute("SELECT handler FROM processed_events WHERE event_id = ?", (event_id,))
        }


def test_malformed_events_on_every_queue_are_dropped_once_and_valid_ones_still_processed(fault_system):
    queues = subscribed_queues()
    assert {service for service, _ in queues} >= {"customers", "customers-scanner", "pipeline", "notify"}
    uri = fault_system.env["AMQP_URI"]
    sent = {}
    with Connection(uri) as connection:
        for _, queue in queues:
            bodies = malformed(queue.routing_key)
            for body, content_type, _ in bodies:
                publish(connection, queue.name, body, content_type)
            sent[queue.name] = len(bodies)

    # every message is taken once and acknowledged: none waits, none is redelivered. The
    # management API's counters are sampled (every 5 s by default), so wait until the acks show.
    def all_acknowledged():
        stats = {name: queue_stats(fault_system, name) for name in sent}
        done = all(
            s.get("messages") == 0 and s.get("message_stats", {}).get("ack", 0) >= sent[name]
            for name, s in stats.items()
        )
        return done and stats

    stats = eventually(all_acknowledged, seconds=60, interval=1)
    assert stats, {name: queue_stats(fault_system, name).get("message_stats") for name in sent}
    time.sleep(6)  # more than one sampling interval: a loop would redeliver thousands of times
    for name in sent:
        now = queue_stats(fault_system, name)
        assert now["messages"] == 0, name
        assert now.get("message_stats", {}).get("redeliver", 0) == 0, name
        assert now["message_stats"].get("ack", 0) == sent[name], name
    dead = queue_stats(fault_system, "crm.dead-letters")
    assert dead["messages"] == 0  # malformed is dropped, not dead-lettered: nothing to replay

    log = fault_system.log_path.read_text(errors="replace")
    for name, count in sent.items():
        assert log.count(f"{name}: malformed event dropped") == count, name
    # the line says why
    assert "event_id: Missing data for required field" in log and "version: Not a valid integer" in log
    assert "the body cannot be decoded" in log and "the body is a JSON list, not an object" in log

    # a valid event afterwards: every handler still runs it (its processed mark is committed)
    with Connection(uri) as connection:
        events = {}
        for service, queue in queues:
            event = valid(
                queue.routing_key,
                customer_id=987654,
                name="故障演练有限公司",
                owner_id=1,
                to_owner_id=1,
                team="east",
                changed_fields=["name"],
                alarm_id=99,
                suspicion_id=99,
                duplicate_of_id=987653,
            )
            publish(connection, queue.name, json.dumps(event).encode(), "application/json")
            method = queue.name.rsplit(".", 1)[1]
            handler_class = service_class(service)  # customers-scanner's marks: customers' database
            owner = getattr(handler_class, "handled_as", None) or handler_class.__name__
            events[queue.name] = (program(service).service.name, event["event_id"], f"{owner}.{method}")
    for name, (service, event_id, handler) in events.items():
        assert eventually(
            lambda s=service, e=event_id, h=handler: h in processed(fault_system, s, e), seconds=20
        ), name
    assert queue_stats(fault_system, "crm.dead-letters")["messages"] == 0
