"""Routes of the customers area."""

from __future__ import annotations

from typing import Any


class CustomersRoutes:
    customers: Any
    caller: Any
