"""Errors the customers service raises to its callers (each with a stable code)."""

from __future__ import annotations

from crm_common.errors import Conflict, Forbidden, InvalidInput, NotFound


class DuplicateCustomer(Conflict):
    """The customer exists: details name its id, owner and what matched, never contact details."""

    code = "duplicate_customer"


class ImmutableRecord(Forbidden):
    """Customers and follow-ups are append-only: corrections are amendment requests."""

    code = "immutable_record"


class CustomerNotFound(NotFound):
    code = "customer_not_found"


class NotYourCustomer(Forbidden):
    """The caller may not read this customer in full (another owner, another team)."""

    code = "not_your_customer"


class AlarmRequired(Conflict):
    """Giving up a customer needs a difficulty alarm about it that a manager has answered."""

    code = "alarm_required"


class ReferralCycle(Conflict):
    code = "referral_cycle"


class NotInPool(Conflict):
    code = "not_in_pool"


class CustomerInPool(Conflict):
    """The customer has no owner: take it from the pool instead."""

    code = "customer_in_pool"


class CustomerArchived(Conflict):
    code = "customer_archived"


class ClaimExists(Conflict):
    code = "claim_exists"


class AlreadyDecided(Conflict):
    """The amendment, dispute or suspicion was already decided."""

    code = "already_decided"


class NothingToAmend(Conflict):
    code = "nothing_to_amend"


class ConcurrentChange(Conflict):
    """Someone changed the customer at the same moment: read it again and retry."""

    code = "concurrent_change"


class UnknownUser(InvalidInput):
    code = "unknown_user"


class MalformedImport(InvalidInput):
    """The file cannot be read as a customer list; nothing in it was imported."""

    code = "malformed_import"


class ImportJobNotFound(NotFound):
    """No import job with this id that the caller may see."""

    code = "import_job_not_found"


class CustomerLimitReached(Conflict):
    """The salesperson holds as many customers as the team's pool rules allow (details: held, limit)."""

    code = "customer_limit_reached"


class DailyTakeLimitReached(Conflict):
    """The salesperson took as many customers from the pool today as the team allows."""

    code = "daily_take_limit_reached"


class PoolCooldown(Conflict):
    """The former owner must wait before taking the same customer back (details: until)."""

    code = "pool_cooldown"
