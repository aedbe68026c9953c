"""``followup_recorded`` from a real customers container: one event per follow-up, written in the
same transaction, on time against the customer's revisit date; ``followups_since`` (the appraisal's
replay, a system call) lists the same facts."""

import time

import eventlet
import pytest
from nameko.events import event_handler
from nameko.standalone.rpc import ServiceRpcProxy

from crm_common.errors import Forbidden, InvalidInput


class FollowupLog:
    name = "customers_followup_log"
    seen: list = []

    @event_handler("customers", "followup_recorded")
    def on_followup(self, event):
        FollowupLog.seen.append(event)


def test_a_followup_is_published_once_and_listed_for_the_replay(
    container_factory, service_config, as_user, users, new_customer
):
    FollowupLog.seen = []
    container_factory(FollowupLog, service_config).start()
    with as_user(users.lina) as service:
        customer = service.create_customer(
            new_customer("远航物流有限公司", next_visit_at="2031-05-06T10:00:00+08:00")
        )
        visit = service.record_followup(
            customer["id"],
            {"kind": "visit", "summary": "拜访王总", "occurred_at": "2024-05-06T10:00:00+08:00"},
        )

    deadline = time.monotonic() + 10
    while not FollowupLog.seen and time.monotonic() < deadline:
        eventlet.sleep(0.05)
    eventlet.sleep(0.5)  # a second one would have arrived by now
    [event] = FollowupLog.seen
    assert event["data"] == {
        "followup_id": visit["id"],
        "customer_id": customer["id"],
        "recorded_by": users.lina["id"],
        "kind": "visit",
        "occurred_at": "2024-05-06T02:00:00+00:00",
        "recorded_at": event["data"]["recorded_at"],
        "revisit_at": "2031-05-06T02:00:00+00:00",
        "on_time": True,
    }

    with ServiceRpcProxy("customers", service_config) as system:
        assert system.followups_since({"since": "2024-05-06T00:00:00+00:00"}) == [event["data"]]
        assert system.followups_since({"since": "2024-05-07T00:00:00+00:00"}) == []
        with pytest.raises(InvalidInput):
            system.followups_since({"since": "2024-05-06"})
    with as_user(users.lina) as service, pytest.raises(Forbidden):
        service.followups_since({"since": "2024-05-06T00:00:00+00:00"})
