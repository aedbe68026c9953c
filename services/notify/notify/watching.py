"""What notify does with other services' facts: customers it watches for birthdays and planned
revisits, and notices a team's managers must hear about.

Event handlers only write notify's own tables (a watch row, a notice row), so they never wait on
another service and a redelivery is cheap. Timers then turn those rows into reminders and
notifications, asking accounts for owners and managers; if accounts does not answer, the rows
simply wait for the next pass.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm_common.caller import Caller
from crm_common.db import UnitOfWork
from crm_common.errors import Forbidden, InvalidInput
from notify import domain
from notify.dependencies import NotifySettings, TransactionFactory
from notify.inbox import notify_user
from notify.models import CustomerWatch, ManagerNotice, Reminder, SmsMessage, TeamSetting, UserPreference
from notify.reminders import PENDING, new_reminder

log = logging.getLogger(__name__)

SYSTEM_KINDS = ("birthday", "revisit")
REVIEW_BATCH = 100
NOTICE_BATCH = 50
NOTICE_RETRY = timedelta(seconds=30)
UsersLookup = Callable[[Sequence[int]], dict[str, dict] | None]
TeamLookup = Callable[[str], list[dict] | None]


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return domain.as_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError:
        return None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- customer events


def watch_customer(unit: UnitOfWork, event: dict[str, Any], now: datetime) -> None:
    """Keep what a customers event says about birthdays, visits and ownership; mark for review.

    An event older than the one last applied (events of different kinds travel on different
    queues) changes nothing. A payload without a customer id is logged and dropped.
    """
    kind, data = event.get("event_type"), event.get("data") or {}
    customer_id = _int(data.get("customer_id"))
    if customer_id is None:
        log.error("%s without a customer_id: dropped (%s)", kind, event.get("event_id"))
        return
    occurred_at = _moment(event.get("occurred_at")) or now
    session = unit.session
    watch = session.get(CustomerWatch, customer_id, with_for_update=True)
    if watch is not None and watch.event_at is not None and occurred_at < watch.event_at:
        log.info("%s for customer %s is older than what notify knows: ignored", kind, customer_id)
        return
    if watch is None:
        watch = CustomerWatch(customer_id=customer_id, name="", version=0, revision=0)
        session.add(watch)
    watch.name = str(data.get("name") or watch.name or f"#{customer_id}")[:200]
    watch.team = data.get("team") or watch.team
    if kind == "customer_transferred":
        watch.owner_id = _int(data.get("to_owner_id"))
    elif kind == "customer_abandoned":
        watch.owner_id = None
    else:
        watch.owner_id = _int(data.get("owner_id"))
    if kind != "customer_abandoned":
        _take_birthday(watch, data)
        _take_visit(watch, data)
    watch.revision = _int(data.get("revision")) or watch.revision or 0
    watch.event_at = occurred_at
    watch.needs_review = True
    watch.version = (watch.version or 0) + 1
    watch.updated_at = now


def _take_birthday(watch: CustomerWatch, data: dict[str, Any]) -> None:
    if "birthday" not in data:
        return
    try:
        month_day = domain.parse_birthday(data["birthday"])
    except domain.InvalidBirthday:
        log.warning("customer %s: unreadable birthday %r ignored", watch.customer_id, data["birthday"])
        month_day = None
    if month_day != (watch.birthday_month, watch.birthday_day):
        watch.last_reminded_year = None
    watch.birthday_month, watch.birthday_day = month_day or (None, None)


def _take_visit(watch: CustomerWatch, data: dict[str, Any]) -> None:
    if "next_visit_at" not in data:
        return
    watch.next_visit_at = _moment(data.get("next_visit_at"))
    contact = data.get("next_visit_contact")
    if isinstance(contact, dict):
        watch.next_visit_contact = str(contact.get("name") or "")[:200] or None
        watch.next_visit_contact_title = str(contact.get("title") or "")[:100] or None
    else:
        watch.next_visit_contact = str(contact)[:200] if contact else None
        watch.next_visit_contact_title = None


# --------------------------------------------------------------------------- team settings


def team_settings(session: Session, team: str | None, settings: NotifySettings) -> dict[str, Any]:
    row = session.get(TeamSetting, team) if team else None
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
    session: Session, caller: Caller, team: str | None, settings: NotifySettings
) -> dict[str, Any]:
    return team_settings(session, _settings_team(caller, team), settings)


def change_team_settings(
    session: Session, caller: Caller, changes: dict[str, Any], settings: NotifySettings, now: datetime
) -> dict[str, Any]:
    """A manager sets their team's lead times (an admin any team's); the team's customers are
    reviewed again so reminders follow the new lead times."""
    caller.require_role("manager", "admin")
    team = _settings_team(caller, changes.get("team"))
    current = team_settings(session, team, settings)
    row = session.get(TeamSetting, team)
    if row is None:
        row = TeamSetting(team=team)
        session.add(row)
    row.birthday_days_ahead = changes.get("birthday_days_ahead", current["birthday_days_ahead"])
    row.revisit_lead_hours = changes.get("revisit_lead_hours", current["revisit_lead_hours"])
    row.updated_by = caller.user_id
    row.updated_at = now
    session.execute(
        update(CustomerWatch)
        .where(CustomerWatch.team == team)
        .values(needs_review=True, version=CustomerWatch.version + 1)
        .execution_options(synchronize_session=False)
    )
    return team_settings(session, team, settings)


def preferences(session: Session, user_id: int) -> dict[str, Any]:
    row = session.get(UserPreference, user_id)
    return {"sms_for_notices": bool(row.sms_for_notices) if row else False}


def change_preferences(session: Session, user_id: int, changes: dict[str, Any], now: datetime) -> dict:
    row = session.get(UserPreference, user_id)
    if row is None:
        row = UserPreference(user_id=user_id)
        session.add(row)
    row.sms_for_notices = changes["sms_for_notices"]
    row.updated_at = now
    return preferences(session, user_id)


# --------------------------------------------------------------------------- reviewing watches


def review_customers(
    transactions: TransactionFactory, lookup_users: UsersLookup, clock: Any, settings: NotifySettings
) -> int:
    """Bring birthday and revisit reminders in line with the watched customers marked for review."""
    with transactions() as unit:
        marked = unit.session.execute(
            select(CustomerWatch.customer_id, CustomerWatch.owner_id, CustomerWatch.version)
            .where(CustomerWatch.needs_review.is_(True))
            .order_by(CustomerWatch.updated_at)
            .limit(REVIEW_BATCH)
        ).all()
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
            won = unit.session.execute(
                update(CustomerWatch)
                .where(
                    CustomerWatch.customer_id == customer_id,
                    CustomerWatch.version == version,
                    CustomerWatch.needs_review.is_(True),
                )
                .values(needs_review=False)
                .execution_options(synchronize_session=False)
            ).rowcount
            if not won:
                continue  # another instance reviewed it, or a newer event marks it again
            watch = unit.session.get(CustomerWatch, customer_id)
            assert watch is not None
            _reconcile(unit.session, watch, users, now, settings)
            reviewed += 1
    return reviewed


def _reconcile(
    session: Session, watch: CustomerWatch, users: dict[str, dict], now: datetime, settings: NotifySettings
) -> None:
    team = team_settings(session, watch.team, settings)
    owner = users.get(str(watch.owner_id)) if watch.owner_id is not None else None
    pending = list(
        session.scalars(
            select(Reminder).where(
                Reminder.customer_id == watch.customer_id,
                Reminder.kind.in_(SYSTEM_KINDS),
                Reminder.status == PENDING,
            )
        )
    )
    wanted = _plan_revisit(session, watch, owner, team, now, settings)
    for reminder in pending:
        if reminder.kind == "revisit" and reminder.source_key != wanted:
            _cancel_pending(session, reminder, now)
        elif reminder.kind == "birthday" and reminder.owner_id != watch.owner_id:
            # transferred or abandoned: the birthday belongs to whoever owns the customer now
            _cancel_pending(session, reminder, now)
            if watch.owner_id is not None:
                year = (reminder.source_key or "").split(":")[2]
                _create_once(
                    session,
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
    _plan_birthday(session, watch, owner, team, now, settings)


def _cancel_pending(session: Session, reminder: Reminder, now: datetime) -> None:
    session.execute(
        update(Reminder)
        .where(Reminder.id == reminder.id, Reminder.status == PENDING)
        .values(status=domain.ReminderStatus.CANCELLED.value, cancelled_at=now)
        .execution_options(synchronize_session=False)
    )


def _create_once(
    session: Session,
    key: str,
    watch: CustomerWatch,
    owner: dict | None,
    kind: str,
    title: str,
    content: str,
    due_at: datetime,
    now: datetime,
    settings: NotifySettings,
) -> None:
    if session.scalar(select(Reminder.id).where(Reminder.source_key == key)) is not None:
        return
    assert watch.owner_id is not None
    session.add(
        new_reminder(
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
    session.flush()


def _plan_revisit(
    session: Session,
    watch: CustomerWatch,
    owner: dict | None,
    team: dict[str, Any],
    now: datetime,
    settings: NotifySettings,
) -> str | None:
    """Make sure the planned visit has its reminder; returns its key (None: no visit to remind)."""
    if watch.owner_id is None or watch.next_visit_at is None:
        return None
    lead = timedelta(hours=team["revisit_lead_hours"])
    remind_at = domain.revisit_reminder_at(watch.next_visit_at, lead, now=now)
    if remind_at is None:
        return None
    zone = (owner or {}).get("timezone") or settings.timezone
    title, content = domain.revisit_reminder_text(
        watch.name,
        domain.to_local(watch.next_visit_at, zone),
        watch.next_visit_contact,
        watch.next_visit_contact_title,
    )
    key = f"revisit:{watch.customer_id}:{watch.next_visit_at.astimezone(UTC):%Y%m%dT%H%M%S}:{watch.owner_id}"
    _create_once(session, key, watch, owner, "revisit", title, content, remind_at, now, settings)
    if remind_at > now:  # the team changed its lead time: a reminder still waiting moves with it
        existing = session.scalar(
            select(Reminder).where(Reminder.source_key == key, Reminder.status == PENDING)
        )
        if existing is not None and existing.due_at != remind_at:
            minutes = existing.escalate_after_minutes
            session.execute(
                update(Reminder)
                .where(Reminder.id == existing.id, Reminder.status == PENDING)
                .values(
                    due_at=remind_at,
                    escalate_at=domain.escalation_at(remind_at, minutes, settings.escalation_minute),
                )
                .execution_options(synchronize_session=False)
            )
    return key


def _birthday(watch: CustomerWatch) -> domain.WatchedBirthday:
    assert watch.owner_id is not None and watch.birthday_month and watch.birthday_day
    return domain.WatchedBirthday(
        customer_id=watch.customer_id,
        owner_id=watch.owner_id,
        customer_name=watch.name,
        month=watch.birthday_month,
        day=watch.birthday_day,
        last_reminded_year=watch.last_reminded_year,
    )


def _plan_birthday(
    session: Session,
    watch: CustomerWatch,
    owner: dict | None,
    team: dict[str, Any],
    now: datetime,
    settings: NotifySettings,
) -> None:
    if watch.owner_id is None or watch.birthday_month is None or watch.birthday_day is None:
        return
    zone = (owner or {}).get("timezone") or settings.timezone
    today = domain.to_local(now, zone).date()
    for due in domain.birthdays_to_remind([_birthday(watch)], today, team["birthday_days_ahead"]):
        # the year is taken with a conditional update: one reminder per anniversary, whoever runs
        won = session.execute(
            update(CustomerWatch)
            .where(
                CustomerWatch.customer_id == watch.customer_id,
                (CustomerWatch.last_reminded_year.is_(None))
                | (CustomerWatch.last_reminded_year != due.remind_year),
            )
            .values(last_reminded_year=due.remind_year)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not won:
            continue
        remind_at = max(now, domain.local_time_to_utc(today, settings.birthday_remind_at, zone))
        key = f"birthday:{watch.customer_id}:{due.remind_year}:{watch.owner_id}"
        _create_once(session, key, watch, owner, "birthday", due.title, due.content, remind_at, now, settings)


def scan_birthdays(transactions: TransactionFactory, clock: Any, settings: NotifySettings) -> int:
    """The daily scan: mark for review every watched customer whose birthday has come within
    the team's window and whose owner has not been reminded this year. Returns how many."""
    now = clock.now()
    today = domain.to_local(now, settings.timezone).date()
    with transactions() as unit:
        session = unit.session
        days_ahead = {row.team: row.birthday_days_ahead for row in session.scalars(select(TeamSetting))}
        watches = session.scalars(
            select(CustomerWatch).where(
                CustomerWatch.birthday_month.is_not(None), CustomerWatch.owner_id.is_not(None)
            )
        ).all()
        due = [
            watch.customer_id
            for watch in watches
            if domain.birthdays_to_remind(
                [_birthday(watch)],
                today,
                days_ahead.get(watch.team or "", settings.default_birthday_days_ahead),
            )
        ]
        for start in range(0, len(due), 500):
            session.execute(
                update(CustomerWatch)
                .where(CustomerWatch.customer_id.in_(due[start : start + 500]))
                .values(needs_review=True, version=CustomerWatch.version + 1)
                .execution_options(synchronize_session=False)
            )
    return len(due)


# --------------------------------------------------------------------------- manager notices

NOTICE_BUILDERS = {
    "alarm_raised": domain.alarm_raised_notice,
    "customer_duplicate_suspected": domain.duplicate_suspected_notice,
}


def keep_manager_notice(unit: UnitOfWork, event: dict[str, Any], now: datetime) -> None:
    """Keep an event the team's managers must hear about; a payload nobody can read is dropped."""
    kind = event.get("event_type") or ""
    try:
        notice = NOTICE_BUILDERS[kind](event)
    except (KeyError, domain.InvalidEventPayload) as exc:
        log.error("%s %s cannot become a notice (%s): dropped", kind, event.get("event_id"), exc)
        return
    unit.session.add(
        ManagerNotice(
            event_id=str(event["event_id"]),
            kind=kind,
            team=notice.team,
            payload=json.dumps(event, ensure_ascii=False, default=str),
            created_at=now,
            next_attempt_at=now,
            attempts=0,
        )
    )


def _with_names(event: dict[str, Any], names: dict[int, str]) -> dict[str, Any]:
    """customers sends owner ids; the notice reads better with the owners' names."""
    data = dict(event.get("data") or {})
    for id_key, name_key in (("owner_id", "owner_name"), ("duplicate_owner_id", "duplicate_owner_name")):
        user_id = _int(data.get(id_key))
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
        waiting = unit.session.execute(
            select(ManagerNotice.id, ManagerNotice.team, ManagerNotice.payload)
            .where(ManagerNotice.delivered_at.is_(None), ManagerNotice.next_attempt_at <= now)
            .order_by(ManagerNotice.id)
            .limit(NOTICE_BATCH)
        ).all()
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
            user_id = _int(data.get(key))
            if user_id is not None and user_id not in names:
                missing.add(user_id)
    if missing:
        others = lookup_users(sorted(missing)) or {}
        names.update({int(key): user["display_name"] for key, user in others.items()})
    delivered = 0
    for notice_id, team, payload in waiting:
        with transactions() as unit:
            if team and members.get(team) is None:
                unit.session.execute(
                    update(ManagerNotice)
                    .where(ManagerNotice.id == notice_id, ManagerNotice.delivered_at.is_(None))
                    .values(next_attempt_at=now + NOTICE_RETRY, attempts=ManagerNotice.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
                continue
            won = unit.session.execute(
                update(ManagerNotice)
                .where(ManagerNotice.id == notice_id, ManagerNotice.delivered_at.is_(None))
                .values(delivered_at=now, attempts=ManagerNotice.attempts + 1)
                .execution_options(synchronize_session=False)
            ).rowcount
            if won:
                _tell_managers(
                    unit.session,
                    notice_id,
                    _with_names(json.loads(payload), names),
                    members.get(team or "") or [],
                    now,
                )
                delivered += 1
    return delivered


def _tell_managers(
    session: Session, notice_id: int, event: dict[str, Any], team_members: list[dict], now: datetime
) -> None:
    notice = NOTICE_BUILDERS[event["event_type"]](event)
    raised_by = _int((event.get("data") or {}).get("raised_by"))
    managers = [user for user in team_members if user.get("role") == "manager" and user["id"] != raised_by]
    if not managers:
        log.warning("%s for team %s: the team has no manager to tell", notice.kind, notice.team)
    wants_sms = {
        row.user_id
        for row in session.scalars(
            select(UserPreference).where(
                UserPreference.user_id.in_([user["id"] for user in managers]),
                UserPreference.sms_for_notices.is_(True),
            )
        )
    }
    for manager in managers:
        key = f"notice:{notice_id}:{manager['id']}"
        notify_user(
            session,
            user_id=manager["id"],
            kind=notice.kind,
            title=notice.title,
            body=notice.body,
            dedupe_key=key,
            now=now,
            subject=(notice.subject_type, notice.subject_id),
        )
        if manager["id"] in wants_sms and manager.get("phone"):
            session.add(
                SmsMessage(
                    idempotency_key=key,
                    recipient_id=manager["id"],
                    to=manager["phone"],
                    body=domain.compose_sms(notice.title, None, notice.body),
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
