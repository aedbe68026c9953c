"""The fake store passes the pool rules' store checks (the real one: tests/service/test_customers_pool_store_contract.py)."""

import pytest

from services.customers.tests.fakes import FakeStore
from services.customers.tests.store_checks_pool import POOL_CHECKS


@pytest.mark.parametrize("check", POOL_CHECKS, ids=lambda check: check.__name__)
def test_the_fake_store_keeps_the_pool_store_contract(check):
    check(FakeStore())
