"""Fixtures of the pipeline's service tests: the real service (frozen clock) with stand-ins for
customers and accounts over the same real broker; helpers live in ``pipeline_support``."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # test modules import pipeline_support

from pipeline_support import (  # noqa: E402
    NOW,
    PEOPLE,
    Directory,
    FakeCustomers,
    PipelineListener,
)

from crm_common.clock import Clock, FrozenClock  # noqa: E402
from pipeline.service import PipelineService  # noqa: E402
from tests.support.fake_accounts import FakeAccounts  # noqa: E402


@pytest.fixture
def directory():
    FakeAccounts.use(
        {"id": user_id, "username": f"user{user_id}", "role": role, "team": team, "display_name": name}
        for (user_id, role, team), name in PEOPLE.items()
    )
    Directory.customers = {}
    return Directory


@pytest.fixture
def clock():
    return FrozenClock(NOW)


@pytest.fixture
def pipeline(container_factory, service_config, migrated, directory, clock):
    """The real pipeline service (frozen clock) and the stand-ins, started on one vhost."""
    migrated("pipeline")
    for stand_in in (FakeCustomers, FakeAccounts):
        container_factory(stand_in, service_config).start()
    service = type("PipelineService", (PipelineService,), {"clock": Clock(clock)})
    container = container_factory(service, service_config)
    container.start()
    return container


@pytest.fixture
def listener(container_factory, service_config):
    PipelineListener.events = []
    container = container_factory(PipelineListener, service_config)
    container.start()
    return container
