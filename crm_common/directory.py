"""The one accounts client every service uses: users by id and by team, behind a short cache.

Inject it with ``people = Directory()``; a worker gets :class:`People`. Names and teams rarely
change, and a customer entry or a reminder should not wait on a second service for a label, so
users are cached for ``ttl_seconds`` (per service instance). What a method does when accounts does
not answer is in its name: ``users``/``team`` raise ``ServiceUnavailable`` (the caller needs the
answer), ``try_users``/``try_team`` return None (the caller tries again later), the name methods
fall back to what they have (a name is a label).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from crm_common.caller import Caller
from crm_common.errors import ServiceUnavailable
from crm_common.rpc import TimedRpcProxy

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 60.0

Cache = dict[int, tuple[float, dict]]


class People:
    """Users as accounts knows them (``accounts.get_users``/``get_team``: id, username,
    display_name, role, team, manager_id, phone, escalate_after_minutes, active …)."""

    def __init__(self, accounts: Any, cache: Cache, ttl: float, clock: Any = time.monotonic) -> None:
        self._accounts = accounts
        self._cache = cache
        self._ttl = ttl
        self._now = clock

    def _cached(self, user_ids: Iterable[int]) -> dict[int, dict]:
        now = self._now()
        return {uid: entry[1] for uid in user_ids if (entry := self._cache.get(uid)) and entry[0] > now}

    def _remember(self, users: Iterable[dict]) -> None:
        until = self._now() + self._ttl
        for user in users:
            self._cache[int(user["id"])] = (until, user)

    def users(self, user_ids: Iterable[int | None]) -> dict[int, dict]:
        """The users among ``user_ids`` that exist, by id; ServiceUnavailable when accounts does
        not answer and one of them is not cached."""
        wanted = {int(uid) for uid in user_ids if uid is not None}
        found = self._cached(wanted)
        missing = sorted(wanted - set(found))
        if missing:
            answered = {int(key): user for key, user in self._accounts.get_users(missing).items()}
            self._remember(answered.values())
            found.update(answered)
        return found

    def user(self, user_id: int) -> dict | None:
        return self.users([user_id]).get(int(user_id))

    def try_users(self, user_ids: Iterable[int | None]) -> dict[int, dict] | None:
        """As :meth:`users`, but None (logged) when accounts does not answer."""
        try:
            return self.users(user_ids)
        except ServiceUnavailable as exc:
            log.warning("accounts did not answer get_users (%s)", exc)
            return None

    def team(self, team: str) -> list[dict]:
        """The active users of ``team`` (fresh from accounts: who is in a team matters more than
        a name); ServiceUnavailable when accounts does not answer."""
        members = list(self._accounts.get_team(team))
        self._remember(members)
        return members

    def try_team(self, team: str) -> list[dict] | None:
        """As :meth:`team`, but None (logged) when accounts does not answer."""
        try:
            return self.team(team)
        except ServiceUnavailable as exc:
            log.warning("accounts did not answer get_team(%s) (%s)", team, exc)
            return None

    def display_names(self, user_ids: Iterable[int | None]) -> dict[int, str]:
        """Display names by id, for showing; never raises: a name accounts cannot give now
        (down, or no such user) is left out."""
        wanted = [uid for uid in set(user_ids) if uid is not None]
        users = self.try_users(wanted)
        if users is None:
            users = self._cached(wanted)
        return {uid: user["display_name"] for uid, user in users.items() if user.get("display_name")}

    def display_name(self, user_id: int, fallback: str) -> str:
        return self.display_names([user_id]).get(user_id) or fallback

    def name_of(self, caller: Caller) -> str:
        """The caller's display name; their username when accounts does not answer."""
        return caller.display_name or self.display_name(caller.user_id, caller.username)


class Directory(TimedRpcProxy):
    """Injects :class:`People`: accounts over RPC with a deadline (``timeout_seconds``, default
    the service's ``RPC_TIMEOUT_SECONDS``) and a per-instance cache of ``ttl_seconds``."""

    def __init__(
        self, ttl_seconds: float = DEFAULT_TTL_SECONDS, timeout_seconds: float | None = None, **options: Any
    ) -> None:
        super().__init__("accounts", **options)
        self.ttl = ttl_seconds
        self.timeout_seconds = timeout_seconds
        self.cache: Cache = {}

    def get_dependency(self, worker_ctx: Any) -> People:  # type: ignore[override]
        accounts = super().get_dependency(worker_ctx)
        if self.timeout_seconds is not None:
            accounts = accounts.with_timeout(self.timeout_seconds)
        return People(accounts, self.cache, self.ttl)
