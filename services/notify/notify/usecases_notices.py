"""Use cases of notices: events a team's managers must hear about (an alarm raised, a
suspected duplicate customer), the managers' wish to hear of them by SMS as well, and the
owner's warning that the pool rules will return a customer soon.

The event handler only keeps the notice; a timer turns kept notices into notifications (and
SMS), asking accounts for the team's managers. A team accounts cannot tell us about now is
tried again later.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from crm_common.db import TransactionFactory
from crm_common.errors import InvalidInput
from crm_common.validation import load
from notify import domain, domain_notices, domain_sms
from notify.schemas import ReturnWarningEventSchema
from notify.store import Store
from notify.usecases_watching import integer, moment

if TYPE_CHECKING:
    from notify.dependencies import NotifySettings

log = logging.getLogger(__name__)

NOTICE_BATCH = 50
NOTICE_RETRY = timedelta(seconds=30)
UsersLookup = Callable[[Sequence[int]], dict[int, dict] | None]
TeamLookup = Callable[[str], list[dict] | None]

NOTICE_BUILDERS = {
    "alarm_raised": domain_notices.alarm_raised_notice,
    "customer_duplicate_suspected": domain_notices.duplicate_suspected_notice,
}


def preferences(store: Any, user_id: int) -> dict[str, Any]:
    row = store.preference(user_id)
    return {"sms_for_notices": bool(row.sms_for_notices) if row else False}


def change_preferences(store: Any, user_id: int, changes: dict[str, Any], now: datetime) -> dict[str, Any]:
    store.save_preference(user_id, changes["sms_for_notices"], now)
    return preferences(store, user_id)


def keep_manager_notice(store: Any, event: dict[str, Any], now: datetime) -> None:
    """Keep an event the team's managers must hear about; a payload nobody can read is dropped."""
    kind = event.get("event_type") or ""
    try:
        notice = NOTICE_BUILDERS[kind](event)
    except (KeyError, domain.InvalidEventPayload) as exc:
        log.error("%s %s cannot become a notice (%s): dropped", kind, event.get("event_id"), exc)
        return
    store.add_manager_notice(
        event_id=str(event["event_id"]),
        kind=kind,
        team=notice.team,
        payload=json.dumps(event, ensure_ascii=False, default=str),
        now=now,
    )


def _with_names(event: dict[str, Any], names: dict[int, str]) -> dict[str, Any]:
    """customers sends owner ids; the notice reads better with the owners' names."""
    data = dict(event.get("data") or {})
    for id_key, name_key in (("owner_id", "owner_name"), ("duplicate_owner_id", "duplicate_owner_name")):
        user_id = integer(data.get(id_key))
        if user_id is not None and not data.get(name_key) and user_id in names:
            data[name_key] = names[user_id]
    return {**event, "data": data}


def deliver_manager_notices(
    transactions: TransactionFactory,
    lookup_team: TeamLookup,
    lookup_users: UsersLookup,
    clock: Any,
    settings: NotifySettings,
) -> int:
    """Turn kept notices into notifications (and SMS, for managers who asked) for each team's
    managers. A team accounts cannot tell us about now is tried again later."""
    now = clock.now()
    with transactions() as unit:
        waiting = Store(unit).waiting_notices(now, NOTICE_BATCH)
    if not waiting:
        return 0
    members: dict[str, list[dict] | None] = {}
    for team in {team for _, team, _ in waiting if team}:
        members[team] = lookup_team(team)
    names = {user["id"]: user["display_name"] for team in members.values() for user in team or []}
    missing: set[int] = set()
    for _, _, payload in waiting:
        data = json.loads(payload).get("data") or {}
        for key in ("owner_id", "duplicate_owner_id"):
            user_id = integer(data.get(key))
            if user_id is not None and user_id not in names:
                missing.add(user_id)
    if missing:
        others = lookup_users(sorted(missing)) or {}
        names.update({int(key): user["display_name"] for key, user in others.items()})
    delivered = 0
    for notice_id, team, payload in waiting:
        with transactions() as unit:
            store = Store(unit)
            if team and members.get(team) is None:
                store.postpone_notice(notice_id, now + NOTICE_RETRY)
                continue
            if store.take_notice(notice_id, now):
                tell_managers(
                    store,
                    notice_id,
                    _with_names(json.loads(payload), names),
                    members.get(team or "") or [],
                    now,
                )
                delivered += 1
    return delivered


def tell_managers(
    store: Any, notice_id: int, event: dict[str, Any], team_members: list[dict], now: datetime
) -> None:
    """The notice for each manager of the team (but the one who raised it): a notification, and
    an SMS for those who asked for one and have a phone."""
    notice = NOTICE_BUILDERS[event["event_type"]](event)
    raised_by = integer((event.get("data") or {}).get("raised_by"))
    managers = [user for user in team_members if user.get("role") == "manager" and user["id"] != raised_by]
    if not managers:
        log.warning("%s for team %s: the team has no manager to tell", notice.kind, notice.team)
    wants_sms = store.wanting_sms_for_notices([user["id"] for user in managers])
    for manager in managers:
        key = f"notice:{notice_id}:{manager['id']}"
        store.add_notification(
            user_id=manager["id"],
            kind=notice.kind,
            title=notice.title,
            body=notice.body,
            dedupe_key=key,
            now=now,
            subject=(notice.subject_type, notice.subject_id),
        )
        if manager["id"] in wants_sms and manager.get("phone"):
            store.add_sms(
                idempotency_key=key,
                recipient_id=manager["id"],
                to=manager["phone"],
                body=domain_sms.compose_sms(notice.title, None, notice.body),
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )


def warn_owner_of_return(store: Any, event: dict[str, Any], now: datetime, timezone: str) -> None:
    """customers' ``customer_return_warning``: an in-app notice for the customer's owner (one per
    event: its ``event_id`` is the notice's key). A payload it cannot read is logged and dropped."""
    try:
        warning = load(ReturnWarningEventSchema(), event.get("data") or {})
    except InvalidInput as exc:
        log.error("customer_return_warning %s unreadable (%s): dropped", event.get("event_id"), exc.details)
        return
    watch = store.watch_for_update(warning["customer_id"])  # serialised with its owner's changes
    occurred_at = moment(event.get("occurred_at"))
    if (
        watch is not None
        and watch.event_at is not None
        and (occurred_at is None or watch.event_at > occurred_at)
        and watch.owner_id != warning["owner_id"]
    ):
        log.info(
            "customer_return_warning %s: customer %s changed owner since it was sent: dropped",
            event.get("event_id"),
            warning["customer_id"],
        )
        return
    notice = domain_notices.return_warning_notice(
        warning["customer_id"],
        warning["name"],
        warning["reason"],
        warning["days"],
        warning["return_at"],
        now,
        timezone,
    )
    store.add_notification(
        user_id=warning["owner_id"],
        kind=notice.kind,
        title=notice.title,
        body=notice.body,
        dedupe_key=f"return-warning:{event['event_id']}",
        now=now,
        subject=("customer", notice.customer_id),
    )
