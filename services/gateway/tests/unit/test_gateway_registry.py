"""The gateway reaches every service the registry lists, and knows each one's error types."""

import importlib

from crm_common.errors import CrmError
from crm_common.registry import BACKENDS
from crm_common.rpc import TimedRpcProxy
from gateway.errors import describe
from gateway.service import GatewayService


def test_the_gateway_has_an_rpc_proxy_for_every_registered_service():
    for service in BACKENDS:
        proxy = getattr(GatewayService, service.name, None)
        assert isinstance(proxy, TimedRpcProxy), service.name
        assert proxy.target_service == service.name


def test_every_registered_service_error_keeps_its_code_at_the_gateway():
    for service in BACKENDS:
        module = importlib.import_module(service.exceptions_module)
        errors = [
            value
            for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, CrmError) and value.__module__ == module.__name__
        ]
        for error_type in errors:
            status, body = describe(error_type("why"))
            assert 400 <= status < 600 and status != 500, (error_type, status)
            assert body["error"]["code"] == error_type.code, error_type
