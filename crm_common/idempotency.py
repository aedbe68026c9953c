"""Every write happens once, however often its request is delivered.

nameko replies before it acknowledges the request message: a broker connection that drops in
between makes RabbitMQ deliver the request again, and without this the write would run twice.
So each write request carries an id (context data ``request_id``, header ``nameko.request_id``):
the gateway makes one per HTTP request (or derives it from the client's ``Idempotency-Key``),
a service calling another derives one from its own (``crm_common.rpc``), and an event handler's
calls derive theirs from the event id.

A write RPC decorated with ``@idempotent`` records that id with its result in the service's
``request_log`` table, in the transaction of the write itself (``crm_common.db`` commits it
before the reply goes out). A repeat returns the stored result — the same JSON — instead of
running again; the primary key on ``request_id`` settles two deliveries that run at the same
moment: the one that commits second rolls back and answers with the winner's result. The same
id with other arguments is refused (409 ``idempotency_key_reused``). Entries expire after
``REQUEST_LOG_TTL_HOURS`` (default 24), swept by each service's database provider.
Errors are not recorded: a request that failed wrote nothing, so its repeat simply runs again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, Engine, MetaData, String, Table, Text, delete, insert, select

from crm_common.clock import utcnow
from crm_common.errors import Conflict, InvalidInput
from crm_common.timestamps import UtcDateTime

log = logging.getLogger(__name__)

REQUEST_LOG_TABLE = "request_log"
# The context data key: nameko sends it as the AMQP header ``nameko.request_id`` on every hop.
REQUEST_ID_KEY = "request_id"
MAX_REQUEST_ID_LENGTH = 64
DEFAULT_TTL = timedelta(hours=24)
# What a client's Idempotency-Key may be: 1–255 visible ASCII characters (a UUID is the usual choice).
IDEMPOTENCY_KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")
# uuid5 namespace of every id this module derives; fixed, so a retry derives the same id.
_NAMESPACE = uuid.UUID("0f7d1c52-5b38-4c61-9a8e-3f0c9e4a2b17")


class IdempotencyKeyReused(Conflict):
    """The request id (a client's Idempotency-Key) was used before for another request."""

    code = "idempotency_key_reused"


class InvalidIdempotencyKey(InvalidInput):
    """The Idempotency-Key header is not 1–255 visible ASCII characters."""

    code = "invalid_idempotency_key"


def add_request_log_table(metadata: MetaData) -> None:
    """Declare ``request_log`` in a service's own metadata (one row per write request)."""
    Table(
        REQUEST_LOG_TABLE,
        metadata,
        Column("request_id", String(MAX_REQUEST_ID_LENGTH), primary_key=True),
        Column("operation", String(100), nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("result", Text, nullable=False),
        Column("created_at", UtcDateTime, nullable=False, index=True),
    )


# --------------------------------------------------------------------------- ids


def new_request_id() -> str:
    """A fresh id for a request nobody has named (the gateway's default)."""
    return str(uuid.uuid4())


def request_id_for_key(user_id: int, key: str) -> str:
    """The request id of a client's ``Idempotency-Key``, scoped to the user who sent it: two
    users choosing the same key never meet. InvalidIdempotencyKey (400) for a malformed key."""
    if not IDEMPOTENCY_KEY_PATTERN.fullmatch(key):
        raise InvalidIdempotencyKey(
            "Idempotency-Key must be 1–255 visible ASCII characters, e.g. a UUID",
            {"Idempotency-Key": ["must be 1–255 visible ASCII characters"]},
        )
    return str(uuid.uuid5(_NAMESPACE, f"idempotency-key:{user_id}:{key}"))


def derive_request_id(parent: str, call: str, occurrence: int) -> str:
    """The id of the ``occurrence``-th call to ``call`` ("service.method") made while handling
    ``parent``: the same on every redelivery of ``parent``, different for each call."""
    return str(uuid.uuid5(_NAMESPACE, f"{parent}>{call}#{occurrence}"))


def event_request_id(event_id: str, handler: str) -> str:
    """The request id under which ``handler`` handles event ``event_id`` (for the writes it asks
    of other services)."""
    return str(uuid.uuid5(_NAMESPACE, f"event:{event_id}:{handler}"))


def checked_request_id(value: Any) -> str | None:
    """The request id from context data, None when the call carries none; InvalidInput for a
    value no gateway or service would send."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > MAX_REQUEST_ID_LENGTH:
        raise InvalidInput("the request id must be text of at most 64 characters")
    return value


# --------------------------------------------------------------------------- the record


def _as_json(value: Any, sort_keys: bool = False) -> str:
    # default=str: what the gateway's JSON response does with the same values
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=sort_keys)


def fingerprint(operation: str, args: tuple, kwargs: dict) -> str:
    """A digest of what was asked: the same request id with other arguments is a reused key."""
    return hashlib.sha256(_as_json([operation, list(args), kwargs], sort_keys=True).encode()).hexdigest()


class RequestLog:
    """``request_log`` seen through one worker's session."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.table = session.info["metadata"].tables[REQUEST_LOG_TABLE]

    def find(self, request_id: str) -> Any:
        t = self.table
        return self.session.execute(
            select(t.c.operation, t.c.fingerprint, t.c.result).where(t.c.request_id == request_id)
        ).first()

    def record(self, request_id: str, operation: str, digest: str, result: str) -> None:
        """Insert the row and flush: IntegrityError if another delivery recorded it first."""
        self.session.execute(
            insert(self.table).values(
                request_id=request_id,
                operation=operation,
                fingerprint=digest,
                result=result,
                created_at=utcnow(),
            )
        )
        self.session.flush()


def _replay(row: Any, operation: str, digest: str) -> Any:
    if row.operation != operation or row.fingerprint != digest:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used for a different request; use a new key",
            {"operation": row.operation},
        )
    return json.loads(row.result)


def idempotent(method: Callable | None = None, *, read_first: bool = True) -> Callable:
    """Put under ``@rpc`` on every write: the write runs once per request id (see the module).

    The service needs ``db = Database(...)`` (whose metadata has ``request_log``, as
    ``service_metadata()`` gives). A call without a request id (a script, an old client) runs
    as before, unrecorded.

    ``@idempotent(read_first=False)``: the log is not read before the write, only when it fails —
    for a write of the hot path that asks no other service to write: a repeat runs again, and its
    record (the log's primary key) or its own unique keys collide, so it rolls back and answers
    with the recorded result, as two deliveries at once do. Saves a read and a transaction per
    call; a repeat costs a rolled-back write.
    """
    if method is None:
        return functools.partial(idempotent, read_first=read_first)
    operation = method.__name__

    @functools.wraps(method)
    def once(self: Any, *args: Any, **kwargs: Any) -> Any:
        unit = self.db
        request_id = checked_request_id(unit.context.get(REQUEST_ID_KEY))
        if request_id is None:
            return method(self, *args, **kwargs)
        digest = fingerprint(operation, args, kwargs)
        if read_first:
            recorded = RequestLog(unit.session).find(request_id)
            if recorded is not None:
                log.info("%s: request %s seen before, answering with its result", operation, request_id)
                return _replay(recorded, operation, digest)
            # End the read: the write may wait on other services, and must not hold the connection
            # meanwhile (SQLite's pool has one).
            unit.rollback()
        try:
            result = _as_json(method(self, *args, **kwargs))
            RequestLog(unit.session).record(request_id, operation, digest, result)
        except Exception:
            # Another delivery of the same request may have won while this one ran, or (not read
            # first) before it: its key insert, or the write itself, collided with the winner's;
            # answer as the winner did.
            unit.rollback()
            recorded = RequestLog(unit.session).find(request_id)
            if recorded is None:
                raise
            log.info("%s: request %s ran twice at once; the first to commit answers", operation, request_id)
            return _replay(recorded, operation, digest)
        return json.loads(result)

    once.idempotent = True  # type: ignore[attr-defined]
    return once


def purge_request_log(engine: Engine, metadata: MetaData, before: datetime) -> int:
    """Delete the entries recorded before ``before``; returns how many went."""
    table = metadata.tables[REQUEST_LOG_TABLE]
    with engine.begin() as conn:
        return conn.execute(delete(table).where(table.c.created_at < before)).rowcount or 0
