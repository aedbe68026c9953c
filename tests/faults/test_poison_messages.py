"""A handler that raises on every attempt: its event ends in the dead-letter queue after
EVENT_MAX_ATTEMPTS attempts, and ``crm-dead-letters`` lists it and replays it once."""

import json
import os
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kombu import Connection, Queue
from nameko.standalone.events import event_dispatcher

from crm_common.dead_letters import list_dead_letters
from crm_common.events import event_handler, failure_queues, handler_queue, handler_queue_name
from crm_common.outbox import envelope
from tests.support.system import eventually

pytestmark = pytest.mark.fault

CLI = Path(os.environ.get("VIRTUAL_ENV", Path(__file__).parents[2] / ".venv")) / "bin" / "crm-dead-letters"
QUEUE = handler_queue_name("ledger", "entry_booked", "bookkeeper", "on_entry_booked")


class Bookkeeper:
    """Raises while ``broken`` is set: a handler with a bug, or a dependency that is gone."""

    name = "bookkeeper"
    broken = True
    seen: list[str] = []

    @event_handler("ledger", "entry_booked")
    def on_entry_booked(self, event):
        Bookkeeper.seen.append(event["event_id"])
        if Bookkeeper.broken:
            raise RuntimeError(f"cannot book {event['data']['entry']}")


@pytest.fixture
def bookkeeper(container_factory, rabbit_config):
    Bookkeeper.broken, Bookkeeper.seen = True, []
    config = {"AMQP_URI": rabbit_config["AMQP_URI"], "EVENT_MAX_ATTEMPTS": 4, "EVENT_RETRY_DELAY_MS": 100}
    container = container_factory(Bookkeeper, config)
    container.start()
    return config


def queue_depth(amqp_uri, name):
    with Connection(amqp_uri) as connection, connection.channel() as channel:
        return channel.queue_declare(name, passive=True).message_count


def cli(amqp_uri, *args):
    return subprocess.run(
        [str(CLI), "--amqp-uri", amqp_uri, *args], capture_output=True, text=True, timeout=60
    )


def test_an_event_whose_handler_always_raises_is_dead_lettered_and_replayed_once(bookkeeper):
    uri = bookkeeper["AMQP_URI"]
    event = envelope("entry_booked", {"entry": "凭证 7"}, "ledger", datetime.now(UTC))
    event_dispatcher(bookkeeper)("ledger", "entry_booked", event)

    [letter] = eventually(lambda: list_dead_letters(uri), seconds=20)
    assert Bookkeeper.seen == [event["event_id"]] * 4  # four attempts, then no more
    assert queue_depth(uri, QUEUE) == 0
    assert (letter.queue, letter.event_type, letter.event_id) == (QUEUE, "entry_booked", event["event_id"])
    assert letter.attempts == 4 and "RuntimeError: cannot book 凭证 7" in letter.reason
    assert letter.body.startswith("{") and event["event_id"] in letter.body  # the first bytes

    listed = cli(uri, "list", "--queue", QUEUE, "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert row["event_id"] == event["event_id"] and row["attempts"] == 4 and row["reason"] == letter.reason

    Bookkeeper.broken = False  # the cause is fixed
    replayed = cli(uri, "replay", "--id", event["event_id"])
    assert replayed.returncode == 0, replayed.stderr
    assert "1 dead letter(s) replayed" in replayed.stdout
    assert eventually(lambda: len(Bookkeeper.seen) == 5, seconds=10)
    assert list_dead_letters(uri) == []

    again = cli(uri, "replay", "--id", event["event_id"])  # once each: it is gone now
    assert again.returncode == 1 and f"no dead letter with id {event['event_id']}" in again.stderr
    assert Bookkeeper.seen == [event["event_id"]] * 5


def test_purge_removes_only_the_named_dead_letters(bookkeeper):
    uri = bookkeeper["AMQP_URI"]
    dispatch = event_dispatcher(bookkeeper)
    events = [envelope("entry_booked", {"entry": n}, "ledger", datetime.now(UTC)) for n in (1, 2)]
    for event in events:
        dispatch("ledger", "entry_booked", event)
    assert (
        len(eventually(lambda: len(list_dead_letters(uri)) == 2 and list_dead_letters(uri), seconds=20)) == 2
    )

    purged = cli(uri, "purge", "--id", events[0]["event_id"])
    assert purged.returncode == 0, purged.stderr
    assert [letter.event_id for letter in list_dead_letters(uri)] == [events[1]["event_id"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay"], "name --queue, --id or --all"),
        (["purge"], "name --queue, --id or --all"),
        (["replay", "--all", "--queue", QUEUE], "--all goes without --queue and --id"),
        (["resurrect"], "invalid choice: 'resurrect'"),
        ([], "the following arguments are required"),
        (["list", "--limit", "3"], "unrecognized arguments: --limit 3"),
    ],
)
def test_bad_command_lines_are_refused_with_a_message(rabbit_config, args, message):
    result = cli(rabbit_config["AMQP_URI"], *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_an_unknown_id_or_an_unreachable_broker_is_an_error(rabbit_config):
    unknown = cli(rabbit_config["AMQP_URI"], "replay", "--id", uuid.uuid4().hex)
    assert unknown.returncode == 1 and "no dead letter with id" in unknown.stderr
    down = cli("amqp://guest:secret@127.0.0.1:1/", "list")
    assert down.returncode == 1 and "cannot reach the broker" in down.stderr
    assert "secret" not in down.stderr


def test_an_event_whose_consumer_keeps_dying_is_dead_lettered_without_running_again(
    container_factory, rabbit_config
):
    """kill -9 while handling: the message returns unacknowledged, never rejected. The quorum
    queue counts those returns; they count as attempts."""
    uri = rabbit_config["AMQP_URI"]
    config = {"AMQP_URI": uri, "EVENT_RETRY_DELAY_MS": 100, "EVENT_MAX_ATTEMPTS": 3}
    queue = handler_queue("ledger", "entry_booked", "bookkeeper", "on_entry_booked", config)
    event = envelope("entry_booked", {"entry": "凭证 9"}, "ledger", datetime.now(UTC))
    with Connection(uri) as connection:
        for declared in (*failure_queues(config), queue):
            declared(connection.default_channel).declare()
        event_dispatcher(config)("ledger", "entry_booked", event)
        for _ in range(3):  # a consumer takes it and dies before the ack, three times
            with connection.channel() as channel:
                assert channel.basic_get(queue.name, no_ack=False) is not None
    Bookkeeper.broken, Bookkeeper.seen = False, []
    container_factory(Bookkeeper, config).start()

    [letter] = eventually(lambda: list_dead_letters(uri), seconds=20)
    assert letter.event_id == event["event_id"] and letter.attempts == 3
    assert letter.reason == "its consumer died while handling it 3 times"
    assert Bookkeeper.seen == []  # not handed to a worker again
    assert queue_depth(uri, queue.name) == 0


def test_a_queue_left_with_old_arguments_is_consumed_and_a_failure_dead_lettered_at_once(
    container_factory, rabbit_config
):
    """An upgraded deployment before crm-declare-queues ran: the service still starts on the
    older release's classic queue, and a failing event is not dropped (rejecting it would)."""
    uri = rabbit_config["AMQP_URI"]
    config = {"AMQP_URI": uri, "EVENT_RETRY_DELAY_MS": 100}
    new = handler_queue("ledger", "entry_booked", "bookkeeper", "on_entry_booked", config)
    old = Queue(new.name, exchange=new.exchange, routing_key=new.routing_key, durable=True)
    with Connection(uri) as connection:
        old(connection.default_channel).declare()
    Bookkeeper.broken, Bookkeeper.seen = True, []
    container_factory(Bookkeeper, config).start()

    event = envelope("entry_booked", {"entry": "凭证 11"}, "ledger", datetime.now(UTC))
    event_dispatcher(config)("ledger", "entry_booked", event)
    [letter] = eventually(lambda: list_dead_letters(uri), seconds=20)
    assert letter.event_id == event["event_id"] and letter.attempts == 1
    assert Bookkeeper.seen == [event["event_id"]]
