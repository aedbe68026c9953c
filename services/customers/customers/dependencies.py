"""The other services customers asks, each behind a small object with domain words (accounts:
the shared `crm_common.directory.Directory`)."""

from __future__ import annotations

import logging
from typing import Any

from nameko.exceptions import RemoteError
from nameko.timer import Timer

# knowledge's errors module is its contract: importing it makes its errors arrive as themselves.
import knowledge.exceptions  # noqa: F401
from crm_common.errors import NotFound, ServiceUnavailable
from crm_common.rpc import TimedRpcProxy

log = logging.getLogger(__name__)


class Alarms:
    """Difficulty alarms as knowledge knows them."""

    def __init__(self, knowledge: Any) -> None:
        self._knowledge = knowledge

    def for_abandon(self, alarm_id: int) -> dict | None:
        """The alarm (``customer_id``, ``manager_answered`` …) or None if there is no such alarm.

        Raises ServiceUnavailable when knowledge cannot answer: without its word nobody gives
        up a customer.
        """
        try:
            return self._knowledge.alarm_for_abandon(alarm_id)
        except NotFound:
            return None
        except RemoteError as exc:
            log.error("knowledge failed on alarm_for_abandon(%s): %s", alarm_id, exc)
            raise ServiceUnavailable("knowledge could not check the difficulty alarm") from exc


class Knowledge(TimedRpcProxy):
    """Injects Alarms (knowledge over RPC, with the deadline)."""

    def __init__(self, **options: Any) -> None:
        super().__init__("knowledge", **options)

    def get_dependency(self, worker_ctx: Any) -> Alarms:
        return Alarms(super().get_dependency(worker_ctx))


class ConfiguredTimer(Timer):
    """nameko's timer with its interval read from config at setup: ``@every("POOL_SWEEP_SECONDS", 300)``."""

    def __init__(self, config_key: str, default: float, **kwargs: Any) -> None:
        self.config_key = config_key
        self.default_interval = default
        super().__init__(interval=default, **kwargs)

    def setup(self) -> None:
        self.interval = float(self.container.config.get(self.config_key) or self.default_interval)


every = ConfiguredTimer.decorator
