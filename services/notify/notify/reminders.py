"""Reminders in the database: what users do with them, and the two claims that move them on
(pending → due, due → escalated) so that several notify instances never do either twice.

Claiming is one conditional UPDATE per batch (``WHERE status = <expected>``) whose RETURNING
lists exactly the rows this instance won. On PostgreSQL the candidate rows are picked
``FOR UPDATE SKIP LOCKED``, so concurrent instances take different rows instead of queueing on
each other's; on SQLite the single writer and the condition in the UPDATE do the same job (the
row count is what was won). The claim, the in-app notifications and the events commit together:
an instance killed mid-claim has its transaction rolled back and the rows are claimed again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, insert, select, update
from sqlalchemy.orm import Session

from crm_common.caller import Caller
from crm_common.db import UnitOfWork
from crm_common.errors import Forbidden
from notify import domain
from notify.delivery import record_failure
from notify.dependencies import NotifySettings, TransactionFactory
from notify.exceptions import NotReminderOwner, ReminderClosed, ReminderNotFound
from notify.inbox import mark_reminder_read
from notify.models import Notification, Reminder, SmsMessage
from notify.schemas import MAX_ID

PENDING, DUE = domain.ReminderStatus.PENDING.value, domain.ReminderStatus.DUE.value
ESCALATED = domain.ReminderStatus.ESCALATED.value
UsersLookup = Callable[[Sequence[int]], dict[str, dict] | None]


def _skip_locked(query: Select, dialect: str) -> Select:
    return query.with_for_update(skip_locked=True) if dialect == "postgresql" else query


def reminder_view(row: Reminder) -> dict[str, Any]:
    """The reminder as its owner reads it: every time in the owner's zone."""

    def local(moment: datetime | None) -> datetime | None:
        return domain.to_local(moment, row.timezone) if moment is not None else None

    return {
        "id": row.id,
        "owner_id": row.owner_id,
        "team": row.team,
        "kind": row.kind,
        "title": row.title,
        "content": row.content,
        "customer_id": row.customer_id,
        "status": row.status,
        "late": bool(row.late),
        "escalate_after_minutes": row.escalate_after_minutes,
        "timezone": row.timezone,
        "due_at": local(row.due_at),
        "escalate_at": local(row.escalate_at),
        "created_at": local(row.created_at),
        "fired_at": local(row.fired_at),
        "acknowledged_at": local(row.acknowledged_at),
        "escalated_at": local(row.escalated_at),
        "cancelled_at": local(row.cancelled_at),
    }


def new_reminder(
    *,
    owner_id: int,
    owner: dict | None,
    team: str | None,
    title: str,
    content: str,
    due_at: datetime,
    requested_minutes: object,
    now: datetime,
    settings: NotifySettings,
    kind: str = "manual",
    customer_id: int | None = None,
    source_key: str | None = None,
    created_by: int | None = None,
) -> Reminder:
    """A pending reminder row; the escalation delay is the request's, else the owner's setting."""
    owner = owner or {}
    minutes = domain.resolve_escalate_after(requested_minutes, owner.get("escalate_after_minutes"))
    return Reminder(
        owner_id=owner_id,
        team=owner.get("team") or team,
        kind=kind,
        title=title,
        content=content,
        customer_id=customer_id,
        due_at=due_at,
        escalate_after_minutes=minutes,
        escalate_at=domain.escalation_at(due_at, minutes, settings.escalation_minute),
        status=PENDING,
        timezone=owner.get("timezone") or settings.timezone,
        owner_phone=owner.get("phone"),
        source_key=source_key,
        late=False,
        created_by=created_by,
        created_at=now,
    )


# --------------------------------------------------------------------------- what users do


def visible_reminder(session: Session, caller: Caller, reminder_id: int) -> Reminder:
    """The reminder if the caller may see it (owner, the team's manager, an admin); else NotFound."""
    row = session.get(Reminder, reminder_id) if 0 < reminder_id <= MAX_ID else None
    if row is None or not caller.can_read(row.owner_id, row.team):
        raise ReminderNotFound(f"no reminder {reminder_id}")
    return row


def list_reminders(session: Session, caller: Caller, query: dict[str, Any]) -> list[Reminder]:
    """Own reminders for a salesperson, the team's for a manager, all for an admin; newest due last."""
    statement = select(Reminder)
    owner_id = query.get("owner_id")
    if caller.is_admin:
        pass
    elif caller.is_manager and caller.team:
        statement = statement.where(Reminder.team == caller.team)
    else:
        if owner_id not in (None, caller.user_id):
            raise Forbidden("a salesperson sees only their own reminders", {"owner_id": owner_id})
        statement = statement.where(Reminder.owner_id == caller.user_id)
    if owner_id is not None:
        statement = statement.where(Reminder.owner_id == owner_id)
    if query.get("status"):
        statement = statement.where(Reminder.status == query["status"])
    statement = statement.order_by(Reminder.due_at, Reminder.id).offset(query["offset"]).limit(query["limit"])
    return list(session.scalars(statement).all())


def _change(
    session: Session,
    row: Reminder,
    decide: Callable[[domain.Reminder], domain.Reminder],
    columns: tuple[str, ...],
) -> bool:
    """Apply a domain transition with a conditional UPDATE; re-decide if the scheduler moved the
    reminder meanwhile. True when the row changed."""
    for _ in range(5):
        before = row.status
        try:
            after = decide(domain.Reminder.from_attributes(row))
        except domain.NotOwner as exc:
            raise NotReminderOwner(exc.message, exc.details) from None
        except domain.ReminderClosed as exc:
            raise ReminderClosed(exc.message, exc.details) from None
        if after.status == before:
            return False
        values = {"status": after.status, **{column: getattr(after, column) for column in columns}}
        result = session.execute(
            update(Reminder)
            .where(Reminder.id == row.id, Reminder.status == before)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        session.refresh(row)
        if result.rowcount == 1:
            return True
    raise ReminderClosed("the reminder keeps changing; try again", {"reminder_id": row.id})


def acknowledge(session: Session, caller: Caller, reminder_id: int, now: datetime) -> Reminder:
    """Acknowledge for the owner (no SMS afterwards); its due notification is marked read."""
    row = visible_reminder(session, caller, reminder_id)
    if _change(session, row, lambda r: domain.acknowledge(r, caller.user_id, now), ("acknowledged_at",)):
        mark_reminder_read(session, row.owner_id, row.id, now)
    return row


def cancel(session: Session, caller: Caller, reminder_id: int, now: datetime) -> Reminder:
    """Cancel a pending or due reminder for its owner."""
    row = visible_reminder(session, caller, reminder_id)
    _change(session, row, lambda r: domain.cancel(r, caller.user_id, now), ("cancelled_at",))
    return row


# --------------------------------------------------------------------------- pending → due

FIRED_COLUMNS = (
    Reminder.id,
    Reminder.owner_id,
    Reminder.kind,
    Reminder.title,
    Reminder.content,
    Reminder.customer_id,
    Reminder.due_at,
    Reminder.timezone,
)


def _fire_batch(unit: UnitOfWork, dialect: str, now: datetime, settings: NotifySettings) -> int:
    session = unit.session
    candidates = _skip_locked(
        select(Reminder.id)
        .where(Reminder.status == PENDING, Reminder.due_at <= now)
        .order_by(Reminder.due_at)
        .limit(settings.batch_size),
        dialect,
    )
    # the conditional UPDATE is the claim: RETURNING gives exactly the rows this instance won
    fired = session.execute(
        update(Reminder)
        .where(Reminder.id.in_(candidates), Reminder.status == PENDING)
        .values(status=DUE, fired_at=now)
        .returning(*FIRED_COLUMNS)
        .execution_options(synchronize_session=False)
    ).all()
    if not fired:
        return 0
    late = {row.id for row in fired if domain.is_late(row.due_at, now, settings.late_grace)}
    if late:
        session.execute(
            update(Reminder)
            .where(Reminder.id.in_(late))
            .values(late=True)
            .execution_options(synchronize_session=False)
        )
    session.execute(insert(Notification), [_due_notification(row, row.id in late, now) for row in fired])
    unit.emit_many(
        "reminder_due",
        (
            {
                "reminder_id": row.id,
                "owner_id": row.owner_id,
                "title": row.title,
                "due_at": row.due_at.isoformat(),
                "late": row.id in late,
                "customer_id": row.customer_id,
                "kind": row.kind,
            }
            for row in fired
        ),
    )
    return len(fired)


def _due_notification(row: Any, late: bool, now: datetime) -> dict[str, Any]:
    local_due = domain.to_local(row.due_at, row.timezone)
    body = f"{local_due:%m-%d %H:%M} 到期。{row.content}".strip()
    if late:
        body += "（通知服务恢复后补发）"
    return {
        "user_id": row.owner_id,
        "kind": "reminder_due",
        "title": row.title,
        "body": body,
        "reminder_id": row.id,
        "subject_type": "customer" if row.customer_id else None,
        "subject_id": str(row.customer_id) if row.customer_id else None,
        # the pending → due claim happens once per reminder, so this key is new
        "dedupe_key": f"reminder_due:{row.id}",
        "created_at": now,
    }


def fire_due(transactions: TransactionFactory, clock: Any, settings: NotifySettings) -> int:
    """Fire every pending reminder whose time has come (batch by batch); returns how many."""
    fired = 0
    while True:
        with transactions() as unit:
            claimed = _fire_batch(unit, transactions.dialect, clock.now(), settings)
        fired += claimed
        if claimed < settings.batch_size:
            return fired


# --------------------------------------------------------------------------- due → escalated

ESCALATED_COLUMNS = (
    Reminder.id,
    Reminder.owner_id,
    Reminder.title,
    Reminder.content,
    Reminder.due_at,
    Reminder.timezone,
    Reminder.owner_phone,
)


def _escalate_batch(
    transactions: TransactionFactory,
    lookup_users: UsersLookup,
    provider_name: str,
    clock: Any,
    settings: NotifySettings,
) -> int:
    with transactions() as unit:
        overdue = unit.session.execute(
            select(Reminder.id, Reminder.owner_id, Reminder.owner_phone)
            .where(Reminder.status == DUE, Reminder.escalate_at <= clock.now())
            .order_by(Reminder.escalate_at)
            .limit(settings.batch_size)
        ).all()
    if not overdue:
        return 0
    # the phone as accounts knows it now; None when accounts did not answer: then the phone
    # known when the reminder was made is used, and one without a known phone waits for accounts
    users = lookup_users(sorted({row.owner_id for row in overdue}))
    chosen = [row.id for row in overdue if users is not None or row.owner_phone]
    if not chosen:
        return 0
    now = clock.now()
    with transactions() as unit:
        session = unit.session
        candidates = _skip_locked(select(Reminder.id).where(Reminder.id.in_(chosen)), transactions.dialect)
        claimed = session.execute(
            update(Reminder)
            .where(Reminder.id.in_(candidates), Reminder.status == DUE, Reminder.escalate_at <= now)
            .values(status=ESCALATED, escalated_at=now)
            .returning(*ESCALATED_COLUMNS)
            .execution_options(synchronize_session=False)
        ).all()
        if not claimed:
            return 0
        phones = {row.id: row.owner_phone for row in claimed}
        if users is not None:
            phones = {row.id: (users.get(str(row.owner_id)) or {}).get("phone") for row in claimed}
            changed = [
                {"rid": row.id, "phone": phones[row.id]}
                for row in claimed
                if phones[row.id] != row.owner_phone
            ]
            if changed:
                session.execute(
                    update(Reminder.__table__)
                    .where(Reminder.__table__.c.id == bindparam("rid"))
                    .values(owner_phone=bindparam("phone")),
                    changed,
                )
        intents = session.execute(
            insert(SmsMessage).returning(SmsMessage.id, SmsMessage.reminder_id),
            [_sms_intent(row, phones[row.id], provider_name, now) for row in claimed],
        ).all()
        sms_ids = {reminder_id: sms_id for sms_id, reminder_id in intents}
        unit.emit_many(
            "reminder_escalated",
            ({"reminder_id": row.id, "owner_id": row.owner_id, "sms_id": sms_ids[row.id]} for row in claimed),
        )
        for row in claimed:
            if not phones[row.id]:
                failed = session.get(SmsMessage, sms_ids[row.id])
                assert failed is not None
                record_failure(unit, failed, row.title, now)
        return len(claimed)


def _sms_intent(row: Any, phone: str | None, provider_name: str, now: datetime) -> dict[str, Any]:
    return {
        "idempotency_key": f"reminder:{row.id}",
        "reminder_id": row.id,
        "recipient_id": row.owner_id,
        "to": phone,
        "body": domain.compose_sms(row.title, domain.to_local(row.due_at, row.timezone), row.content),
        "status": "pending" if phone else "failed",
        "provider": provider_name,
        "attempts": 0,
        "next_attempt_at": now if phone else None,
        "last_error": None if phone else "the owner has no phone number",
        "created_at": now,
        "updated_at": now,
    }


def escalate_overdue(
    transactions: TransactionFactory,
    lookup_users: UsersLookup,
    provider_name: str,
    clock: Any,
    settings: NotifySettings,
) -> int:
    """Escalate every due reminder unacknowledged past its escalation time: one SMS intent each
    (unique per reminder), written before any provider call. Returns how many escalated."""
    escalated = 0
    while True:
        claimed = _escalate_batch(transactions, lookup_users, provider_name, clock, settings)
        escalated += claimed
        if claimed < settings.batch_size:
            return escalated  # a short batch: nothing more is overdue (or accounts is away)
