"""Use cases of watching customers: what customers events say about birthdays, planned visits
and owners, the teams' lead times, and the reviews that keep birthday and revisit reminders in
line with them.

Event handlers only write notify's own watch rows, so they never wait on another service and a
redelivery is cheap. A timer then turns marked watches into reminders, asking accounts for the
owners; if accounts does not answer, the watches simply wait for the next pass.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from crm_common.caller import Caller
from crm_common.db import TransactionFactory
from crm_common.errors import Forbidden, InvalidInput
from notify import domain, domain_birthdays
from notify.store import Store
from notify.usecases_reminders import reminder_columns

if TYPE_CHECKING:
    from notify.dependencies import NotifySettings

log = logging.getLogger(__name__)

SYSTEM_KINDS = ("birthday", "revisit")
REVIEW_BATCH = 100
UsersLookup = Callable[[Sequence[int]], dict[int, dict] | None]


def moment(value: object) -> datetime | None:
    """An ISO time from an event payload, in UTC; None for anything else."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return domain.as_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError:
        return None


def integer(value: object) -> int | None:
    """An id from an event payload; None for anything that is not one."""
    if isinstance(value, bool):
        return None
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- customer events


# the customer left its owner for the team's pool: given up, or returned by the pool rules
LEFT_FOR_POOL = ("customer_abandoned", "customer_returned_to_pool")


def watch_customer(store: Any, event: dict[str, Any], now: datetime) -> None:
    """Keep what a customers event says about birthdays, visits and ownership; mark for review.

    An event older than the one last applied (events of different kinds travel on different
    queues) changes nothing. A payload without a customer id is logged and dropped.
    """
    kind, data = event.get("event_type"), event.get("data") or {}
    customer_id = integer(data.get("customer_id"))
    if customer_id is None:
        log.error("%s without a customer_id: dropped (%s)", kind, event.get("event_id"))
        return
    occurred_at = moment(event.get("occurred_at")) or now
    watch = store.watch_for_update(customer_id)
    if watch is not None and watch.event_at is not None and occurred_at < watch.event_at:
        log.info("%s for customer %s is older than what notify knows: ignored", kind, customer_id)
        return
    if watch is None:
        watch = store.add_watch(customer_id)
    watch.name = str(data.get("name") or watch.name or f"#{customer_id}")[:200]
    watch.team = data.get("team") or watch.team
    former_owner = watch.owner_id
    if kind == "customer_transferred":
        watch.owner_id = integer(data.get("to_owner_id"))
    elif kind in LEFT_FOR_POOL:
        watch.owner_id = None
    else:
        watch.owner_id = integer(data.get("owner_id"))
    if former_owner is not None and watch.owner_id != former_owner:
        # a warning that the customer returns to the pool soon is no longer the former owner's
        store.withdraw_return_warnings(customer_id, former_owner, now)
    if kind not in LEFT_FOR_POOL:
        _take_birthday(watch, data)
        _take_visit(watch, data)
    watch.revision = integer(data.get("revision")) or watch.revision or 0
    watch.event_at = occurred_at
    watch.needs_review = True
    watch.version = (watch.version or 0) + 1
    watch.updated_at = now


def follow_offboarding(store: Any, event: dict[str, Any], now: datetime) -> int:
    """A customer handed over because its owner left (reason "offboarding"): the leaver's pending
    manual reminders about it go to the colleague (``customer_transferred``), or are cancelled when
    it went to the pool (``customer_abandoned``: nobody owns it, and the leaver must no longer be
    reminded nor texted). Birthday and revisit reminders follow the watch as on any transfer.
    How many reminders changed; other events change none."""
    kind, data = event.get("event_type"), event.get("data") or {}
    if data.get("reason") != "offboarding":
        return 0
    customer_id = integer(data.get("customer_id"))
    if kind == "customer_transferred":
        leaver, colleague = integer(data.get("from_owner_id")), integer(data.get("to_owner_id"))
        if customer_id is None or leaver is None or colleague is None:
            log.error("offboarding transfer without its ids: %s", event.get("event_id"))
            return 0
        return int(store.hand_over_manual_reminders(customer_id, leaver, colleague, data.get("team")))
    leaver = integer(data.get("owner_id"))
    if kind != "customer_abandoned" or customer_id is None or leaver is None:
        return 0
    return int(store.cancel_manual_reminders(customer_id, leaver, now))


def _take_birthday(watch: Any, data: dict[str, Any]) -> None:
    if "birthday" not in data:
        return
    try:
        month_day = domain_birthdays.parse_birthday(data["birthday"])
    except domain.InvalidBirthday:
        log.warning("customer %s: unreadable birthday %r ignored", watch.customer_id, data["birthday"])
        month_day = None
    if month_day != (watch.birthday_month, watch.birthday_day):
        watch.last_reminded_year = None
    watch.birthday_month, watch.birthday_day = month_day or (None, None)


def _take_visit(watch: Any, data: dict[str, Any]) -> None:
    if "next_visit_at" not in data:
        return
    watch.next_visit_at = moment(data.get("next_visit_at"))
    contact = data.get("next_visit_contact")
    if isinstance(contact, dict):
        watch.next_visit_contact = str(contact.get("name") or "")[:200] or None
        watch.next_visit_contact_title = str(contact.get("title") or "")[:100] or None
    else:
        watch.next_visit_contact = str(contact)[:200] if contact else None
        watch.next_visit_contact_title = None


# --------------------------------------------------------------------------- team settings


def team_settings(store: Any, team: str | None, settings: NotifySettings) -> dict[str, Any]:
    row = store.team_setting(team) if team else None
    return {
        "team": team,
        "birthday_days_ahead": row.birthday_days_ahead if row else settings.default_birthday_days_ahead,
        "revisit_lead_hours": row.revisit_lead_hours if row else settings.default_revisit_lead_hours,
    }


def _settings_team(caller: Caller, team: str | None) -> str:
    if team and team != caller.team and not caller.is_admin:
        raise Forbidden("only an admin looks at another team's settings", {"team": team})
    chosen = team or caller.team
    if not chosen:
        raise InvalidInput("name the team", {"team": ["required for a user without a team"]})
    return chosen


def read_team_settings(
    store: Any, caller: Caller, team: str | None, settings: NotifySettings
) -> dict[str, Any]:
    return team_settings(store, _settings_team(caller, team), settings)


def change_team_settings(
    store: Any, caller: Caller, changes: dict[str, Any], settings: NotifySettings, now: datetime
) -> dict[str, Any]:
    """A manager sets their team's lead times (an admin any team's); the team's customers are
    reviewed again so reminders follow the new lead times."""
    caller.require_role("manager", "admin")
    team = _settings_team(caller, changes.get("team"))
    current = team_settings(store, team, settings)
    store.save_team_setting(
        team,
        changes.get("birthday_days_ahead", current["birthday_days_ahead"]),
        changes.get("revisit_lead_hours", current["revisit_lead_hours"]),
        caller.user_id,
        now,
    )
    store.mark_team_for_review(team)
    return team_settings(store, team, settings)


# --------------------------------------------------------------------------- reviewing watches


def review_customers(
    transactions: TransactionFactory, lookup_users: UsersLookup, clock: Any, settings: NotifySettings
) -> int:
    """Bring birthday and revisit reminders in line with the watched customers marked for review."""
    with transactions() as unit:
        marked = Store(unit).watches_to_review(REVIEW_BATCH)
    if not marked:
        return 0
    owner_ids = sorted({owner_id for _, owner_id, _ in marked if owner_id is not None})
    users = lookup_users(owner_ids) if owner_ids else {}
    if users is None:
        return 0  # accounts did not answer: the watches stay marked for the next pass
    reviewed = 0
    for customer_id, _, version in marked:
        now = clock.now()
        with transactions() as unit:
            store = Store(unit)
            if not store.take_review(customer_id, version):
                continue  # another instance reviewed it, or a newer event marks it again
            watch = store.watch(customer_id)
            assert watch is not None
            reconcile(store, watch, users, now, settings)
            reviewed += 1
    return reviewed


def reconcile(
    store: Any, watch: Any, users: dict[int, dict], now: datetime, settings: NotifySettings
) -> None:
    """The watch's pending birthday and revisit reminders, made to match it."""
    team = team_settings(store, watch.team, settings)
    owner = users.get(watch.owner_id) if watch.owner_id is not None else None
    pending = store.pending_system_reminders(watch.customer_id, SYSTEM_KINDS)
    wanted = _plan_revisit(store, watch, owner, team, now, settings)
    for reminder in pending:
        if reminder.kind == "revisit" and reminder.source_key != wanted:
            store.cancel_pending_reminder(reminder.id, now)
        elif reminder.kind == "birthday" and reminder.owner_id != watch.owner_id:
            # transferred or abandoned: the birthday belongs to whoever owns the customer now
            store.cancel_pending_reminder(reminder.id, now)
            if watch.owner_id is not None:
                year = (reminder.source_key or "").split(":")[2]
                _create_once(
                    store,
                    f"birthday:{watch.customer_id}:{year}:{watch.owner_id}",
                    watch,
                    owner,
                    "birthday",
                    reminder.title,
                    reminder.content,
                    max(reminder.due_at, now),
                    now,
                    settings,
                )
    _plan_birthday(store, watch, owner, team, now, settings)


def _create_once(
    store: Any,
    key: str,
    watch: Any,
    owner: dict | None,
    kind: str,
    title: str,
    content: str,
    due_at: datetime,
    now: datetime,
    settings: NotifySettings,
) -> None:
    if store.has_reminder_from(key):
        return
    assert watch.owner_id is not None
    store.add_reminder(
        **reminder_columns(
            owner_id=watch.owner_id,
            owner=owner,
            team=watch.team,
            title=title,
            content=content,
            due_at=due_at,
            requested_minutes=None,
            now=now,
            settings=settings,
            kind=kind,
            customer_id=watch.customer_id,
            source_key=key,
        )
    )


def _plan_revisit(
    store: Any, watch: Any, owner: dict | None, team: dict[str, Any], now: datetime, settings: NotifySettings
) -> str | None:
    """Make sure the planned visit has its reminder; returns its key (None: no visit to remind)."""
    if watch.owner_id is None or watch.next_visit_at is None:
        return None
    lead = timedelta(hours=team["revisit_lead_hours"])
    remind_at = domain_birthdays.revisit_reminder_at(watch.next_visit_at, lead, now=now)
    if remind_at is None:
        return None
    zone = (owner or {}).get("timezone") or settings.timezone
    title, content = domain_birthdays.revisit_reminder_text(
        watch.name,
        domain.to_local(watch.next_visit_at, zone),
        watch.next_visit_contact,
        watch.next_visit_contact_title,
    )
    key = f"revisit:{watch.customer_id}:{watch.next_visit_at.astimezone(UTC):%Y%m%dT%H%M%S}:{watch.owner_id}"
    _create_once(store, key, watch, owner, "revisit", title, content, remind_at, now, settings)
    if remind_at > now:  # the team changed its lead time: a reminder still waiting moves with it
        existing = store.pending_reminder_from(key)
        if existing is not None and existing.due_at != remind_at:
            minutes = existing.escalate_after_minutes
            store.move_pending_reminder(
                existing.id, remind_at, domain.escalation_at(remind_at, minutes, settings.escalation_minute)
            )
    return key


def _birthday(watch: Any) -> domain_birthdays.WatchedBirthday:
    assert watch.owner_id is not None and watch.birthday_month and watch.birthday_day
    return domain_birthdays.WatchedBirthday(
        customer_id=watch.customer_id,
        owner_id=watch.owner_id,
        customer_name=watch.name,
        month=watch.birthday_month,
        day=watch.birthday_day,
        last_reminded_year=watch.last_reminded_year,
    )


def _plan_birthday(
    store: Any, watch: Any, owner: dict | None, team: dict[str, Any], now: datetime, settings: NotifySettings
) -> None:
    if watch.owner_id is None or watch.birthday_month is None or watch.birthday_day is None:
        return
    zone = (owner or {}).get("timezone") or settings.timezone
    today = domain.to_local(now, zone).date()
    for due in domain_birthdays.birthdays_to_remind([_birthday(watch)], today, team["birthday_days_ahead"]):
        # the year is taken with a conditional update: one reminder per anniversary, whoever runs
        if not store.take_birthday_year(watch.customer_id, due.remind_year):
            continue
        remind_at = max(now, domain.local_time_to_utc(today, settings.birthday_remind_at, zone))
        key = f"birthday:{watch.customer_id}:{due.remind_year}:{watch.owner_id}"
        _create_once(store, key, watch, owner, "birthday", due.title, due.content, remind_at, now, settings)


def birthdays_due(store: Any, now: datetime, settings: NotifySettings) -> list[int]:
    """Mark for review every watched customer whose birthday has come within the team's window
    and whose owner has not been reminded this year; returns their ids."""
    today = domain.to_local(now, settings.timezone).date()
    days_ahead = {row.team: row.birthday_days_ahead for row in store.team_settings_rows()}
    due = [
        watch.customer_id
        for watch in store.watches_with_birthdays()
        if domain_birthdays.birthdays_to_remind(
            [_birthday(watch)],
            today,
            days_ahead.get(watch.team or "", settings.default_birthday_days_ahead),
        )
    ]
    store.mark_for_review(due)
    return due


def scan_birthdays(transactions: TransactionFactory, clock: Any, settings: NotifySettings) -> int:
    """The daily scan (see :func:`birthdays_due`), in one transaction. Returns how many."""
    now = clock.now()
    with transactions() as unit:
        return len(birthdays_due(Store(unit), now, settings))
