"""The other services customers asks, each behind a small object with domain words."""

from __future__ import annotations

import logging
import time
from typing import Any

from nameko.exceptions import RemoteError

# knowledge's errors module is its contract: importing it makes its errors arrive as themselves.
import knowledge.exceptions  # noqa: F401
from crm_common.errors import NotFound, ServiceUnavailable
from crm_common.rpc import TimedRpcProxy

log = logging.getLogger(__name__)

DIRECTORY_TTL_SECONDS = 60.0


class People:
    """Users as accounts knows them: names for display, role and team for assignments."""

    def __init__(self, accounts: Any, cache: dict[int, tuple[float, dict]], ttl: float) -> None:
        self._accounts = accounts
        self._cache = cache
        self._ttl = ttl

    def users(self, user_ids: list[int]) -> dict[int, dict]:
        """The users among ``user_ids`` that exist; ServiceUnavailable if accounts is down
        and one of them is not cached."""
        now = time.monotonic()
        found = {uid: entry[1] for uid in user_ids if (entry := self._cache.get(uid)) and entry[0] > now}
        missing = sorted({uid for uid in user_ids if uid is not None} - set(found))
        if missing:
            for key, user in self._accounts.get_users(missing).items():
                self._cache[int(key)] = (now + self._ttl, user)
                found[int(key)] = user
        return found

    def user(self, user_id: int) -> dict | None:
        return self.users([user_id]).get(user_id)

    def display_names(self, user_ids: list[int | None]) -> dict[int, str]:
        """Display names by id, for showing; a name accounts cannot give now is left out."""
        wanted = [uid for uid in set(user_ids) if uid is not None]
        try:
            users = self.users(wanted)
        except ServiceUnavailable as exc:
            log.warning("accounts did not answer (%s): showing user ids without names", exc)
            now = time.monotonic()
            users = {uid: entry[1] for uid in wanted if (entry := self._cache.get(uid)) and entry[0] > now}
        return {uid: user["display_name"] for uid, user in users.items()}

    def display_name(self, user_id: int, fallback: str) -> str:
        return self.display_names([user_id]).get(user_id) or fallback


class Directory(TimedRpcProxy):
    """Injects People: accounts.get_users behind a short cache (names rarely change, and a
    customer entry should not wait on a second service for a label)."""

    def __init__(self, ttl_seconds: float = DIRECTORY_TTL_SECONDS, **options: Any) -> None:
        super().__init__("accounts", **options)
        self.ttl = ttl_seconds
        self.cache: dict[int, tuple[float, dict]] = {}

    def get_dependency(self, worker_ctx: Any) -> People:
        return People(super().get_dependency(worker_ctx), self.cache, self.ttl)


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
