"""What knowledge needs from outside: the Chinese segmenter, people's names, customers."""

from __future__ import annotations

import logging
from typing import Any

from nameko.extensions import DependencyProvider

# customers' errors module is its contract: importing it makes its errors arrive as themselves.
import customers.exceptions  # noqa: F401
from crm_common.caller import Caller
from crm_common.errors import ServiceUnavailable
from crm_common.rpc import TimedRpcProxy
from knowledge.segment import Segmenter, default_segmenter

log = logging.getLogger(__name__)

NAME_LOOKUP_SECONDS = 2.0


class SegmenterProvider(DependencyProvider):
    """Injects the process-wide jieba :class:`Segmenter`, built once when the service starts
    (not on the first search, which would wait a second for it)."""

    def setup(self) -> None:
        self.segmenter = default_segmenter()

    def get_dependency(self, worker_ctx: Any) -> Segmenter:
        return self.segmenter


class People:
    """Display names from accounts, for the names stored with entries, alarms and answers."""

    def __init__(self, accounts: Any) -> None:
        self._accounts = accounts

    def name_of(self, caller: Caller) -> str:
        """The caller's display name; their username when accounts does not answer in time
        (a name is a label: no alarm should wait for it)."""
        try:
            users = self._accounts.with_timeout(NAME_LOOKUP_SECONDS).get_users([caller.user_id])
        except ServiceUnavailable as exc:
            log.warning("accounts did not answer (%s): storing the username as the name", exc)
            return caller.username
        user = users.get(str(caller.user_id))
        return (user or {}).get("display_name") or caller.username


class Directory(TimedRpcProxy):
    """Injects :class:`People` (accounts over RPC, with a deadline)."""

    def __init__(self, **options: Any) -> None:
        super().__init__("accounts", **options)

    def get_dependency(self, worker_ctx: Any) -> People:  # type: ignore[override]
        return People(super().get_dependency(worker_ctx))


class CustomerBook:
    """Customers as the customers service shows them to the caller."""

    def __init__(self, customers: Any) -> None:
        self._customers = customers

    def name_of(self, customer_id: int) -> str:
        """The customer's name, if the caller may see the customer; the customers service's
        NotFound / Forbidden otherwise (an alarm is about a customer of one's own)."""
        return str(self._customers.get_customer(customer_id)["name"])


class Customers(TimedRpcProxy):
    """Injects :class:`CustomerBook` (customers over RPC, with the caller's identity)."""

    def __init__(self, **options: Any) -> None:
        super().__init__("customers", **options)

    def get_dependency(self, worker_ctx: Any) -> CustomerBook:  # type: ignore[override]
        return CustomerBook(super().get_dependency(worker_ctx))
