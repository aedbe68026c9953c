"""The customers service's entrypoints for people who leave: a deactivated user's customers go
to the chosen colleague or the team pool (``usecases_offboarding``). A part of
``CustomersService`` (service.py), which declares the dependencies used here; entrypoints only.
"""

from __future__ import annotations

import logging
from typing import Any

import eventlet
from marshmallow import ValidationError
from nameko.timer import timer

from crm_common.events import event_handler, handle_once
from customers import usecases_offboarding as offboarding
from customers.schemas import UserDeactivatedSchema
from customers.store import Store

log = logging.getLogger(__name__)

HANDOVER_RESUME_SECONDS = 15  # how soon a hand-over cut short is taken up again (+ its lease)


class OffboardingEntrypoints:
    """Mixed into CustomersService."""

    clock: Any
    _store: Store

    # --- people leave, customers stay: hand-over of a deactivated user's customers ---------------

    # retried (crm_common.events) when it fails before its first commit; once the hand-over is
    # recorded, a run cut short is finished by resume_handovers when its lease runs out.
    @event_handler("accounts", "user_deactivated")
    @handle_once
    def on_user_deactivated(self, event: dict) -> None:
        """Every active customer of the user goes to the chosen colleague or the team pool, in
        batches (see ``usecases_offboarding``). Data without the user's id is logged and dropped."""
        try:
            fact = UserDeactivatedSchema().load(event.get("data"))
        except ValidationError as refused:
            log.error(
                "user_deactivated %s unreadable, dropped: %.300s", event.get("event_id"), refused.messages
            )
            return
        handover_id, token = offboarding.start_handover(
            self._store, fact, event["event_id"], clock=self.clock
        )
        offboarding.run_handover(
            self._store, handover_id, token, clock=self.clock, between_batches=eventlet.sleep
        )

    @timer(interval=HANDOVER_RESUME_SECONDS)
    def resume_handovers(self) -> None:
        """Finish the hand-overs whose worker stopped mid-way (their lease ran out)."""
        offboarding.resume_stale_handovers(self._store, clock=self.clock, between_batches=eventlet.sleep)
