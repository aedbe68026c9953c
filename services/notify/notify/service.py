"""Notify: reminders, in-app notifications, SMS."""

from __future__ import annotations

from crm_common.db import Database
from crm_common.identity import CallerIdentity
from crm_common.service import HealthCheck
from notify.models import Base


class NotifyService(HealthCheck):
    name = "notify"

    db = Database(Base.metadata)
    caller = CallerIdentity()
