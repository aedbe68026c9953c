"""Notify's statuses and limits: what its contract (schemas) and its rules (domain) share.
Standard library only."""

from __future__ import annotations

from enum import StrEnum

DEFAULT_ESCALATE_AFTER_MINUTES = 10
MIN_ESCALATE_AFTER_MINUTES = 1
MAX_ESCALATE_AFTER_MINUTES = 1440


class ReminderStatus(StrEnum):
    PENDING = "pending"
    DUE = "due"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    CANCELLED = "cancelled"


SMS_STATUSES = ("pending", "sending", "retrying", "sent", "failed")

# why customers' pool rules will return a customer (customer_return_warning's ``reason``)
NO_FOLLOWUP = "no_followup"
NO_WON_DEAL = "no_won_deal"
RETURN_REASONS = (NO_FOLLOWUP, NO_WON_DEAL)
