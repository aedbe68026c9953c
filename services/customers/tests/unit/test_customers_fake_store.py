"""The fake store passes the same checks as the real one (tests/service/test_customers_store_contract.py)."""

import pytest

from services.customers.tests.fakes import FakeStore
from services.customers.tests.store_checks import CHECKS


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_the_fake_store_keeps_the_store_contract(check):
    check(FakeStore())
