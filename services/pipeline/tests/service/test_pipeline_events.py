"""The pipeline reacting to customers' events, delivered over the real broker, at least once."""

from datetime import UTC, datetime

import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter
from pipeline_support import (
    LI,
    SUN,
    WANG,
    ZHAO,
    ZHOU,
    PipelineListener,
    add_customer,
    eventually,
    open_deals,
    rpc_as,
)

from crm_common.outbox import envelope


def customers_event(event_type, **data):
    return envelope(event_type, data, "customers", datetime(2026, 11, 20, 3, 0, tzinfo=UTC))


def deliver(container, config, event, handler):
    """Publish ``event`` as customers would and wait until the pipeline has handled it."""
    dispatch = event_dispatcher(config)
    with entrypoint_waiter(container, handler, timeout=10):
        dispatch("customers", event["event_type"], event)


def transferred(customer_id, to_owner, team="east", from_owner=None):
    return customers_event(
        "customer_transferred",
        customer_id=customer_id,
        name=f"客户{customer_id}",
        from_owner_id=from_owner[0] if from_owner else None,
        to_owner_id=to_owner[0],
        to_owner_name="",
        team=team,
        reason="claim",
        birthday=None,
        next_visit_at=None,
        next_visit_contact=None,
    )


def test_a_transferred_customers_open_deals_follow_the_new_owner_once(pipeline, service_config):
    add_customer(501, LI)
    with rpc_as(service_config, LI) as proxy:
        first, second, closed = open_deals(proxy, 501, {"s50": 3})
        proxy.win_opportunity(closed["id"], {"reason": "签约"})

    to_zhao = transferred(501, ZHAO, from_owner=LI)
    deliver(pipeline, service_config, to_zhao, "on_customer_transferred")
    with rpc_as(service_config, ZHAO) as proxy:
        assert sorted(d["id"] for d in proxy.list_opportunities({"status": "open"})) == [
            first["id"],
            second["id"],
        ]
        assert proxy.get_forecast()["weighted_total"] == "10000.00"
    with rpc_as(service_config, LI) as proxy:
        # the deal LI won stays LI's
        assert [d["id"] for d in proxy.list_opportunities()] == [closed["id"]]

    # Zhao → Wang, then the first event is delivered again: it must not pull the deals back.
    deliver(pipeline, service_config, transferred(501, WANG, from_owner=ZHAO), "on_customer_transferred")
    deliver(pipeline, service_config, to_zhao, "on_customer_transferred")
    with rpc_as(service_config, WANG) as proxy:
        assert {d["owner_id"] for d in proxy.list_opportunities({"status": "open"})} == {WANG[0]}


def test_a_deal_moving_into_a_team_with_other_stages_lands_on_the_nearest_stage_below(
    pipeline, service_config, listener
):
    with rpc_as(service_config, ZHOU) as proxy:  # west has no 75 % stage
        proxy.set_stages(
            {
                "stages": [
                    {"key": "new", "name": "新客户", "probability": 0},
                    {"key": "s50", "name": "认可", "probability": 50},
                    {"key": "deal", "name": "签约", "probability": 90},
                    {"key": "won", "name": "稳定供货", "probability": 100},
                ]
            }
        )
    add_customer(501, LI)
    with rpc_as(service_config, LI) as proxy:
        at_50, at_75 = open_deals(proxy, 501, {"s50": 1, "s75": 1})

    deliver(
        pipeline, service_config, transferred(501, SUN, team="west", from_owner=LI), "on_customer_transferred"
    )
    with rpc_as(service_config, SUN) as proxy:
        kept = proxy.get_opportunity(at_50["id"])
        landed = proxy.get_opportunity(at_75["id"])
        forecast = proxy.get_forecast()
    assert (kept["team"], kept["stage"], len(kept["history"])) == ("west", "s50", 1)
    assert (landed["stage"], landed["history"][-1]["kind"], landed["history"][-1]["changed_by"]) == (
        "s50",
        "team_changed",
        None,
    )
    assert forecast["weighted_total"] == "10000.00"
    moved = eventually(lambda: PipelineListener.of_type("opportunity_stage_changed"))
    assert moved[0]["data"]["from_stage"] == "s75" and moved[0]["data"]["to_stage"] == "s50"


def test_an_abandoned_customers_open_deals_end_lost_as_abandoned(pipeline, service_config, listener):
    add_customer(501, LI)
    add_customer(502, LI)
    with rpc_as(service_config, LI) as proxy:
        open_deals(proxy, 501, {"s25": 2})
        won = open_deals(proxy, 501, {"s90": 1})[0]
        proxy.win_opportunity(won["id"], {"reason": "签约"})
        other = open_deals(proxy, 502, {"s25": 1})[0]

    abandoned = customers_event(
        "customer_abandoned",
        customer_id=501,
        name="客户501",
        owner_id=LI[0],
        team="east",
        reason="倒闭",
        alarm_id=7,
    )
    deliver(pipeline, service_config, abandoned, "on_customer_abandoned")
    deliver(pipeline, service_config, abandoned, "on_customer_abandoned")  # at least once: again

    with rpc_as(service_config, LI) as proxy:
        by_status = {(d["customer_id"], d["status"], d["close_reason"]) for d in proxy.list_opportunities()}
        assert proxy.get_opportunity(other["id"])["status"] == "open"
    assert by_status == {(501, "lost", "abandoned"), (501, "won", "签约"), (502, "open", None)}
    eventually(lambda: len(PipelineListener.of_type("opportunity_lost")) == 2)
    lost = PipelineListener.of_type("opportunity_lost")
    assert len(lost) == 2 and {e["data"]["reason"] for e in lost} == {"abandoned"}
    assert {e["data"]["closed_by"] for e in lost} == {None}


@pytest.mark.parametrize("data", [{}, {"customer_id": "501"}, {"customer_id": None}])
def test_a_malformed_event_is_acknowledged_and_changes_nothing(pipeline, service_config, data):
    add_customer(501, LI)
    with rpc_as(service_config, LI) as proxy:
        deal = open_deals(proxy, 501, {"s25": 1})[0]
    deliver(pipeline, service_config, customers_event("customer_abandoned", **data), "on_customer_abandoned")
    with rpc_as(service_config, LI) as proxy:
        assert proxy.get_opportunity(deal["id"])["status"] == "open"
