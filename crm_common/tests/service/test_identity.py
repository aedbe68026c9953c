"""The caller's identity travels with every RPC hop, and a call without one is refused."""

import pytest
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy

from crm_common.errors import Conflict, Forbidden, ServiceUnavailable, Unauthenticated
from crm_common.identity import CallerIdentity
from crm_common.rpc import TimedRpcProxy
from tests.support.callers import as_caller


class Downstream:
    name = "downstream"
    caller = CallerIdentity()

    @rpc
    def who_is_calling(self):
        caller = self.caller.require()
        return {"user_id": caller.user_id, "role": caller.role, "team": caller.team}

    @rpc(expected_exceptions=(Forbidden,))
    def managers_only(self):
        self.caller.require().require_role("manager", "admin")
        return "ok"


class Upstream:
    name = "upstream"
    caller = CallerIdentity()
    downstream = TimedRpcProxy("downstream")
    absent = TimedRpcProxy("absent")

    @rpc
    def ask_downstream(self):
        return self.downstream.who_is_calling()

    @rpc
    def ask_downstream_for_managers(self):
        return self.downstream.managers_only()

    @rpc
    def ask_a_service_that_is_not_running(self):
        return self.absent.anything()


@pytest.fixture
def services(container_factory, rabbit_config):
    config = {**rabbit_config, "RPC_TIMEOUT_SECONDS": 2}
    for service in (Downstream, Upstream):
        container_factory(service, config).start()
    return config


def test_the_caller_reaches_the_second_hop(services):
    with ServiceRpcProxy("upstream", services, context_data=as_caller(7, "sales", "华东")) as upstream:
        assert upstream.ask_downstream() == {"user_id": 7, "role": "sales", "team": "华东"}


def test_the_second_hop_enforces_its_own_rules(services):
    sales = as_caller(7, "sales", "华东")
    with ServiceRpcProxy("upstream", services, context_data=sales) as upstream, pytest.raises(Forbidden):
        upstream.ask_downstream_for_managers()
    with ServiceRpcProxy("upstream", services, context_data=as_caller(8, "manager", "华东")) as upstream:
        assert upstream.ask_downstream_for_managers() == "ok"


def test_a_call_without_identity_is_unauthenticated(services):
    with ServiceRpcProxy("upstream", services) as upstream, pytest.raises(Unauthenticated):
        upstream.ask_downstream()


def test_a_missing_service_is_unavailable_not_a_hang(services):
    with ServiceRpcProxy("upstream", services) as upstream, pytest.raises(ServiceUnavailable):
        upstream.ask_a_service_that_is_not_running()


class Refuser:
    name = "refuser"

    @rpc(expected_exceptions=(Conflict,))
    def refuse(self):
        raise Conflict("no", {"customer_id": 42, "owner": None, "matched_on": ["name"], "score": 97.5})


def test_error_details_keep_their_types_across_rpc(container_factory, rabbit_config):
    container_factory(Refuser, rabbit_config).start()
    with ServiceRpcProxy("refuser", rabbit_config) as refuser, pytest.raises(Conflict) as error:
        refuser.refuse()
    assert error.value.details == {"customer_id": 42, "owner": None, "matched_on": ["name"], "score": 97.5}
    assert error.value.message == "no"
