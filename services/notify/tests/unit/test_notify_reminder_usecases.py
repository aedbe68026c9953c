"""The reminder use cases users call, on the fake store (no broker, no database)."""

import pytest

from services.notify.tests.fakes import FakeStore
from services.notify.tests.reminder_checks import CHECKS


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_reminder_use_cases_on_the_fake_store(check):
    check(FakeStore(), lambda: None)
