"""The notify service's tables."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from crm_common.models import service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()
