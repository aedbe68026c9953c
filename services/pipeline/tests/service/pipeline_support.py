"""Stand-ins for customers and accounts (the real services are built beside this one), people, and
helpers for the pipeline's service tests."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import eventlet
from nameko.events import event_handler
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import create_engine, insert
from sqlalchemy.orm import Session

from crm_common.caller import Caller
from crm_common.errors import Forbidden, NotFound
from crm_common.identity import CallerIdentity
from pipeline.models import Opportunity, StageChange

# 10:00 on Friday 20 November 2026 in Shanghai: the current period is 2026-11.
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)

ADMIN = (1, "admin", None)
WANG = (10, "manager", "east")  # manages east
LI = (11, "sales", "east")
ZHAO = (12, "sales", "east")
CHEN = (13, "sales", "east")
ZHOU = (20, "manager", "west")
SUN = (21, "sales", "west")
PEOPLE = {
    ADMIN: "管理员",
    WANG: "王芳",
    LI: "李娜",
    ZHAO: "赵强",
    CHEN: "陈静",
    ZHOU: "周经理",
    SUN: "孙伟",
}


class Directory:
    """What the customers stand-in knows (as customers has them); users are the shared
    ``tests.support.fake_accounts.FakeAccounts.users``."""

    customers: dict[int, dict] = {}


class FakeCustomers:
    """customers.get_customer as CONTRACTS.md describes it: visibility by the caller's identity."""

    name = "customers"
    caller = CallerIdentity()

    @rpc(expected_exceptions=(NotFound, Forbidden))
    def get_customer(self, customer_id):
        caller = self.caller.require()
        customer = Directory.customers.get(customer_id)
        if customer is None:
            raise NotFound(f"no customer {customer_id}")
        if not caller.can_read(customer["owner_id"], customer["team"]):
            raise Forbidden("not your customer")
        return customer


class PipelineListener:
    """Collects what the pipeline publishes."""

    name = "pipeline_listener"
    events: list = []

    @event_handler("pipeline", "opportunity_created")
    def on_created(self, event):
        PipelineListener.events.append(event)

    @event_handler("pipeline", "opportunity_stage_changed")
    def on_stage_changed(self, event):
        PipelineListener.events.append(event)

    @event_handler("pipeline", "opportunity_won")
    def on_won(self, event):
        PipelineListener.events.append(event)

    @event_handler("pipeline", "opportunity_lost")
    def on_lost(self, event):
        PipelineListener.events.append(event)

    @event_handler("pipeline", "target_set")
    def on_target_set(self, event):
        PipelineListener.events.append(event)

    @classmethod
    def of_type(cls, event_type):
        return [event for event in cls.events if event["event_type"] == event_type]


def add_customer(customer_id, owner, team=None):
    Directory.customers[customer_id] = {
        "id": customer_id,
        "name": f"客户{customer_id}",
        "owner_id": owner[0],
        "owner_name": PEOPLE.get(owner),
        "team": team if team is not None else owner[2],
        "status": "active",
    }


def eventually(check, timeout=10.0):
    """Wait (green) until ``check()`` is truthy and return its value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout}s")
        eventlet.sleep(0.05)
    return result


def rpc_as(config, person):
    user_id, role, team = person
    caller = Caller(
        user_id=user_id, username=f"user{user_id}", role=role, team=team, display_name=PEOPLE[person]
    )
    return ServiceRpcProxy("pipeline", config, context_data=caller.to_context())


def open_deals(proxy, customer_id, counts_by_stage, amount="10000", **fields):
    """Open deals through the service: {"s25": 40, …} → the created deals."""
    return [
        proxy.create_opportunity(
            {"customer_id": customer_id, "title": f"{stage} #{n}", "amount": amount, "stage": stage, **fields}
        )
        for stage, count in counts_by_stage.items()
        for n in range(count)
    ]


def insert_history(db_url, deals):
    """Load deal histories straight into the database, as an import of past years would.

    ``deals``: dicts with owner_id, team, amount, status, created_at, closed_at, expected_close_date and
    ``moves``: [(stage_key, probability, at), …] (the last one is where the deal is, or was won)."""
    rows = [
        {
            "customer_id": deal.get("customer_id", 1),
            "owner_id": deal["owner_id"],
            "team": deal["team"],
            "title": deal.get("title", "history"),
            "amount": Decimal(deal["amount"]),
            "currency": "CNY",
            "stage": deal["moves"][-1][0],
            "status": deal["status"],
            "expected_close_date": deal.get("expected_close_date"),
            "close_reason": deal.get("close_reason"),
            "created_at": deal["moves"][0][2],
            "created_by": deal["owner_id"],
            "updated_at": deal["moves"][-1][2],
            "closed_at": deal.get("closed_at"),
            "closed_by": deal["owner_id"] if deal.get("closed_at") else None,
            "row_version": 1,
        }
        for deal in deals
    ]
    engine = create_engine(db_url)
    with Session(engine) as session:
        ids = session.scalars(
            insert(Opportunity).returning(Opportunity.id, sort_by_parameter_order=True), rows
        ).all()
        session.execute(
            insert(StageChange),
            [
                {
                    "opportunity_id": opportunity_id,
                    "kind": "created" if index == 0 else "moved",
                    "from_stage": deal["moves"][index - 1][0] if index else None,
                    "to_stage": key,
                    "probability": probability,
                    "stage_set_id": 1,
                    "changed_by": deal["owner_id"],
                    "changed_at": at,
                }
                for opportunity_id, deal in zip(ids, deals, strict=True)
                for index, (key, probability, at) in enumerate(deal["moves"])
            ],
        )
        session.commit()
    engine.dispose()
