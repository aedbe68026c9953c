"""customers-scanner: the fuzzy duplicate scan of new and corrected customers, in a process of
its own (``crm_common.registry``: the customers service's ``customers-scanner``), so entering a
customer never waits behind a scan and ops scale the two apart.

Entrypoints only: each event is loaded with the entry rules (`CustomerEventSchema`) and handed to
`usecases_duplicates.scan` with the `Store`. It is customers' code on customers' database and
outbox (``Database(..., service="customers")``): the suspicions it finds go out as customers'
``customer_duplicate_suspected``. Its own nameko name gives it its own handler queues
(``evt-customers-customer_created--customers-scanner.scan_new_customer``); the handlers were
``CustomersService``'s, and their processed marks keep that name (``handled_as``), so an event
handled before the move, or by an older customers process still running during an upgrade, is
not scanned again (docs/events.md, "customers-scanner").
"""

from __future__ import annotations

import logging

from marshmallow import ValidationError
from nameko.dependency_providers import Config

from crm_common.clock import Clock
from crm_common.db import Database
from crm_common.events import event_handler, handle_once
from crm_common.service import HealthCheck
from customers import usecases_duplicates as duplicates
from customers.constants import KEY_FIELDS
from customers.models import Base
from customers.schemas import CustomerEventSchema
from customers.store import Store

log = logging.getLogger(__name__)


class CustomersScannerService(HealthCheck):
    name = "customers-scanner"
    # the processed marks of the handlers it took over from the customers process (see the module)
    handled_as = "CustomersService"

    db = Database(Base.metadata, service="customers")
    clock = Clock()
    config = Config()

    # retried (crm_common.events): a failed scan is almost always the database being away for a
    # moment, and a scan that never runs is a near-duplicate nobody is told about; the handler is
    # idempotent. One that keeps failing ends in the dead-letter queue, not in a loop.
    @event_handler("customers", "customer_created")
    @handle_once
    def scan_new_customer(self, event: dict) -> None:
        """Compare a new customer with its candidates; store and emit suspected pairs.
        Data the entry rules refuse is dropped with a log line, never scanned."""
        data = _scannable(event)
        if data is not None:
            duplicates.scan(Store(self.db), data["customer_id"], clock=self.clock)

    @event_handler("customers", "customer_amended")
    @handle_once
    def scan_amended_customer(self, event: dict) -> None:
        """A corrected name or phone may resemble another customer now: scan again."""
        data = _scannable(event)
        if data is not None and KEY_FIELDS & set(data["changed_fields"]):
            duplicates.scan(Store(self.db), data["customer_id"], clock=self.clock)


def _scannable(event: dict) -> dict | None:
    """The event's data loaded with the entry rules (CustomerEventSchema), or None — logged —
    when they refuse it: requeued it would fail again, and scanned it could cost without bound."""
    try:
        return CustomerEventSchema().load(event.get("data"))  # type: ignore[no-any-return]
    except ValidationError as refused:
        log.error(
            "%s %s refused by the entry rules, dropped without a scan: %.300s",
            event.get("event_type"),
            event.get("event_id"),
            refused.messages,
        )
        return None
