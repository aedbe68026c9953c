"""Customers: customers, contacts, ownership, revisions, follow-ups, duplicates, referrals."""

from __future__ import annotations

from crm_common.db import Database
from crm_common.identity import CallerIdentity
from crm_common.service import HealthCheck
from customers.models import Base


class CustomersService(HealthCheck):
    name = "customers"

    db = Database(Base.metadata)
    caller = CallerIdentity()
