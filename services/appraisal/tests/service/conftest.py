"""Fixtures of the appraisal's service tests: the real service (frozen clock) with the shared
FakeAccounts over the same real broker, on a real database; people live in ``appraisal_support``."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # test modules import appraisal_support

from appraisal_support import (
    ADMIN,
    DIRECTOR,
    LI,
    MANAGER_OF,
    NAMES,
    NOW,
    SUN,
    WANG,
    ZHAO,
    ZHOU,
    AppraisalListener,
)  # noqa: E402

from appraisal.service import AppraisalService  # noqa: E402
from crm_common.clock import Clock, FrozenClock  # noqa: E402
from tests.support.fake_accounts import FakeAccounts  # noqa: E402


@pytest.fixture
def clock():
    return FrozenClock(NOW)


@pytest.fixture
def appraisal(container_factory, service_config, migrated, clock):
    """The real appraisal service (frozen clock) and FakeAccounts, started on one vhost."""
    migrated("appraisal")
    FakeAccounts.use(
        {
            "id": user_id,
            "username": f"user{user_id}",
            "role": role,
            "team": team,
            "display_name": NAMES[user_id],
            "manager_id": MANAGER_OF.get(user_id),
        }
        for user_id, role, team in (ADMIN, DIRECTOR, ZHOU, LI, WANG, ZHAO, SUN)
    )
    container_factory(FakeAccounts, service_config).start()
    service = type("AppraisalService", (AppraisalService,), {"clock": Clock(clock)})
    container = container_factory(service, service_config)
    container.start()
    return container


@pytest.fixture
def listener(container_factory, service_config):
    AppraisalListener.events = []
    container = container_factory(AppraisalListener, service_config)
    container.start()
    return container
