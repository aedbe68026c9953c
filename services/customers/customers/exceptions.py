"""Errors the customers service raises to its callers (each with a stable code)."""

from __future__ import annotations

import json
from typing import Any

from crm_common.errors import Conflict, Forbidden, InvalidInput, NotFound

_JSON = "json:"


class KeepsDetailTypes:
    """Details that cross RPC with their types.

    nameko turns everything inside an error's ``args`` into text on the way (1 → "1", None →
    "None"), so the details travel as JSON text and are read back on arrival: callers see ids as
    numbers. (Every CrmError would want this; until crm_common does it, customers' errors do.)
    """

    def __init__(self, message: str, details: Any = None) -> None:
        if isinstance(details, str) and details.startswith(_JSON):
            details = json.loads(details[len(_JSON) :])
        super().__init__(message, details)  # type: ignore[call-arg]
        self.args = (message, _JSON + json.dumps(details, ensure_ascii=False))


class DuplicateCustomer(KeepsDetailTypes, Conflict):
    """The customer exists: details name its id, owner and what matched, never contact details."""

    code = "duplicate_customer"


class ImmutableRecord(KeepsDetailTypes, Forbidden):
    """Customers and follow-ups are append-only: corrections are amendment requests."""

    code = "immutable_record"


class CustomerNotFound(KeepsDetailTypes, NotFound):
    code = "customer_not_found"


class NotYourCustomer(KeepsDetailTypes, Forbidden):
    """The caller may not read this customer in full (another owner, another team)."""

    code = "not_your_customer"


class AlarmRequired(KeepsDetailTypes, Conflict):
    """Giving up a customer needs a difficulty alarm about it that a manager has answered."""

    code = "alarm_required"


class ReferralCycle(KeepsDetailTypes, Conflict):
    code = "referral_cycle"


class NotInPool(KeepsDetailTypes, Conflict):
    code = "not_in_pool"


class CustomerInPool(KeepsDetailTypes, Conflict):
    """The customer has no owner: take it from the pool instead."""

    code = "customer_in_pool"


class CustomerArchived(KeepsDetailTypes, Conflict):
    code = "customer_archived"


class ClaimExists(KeepsDetailTypes, Conflict):
    code = "claim_exists"


class AlreadyDecided(KeepsDetailTypes, Conflict):
    """The amendment, dispute or suspicion was already decided."""

    code = "already_decided"


class NothingToAmend(KeepsDetailTypes, Conflict):
    code = "nothing_to_amend"


class ConcurrentChange(KeepsDetailTypes, Conflict):
    """Someone changed the customer at the same moment: read it again and retry."""

    code = "concurrent_change"


class UnknownUser(KeepsDetailTypes, InvalidInput):
    code = "unknown_user"


class MalformedImport(KeepsDetailTypes, InvalidInput):
    """The file cannot be read as a customer list; nothing in it was imported."""

    code = "malformed_import"
