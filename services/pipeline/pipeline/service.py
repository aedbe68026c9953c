"""Pipeline: stages, opportunities, targets, forecast, funnel."""

from __future__ import annotations

from crm_common.db import Database
from crm_common.identity import CallerIdentity
from crm_common.service import HealthCheck
from pipeline.models import Base


class PipelineService(HealthCheck):
    name = "pipeline"

    db = Database(Base.metadata)
    caller = CallerIdentity()
