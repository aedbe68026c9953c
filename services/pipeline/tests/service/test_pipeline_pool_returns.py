"""A customer the pool rules returned to the team's pool (customers' ``customer_returned_to_pool``)
ends its open deals lost, as an abandoned customer's do; once, however often it is delivered."""

from pipeline_support import LI, PipelineListener, add_customer, eventually, open_deals, rpc_as

from services.pipeline.tests.service.test_pipeline_events import customers_event, deliver


def test_a_returned_customers_open_deals_end_lost(pipeline, service_config, listener):
    add_customer(601, LI)
    with rpc_as(service_config, LI) as proxy:
        deal = open_deals(proxy, 601, {"s25": 1})[0]
    returned = customers_event(
        "customer_returned_to_pool",
        customer_id=601,
        name="客户601",
        owner_id=None,
        team="east",
        reason="no_followup",
        days=30,
        former_owner_id=LI[0],
    )
    deliver(pipeline, service_config, returned, "on_customer_returned_to_pool")
    deliver(pipeline, service_config, returned, "on_customer_returned_to_pool")  # at least once: again
    with rpc_as(service_config, LI) as proxy:
        closed = proxy.get_opportunity(deal["id"])
    assert (closed["status"], closed["close_reason"]) == ("lost", "abandoned")
    eventually(lambda: len(PipelineListener.of_type("opportunity_lost")) == 1)


def test_a_returned_event_without_a_customer_changes_nothing(pipeline, service_config):
    add_customer(602, LI)
    with rpc_as(service_config, LI) as proxy:
        deal = open_deals(proxy, 602, {"s25": 1})[0]
    deliver(
        pipeline, service_config, customers_event("customer_returned_to_pool"), "on_customer_returned_to_pool"
    )
    with rpc_as(service_config, LI) as proxy:
        assert proxy.get_opportunity(deal["id"])["status"] == "open"
