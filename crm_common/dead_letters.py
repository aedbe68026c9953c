"""The dead-letter queue: events a handler failed on ``EVENT_MAX_ATTEMPTS`` times.

``crm-dead-letters list|replay|purge [--queue Q] [--id ID ...]``: an operator lists what is
there (queue, event type, event_id, attempts, reason, the first bytes of the body), fixes the
cause, and replays each dead letter once to the queue it came from, or purges it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from kombu import Connection, Producer
from kombu.exceptions import OperationalError

# an operator's command: eventlet's deprecation notice (through nameko) is noise on its screen
warnings.filterwarnings("ignore", message="\\s*Eventlet is deprecated")

from crm_common.events import DEAD_LETTER_QUEUE, failure_queues, queue_exists  # noqa: E402

# headers the dead letter carries about itself; stripped on replay, with the broker's x-death
HEADER_PREFIX = "x-crm-"


def _confirmed(amqp_uri: str) -> Connection:
    """A connection whose publishes return once the broker has the message (publisher confirms)."""
    return Connection(amqp_uri, transport_options={"confirm_publish": True}, connect_timeout=10)


def publish_dead_letter(
    amqp_uri: str,
    message: Any,
    *,
    queue: str,
    service: str,
    event_type: str,
    event_id: str | None,
    reason: str,
    attempts: int,
) -> str:
    """Put a copy of ``message`` (body and headers as they were) on the dead-letter queue;
    returns the dead letter's id. The caller acknowledges the original afterwards."""
    dead_letter_id = uuid.uuid4().hex
    headers = {k: v for k, v in (message.headers or {}).items() if k != "x-death"}
    headers.update(
        {
            f"{HEADER_PREFIX}queue": queue,
            f"{HEADER_PREFIX}service": service,
            f"{HEADER_PREFIX}event-type": event_type,
            f"{HEADER_PREFIX}event-id": event_id or "",
            f"{HEADER_PREFIX}reason": reason,
            f"{HEADER_PREFIX}attempts": attempts,
            f"{HEADER_PREFIX}dead-lettered-at": datetime.now(UTC).isoformat(),
        }
    )
    with _confirmed(amqp_uri) as connection:
        retry, dead = failure_queues({})
        Producer(connection.default_channel).publish(
            message.body,
            exchange=dead.exchange,
            routing_key=queue,
            content_type=message.content_type or "application/json",
            content_encoding=message.content_encoding or "utf-8",
            headers=headers,
            message_id=dead_letter_id,
            delivery_mode=2,
            declare=[dead],
        )
    return dead_letter_id


@dataclass
class DeadLetter:
    id: str
    queue: str
    service: str
    event_type: str
    event_id: str
    attempts: int
    reason: str
    dead_lettered_at: str
    body: str  # the first bytes, for a person to recognise the event

    @classmethod
    def of(cls, message: Any) -> DeadLetter:
        headers = message.headers or {}

        def header(name: str) -> str:
            value = headers.get(HEADER_PREFIX + name, "")
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)

        body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
        return cls(
            id=str(message.properties.get("message_id") or ""),
            queue=header("queue"),
            service=header("service"),
            event_type=header("event-type"),
            event_id=header("event-id"),
            attempts=int(header("attempts") or 0),
            reason=header("reason"),
            dead_lettered_at=header("dead-lettered-at"),
            body=body[:120].decode("utf-8", "replace"),
        )

    def matches(self, queue: str | None, ids: list[str]) -> bool:
        return (queue is None or self.queue == queue) and (not ids or self.id in ids or self.event_id in ids)


@contextmanager
def _held(amqp_uri: str) -> Iterator[tuple[Connection, list[tuple[DeadLetter, Any]]]]:
    """Every dead letter, taken without acknowledging: those the caller does not ack go back
    to the queue when the channel closes. Each message is seen once per call."""
    with _confirmed(amqp_uri) as connection:
        connection.ensure_connection(max_retries=1)
        _, dead = failure_queues({})
        channel = connection.channel()
        queue = dead(channel)
        queue.declare()
        held = []
        try:
            while (message := queue.get(no_ack=False, accept=None)) is not None:
                held.append((DeadLetter.of(message), message))
            yield connection, held
        finally:
            channel.close()  # unacknowledged messages return to the queue


def list_dead_letters(
    amqp_uri: str, queue: str | None = None, ids: list[str] | None = None
) -> list[DeadLetter]:
    with _held(amqp_uri) as (_, held):
        return [letter for letter, _ in held if letter.matches(queue, ids or [])]


def replay(amqp_uri: str, queue: str | None = None, ids: list[str] | None = None) -> list[DeadLetter]:
    """Publish each matching dead letter once to its original queue, then remove it from the
    dead-letter queue; returns those replayed. A queue that no longer exists is an error."""
    replayed = []
    with _held(amqp_uri) as (connection, held):
        wanted = [(letter, message) for letter, message in held if letter.matches(queue, ids or [])]
        missing = sorted({letter.queue for letter, _ in wanted if not queue_exists(connection, letter.queue)})
        if missing:
            raise LookupError(f"no such queue: {', '.join(missing)} (is the service declared?)")
        producer = Producer(connection.channel())
        for letter, message in wanted:
            headers = {
                k: v
                for k, v in (message.headers or {}).items()
                if not k.startswith(HEADER_PREFIX) and k != "x-death"
            }
            producer.publish(
                message.body,
                exchange="",
                routing_key=letter.queue,
                content_type=message.content_type,
                content_encoding=message.content_encoding,
                headers=headers,
                delivery_mode=2,
            )
            message.ack()
            replayed.append(letter)
    return replayed


def purge(amqp_uri: str, queue: str | None = None, ids: list[str] | None = None) -> list[DeadLetter]:
    """Remove the matching dead letters for good; returns them."""
    purged = []
    with _held(amqp_uri) as (_, held):
        for letter, message in held:
            if letter.matches(queue, ids or []):
                message.ack()
                purged.append(letter)
    return purged


# --- the command ----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crm-dead-letters",
        description=f"List, replay or purge the events in the dead-letter queue ({DEAD_LETTER_QUEUE}).",
    )
    parser.add_argument(
        "--amqp-uri",
        default=os.environ.get("AMQP_URI", "amqp://guest:guest@localhost:5672/"),
        help="the broker (default: $AMQP_URI, else amqp://guest:guest@localhost:5672/)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="list|replay|purge")
    for name, text in (
        ("list", "show the dead letters"),
        ("replay", "publish dead letters to their original queue once, then remove them"),
        ("purge", "remove dead letters for good"),
    ):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("--queue", help="only dead letters from this handler queue")
        command.add_argument(
            "--id",
            dest="ids",
            action="append",
            default=[],
            metavar="ID",
            help="a dead letter's id or its event_id (repeatable)",
        )
        if name == "list":
            command.add_argument("--json", action="store_true", help="one JSON object per line")
        else:
            command.add_argument(
                "--all", action="store_true", help="every dead letter (needed without --queue or --id)"
            )
    return parser


def _print_table(letters: list[DeadLetter]) -> None:
    if not letters:
        print("no dead letters")
        return
    for letter in letters:
        print(
            f"{letter.id}  {letter.queue}  {letter.event_type}  event_id={letter.event_id or '-'}  "
            f"attempts={letter.attempts}  at={letter.dead_lettered_at}\n"
            f"    reason: {letter.reason}\n    body: {letter.body}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command != "list" and not (args.all or args.queue or args.ids):
        parser.error(f"{args.command}: name --queue, --id or --all")
    if args.command != "list" and args.all and (args.queue or args.ids):
        parser.error(f"{args.command}: --all goes without --queue and --id")
    for value in [args.queue or "", *args.ids]:
        if value != value.strip() or "\0" in value:
            parser.error(f"invalid --queue/--id value {value!r}")
    try:
        if args.command == "list":
            letters = list_dead_letters(args.amqp_uri, args.queue, args.ids)
            if args.json:
                for letter in letters:
                    print(json.dumps(asdict(letter), ensure_ascii=False))
            else:
                _print_table(letters)
            return 0
        action = replay if args.command == "replay" else purge
        if args.ids:
            known = {
                key
                for letter in list_dead_letters(args.amqp_uri, args.queue)
                for key in (letter.id, letter.event_id)
            }
            unknown = [i for i in args.ids if i not in known]
            if unknown:
                print(
                    f"crm-dead-letters: error: no dead letter with id {', '.join(unknown)}", file=sys.stderr
                )
                return 1
        done = action(args.amqp_uri, args.queue, args.ids)
    except LookupError as exc:
        print(f"crm-dead-letters: error: {exc}", file=sys.stderr)
        return 1
    except (OSError, OperationalError) as exc:  # the broker does not answer
        print(
            f"crm-dead-letters: error: cannot reach the broker at {Connection(args.amqp_uri).as_uri()}: {exc}",
            file=sys.stderr,
        )
        return 1
    verb = "replayed" if args.command == "replay" else "purged"
    for letter in done:
        print(f"{verb} {letter.id} ({letter.event_type} {letter.event_id or '-'}) → {letter.queue}")
    print(f"{len(done)} dead letter(s) {verb}")
    return 0


def main_cli() -> None:
    sys.exit(main())


if __name__ == "__main__":
    main_cli()
