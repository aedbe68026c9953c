"""The SMS log's use cases on the fake store (no broker, no database)."""

import pytest

from services.notify.tests.delivery_checks import CHECKS
from services.notify.tests.fakes import FakeStore


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_delivery_use_cases_on_the_fake_store(check):
    check(FakeStore(), lambda: None)
