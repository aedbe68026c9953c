"""People, a listener and the calls shared by the appraisal's service tests: publishing an event as
another service would, calling the appraisal as a person, the error a refused call raised."""

from datetime import UTC, datetime

import pytest
from nameko.events import event_handler
from nameko.exceptions import RemoteError
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter

from crm_common.outbox import envelope
from tests.support.callers import as_caller

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 2026-Q4 in Asia/Shanghai
ADMIN = (1, "admin", None)
DIRECTOR = (2, "manager", "hq")  # the east manager's own manager: reviews disputes
ZHOU = (10, "manager", "east")
LI = (11, "sales", "east")
WANG = (12, "sales", "east")
ZHAO = (13, "sales", "east")
SUN = (20, "manager", "west")
NAMES = {1: "管理员", 2: "钱总", 10: "周经理", 11: "李雷", 12: "王芳", 13: "赵强", 20: "孙经理"}
MANAGER_OF = {10: 2, 11: 10, 12: 10, 13: 10}


class AppraisalListener:
    """Collects what the appraisal publishes."""

    name = "appraisal_listener"
    events: list = []

    @event_handler("appraisal", "scorecard_published")
    def on_published(self, event):
        AppraisalListener.events.append(event)

    @event_handler("appraisal", "scorecard_acknowledged")
    def on_acknowledged(self, event):
        AppraisalListener.events.append(event)

    @event_handler("appraisal", "scorecard_disputed")
    def on_disputed(self, event):
        AppraisalListener.events.append(event)

    @event_handler("appraisal", "scorecard_reviewed")
    def on_reviewed(self, event):
        AppraisalListener.events.append(event)


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def publish(container, config, source, event_type, when, handler, **data):
    """Publish one event as ``source`` would and wait until the appraisal has handled it."""
    event = envelope(event_type, data, source, at(when))
    with entrypoint_waiter(container, handler, timeout=10):
        event_dispatcher(config)(source, event_type, event)
    return event


def rpc_as(config, person):
    user_id, role, team = person
    return ServiceRpcProxy("appraisal", config, context_data=as_caller(user_id, role, team))


def call(config, person, method, *args):
    with rpc_as(config, person) as proxy:
        return getattr(proxy, method)(*args)


class Refusal:
    def __init__(self, error):
        self.exc_type = type(error).__name__ if not isinstance(error, RemoteError) else error.exc_type
        self.code = getattr(error, "code", None)
        self.value = str(getattr(error, "details", None) or error)


def refused(config, person, method, *args):
    """The typed error the call raises (errors cross RPC as themselves: crm_common.errors)."""
    with pytest.raises(Exception) as error:  # noqa: B017 — any of the service's typed errors
        call(config, person, method, *args)
    return Refusal(error.value)


def scores(value, **overrides):
    keys = ("attainment", "teamwork", "innovation", "knowledge", "leadership")
    return {
        "scores": [
            {"indicator": k, "score": str(overrides.get(k, value)), "comment": "面谈确认"} for k in keys
        ]
    }


def by_key(card):
    return {i["key"]: i for i in card["indicators"]}
