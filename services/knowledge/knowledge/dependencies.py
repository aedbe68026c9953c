"""What knowledge needs from outside: the Chinese segmenter and customers (people's names come
from the shared accounts client, :class:`crm_common.directory.Directory`)."""

from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider

# customers' errors module is its contract: importing it makes its errors arrive as themselves.
import customers.exceptions  # noqa: F401
from crm_common.rpc import TimedRpcProxy
from knowledge.segment import Segmenter, default_segmenter


class SegmenterProvider(DependencyProvider):
    """Injects the process-wide jieba :class:`Segmenter`, built once when the service starts
    (not on the first search, which would wait a second for it)."""

    def setup(self) -> None:
        self.segmenter = default_segmenter()

    def get_dependency(self, worker_ctx: Any) -> Segmenter:
        return self.segmenter


class CustomerBook:
    """Customers as the customers service shows them to the caller."""

    def __init__(self, customers: Any) -> None:
        self._customers = customers

    def name_of(self, customer_id: int) -> str:
        """The customer's name, if the caller may read the customer; the customers service's
        CustomerNotFound (404) / NotYourCustomer (403) otherwise: an alarm or an entry refers
        only to a customer its author may read."""
        return str(self._customers.require_readable(customer_id)["name"])


class Customers(TimedRpcProxy):
    """Injects :class:`CustomerBook` (customers over RPC, with the caller's identity)."""

    def __init__(self, **options: Any) -> None:
        super().__init__("customers", **options)

    def get_dependency(self, worker_ctx: Any) -> CustomerBook:  # type: ignore[override]
        return CustomerBook(super().get_dependency(worker_ctx))
