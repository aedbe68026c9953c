"""What the customers use cases share: the service's settings, reading a customer the caller may
read, the views of rows other services and the events see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from crm_common.caller import Caller
from crm_common.localtime import DEFAULT_TIMEZONE
from customers import domain
from customers.exceptions import CustomerArchived, CustomerInPool
from customers.models import Customer


@dataclass(frozen=True)
class Settings:
    """The service's configuration the rules need."""

    phone_region: str = "CN"
    timezone: ZoneInfo = ZoneInfo(DEFAULT_TIMEZONE)

    def prepare(self, raw: dict) -> dict:
        """Entry fields in canonical form (domain.prepare_fields)."""
        return domain.prepare_fields(raw, self.phone_region, self.timezone)


class People(Protocol):
    """What the use cases ask accounts (crm_common.directory's People)."""

    def user(self, user_id: int) -> dict | None: ...

    def display_names(self, user_ids: list[int | None]) -> dict[int, str]: ...

    def display_name(self, user_id: int, fallback: str) -> str: ...

    def name_of(self, caller: Caller) -> str: ...


class Clock(Protocol):
    def now(self) -> Any: ...


def readable(store: Any, caller: Caller, customer_id: int) -> Customer:
    """The customer, if the caller may read it in full: CustomerNotFound; NotYourCustomer."""
    customer = store.require(customer_id)
    domain.check_can_read(caller, customer.owner_id, customer.team, customer.status)
    return customer  # type: ignore[no-any-return]


def require_active(customer: Any) -> None:
    """CustomerInPool or CustomerArchived unless the customer has an owner."""
    if customer.status == domain.IN_POOL:
        raise CustomerInPool("the customer is in the pool: take it first")
    if customer.status == domain.ARCHIVED:
        raise CustomerArchived("the customer is archived")


def caller_as_owner(caller: Caller, people: People) -> domain.Owner:
    """The caller as a customer's owner, named as accounts names them."""
    return domain.Owner(
        caller.user_id,
        caller.display_name or people.display_name(caller.user_id, caller.username),
        caller.team,
    )


def columns(row: Any) -> dict:
    """A row's columns as a dict."""
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


def reference(customer: Any) -> dict:
    """What another service keeps of a customer it refers to."""
    return {
        "id": customer.id,
        "name": customer.name,
        "owner_id": customer.owner_id,
        "team": customer.team,
        "status": customer.status,
    }


def event_data(customer: Any) -> dict:
    """What other services need to act on a customer: owner, team, birthday, next visit."""
    contact = next((c for c in customer.contacts or [] if c.get("name") == customer.next_visit_contact), None)
    return {
        "customer_id": customer.id,
        "name": customer.name,
        "owner_id": customer.owner_id,
        "owner_name": customer.owner_name,
        "team": customer.team,
        "status": customer.status,
        "industry": customer.industry,
        "entered_by": customer.entered_by,
        "entered_at": customer.entered_at.isoformat(),
        "birthday": customer.birthday,
        "next_visit_at": customer.next_visit_at.isoformat() if customer.next_visit_at else None,
        "next_visit_contact": customer.next_visit_contact,
        "next_visit_contact_phone": contact.get("phone") if contact else None,
        "referred_by": customer.referred_by,
        "revision": customer.revision,
    }
