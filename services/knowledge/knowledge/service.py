"""Knowledge: knowledge entries, difficulty alarms, search."""

from __future__ import annotations

from crm_common.db import Database
from crm_common.identity import CallerIdentity
from crm_common.service import HealthCheck
from knowledge.models import Base


class KnowledgeService(HealthCheck):
    name = "knowledge"

    db = Database(Base.metadata)
    caller = CallerIdentity()
