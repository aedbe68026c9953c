"""Use cases of reminders: what users do with them, and the timers that fire and escalate them.

Firing and escalating are claims in the Store (``store_reminders``): several notify instances
never do either twice, and an instance killed mid-claim loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from crm_common.caller import Caller
from crm_common.db import TransactionFactory
from crm_common.errors import Forbidden
from notify import domain, domain_sms
from notify.constants import ReminderStatus
from notify.exceptions import NotReminderOwner, ReminderClosed, ReminderNotFound
from notify.schemas import MAX_ID, ReminderAcknowledgedSchema
from notify.store import Store
from notify.usecases_delivery import record_failure

if TYPE_CHECKING:
    from notify.dependencies import NotifySettings

PENDING = ReminderStatus.PENDING.value
UsersLookup = Callable[[Sequence[int]], dict[int, dict] | None]


class ReminderStore(Protocol):
    def add_reminder(self, **columns: Any) -> Any: ...
    def reminder(self, reminder_id: int) -> Any: ...
    def reminders(
        self, *, team: str | None, owner_id: int | None, status: str | None, offset: int, limit: int
    ) -> list[Any]: ...
    def change_reminder(self, row: Any, expected_status: str, values: dict[str, Any]) -> bool: ...
    def mark_reminder_read(self, user_id: int, reminder_id: int, now: datetime) -> None: ...
    def emit(self, event_type: str, data: dict[str, Any]) -> Any: ...


def reminder_view(row: Any) -> dict[str, Any]:
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


def reminder_columns(
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
) -> dict[str, Any]:
    """A pending reminder's columns; the escalation delay is the request's, else the owner's setting."""
    owner = owner or {}
    minutes = domain.resolve_escalate_after(requested_minutes, owner.get("escalate_after_minutes"))
    return {
        "owner_id": owner_id,
        "team": owner.get("team") or team,
        "kind": kind,
        "title": title,
        "content": content,
        "customer_id": customer_id,
        "due_at": due_at,
        "escalate_after_minutes": minutes,
        "escalate_at": domain.escalation_at(due_at, minutes, settings.escalation_minute),
        "status": PENDING,
        "timezone": owner.get("timezone") or settings.timezone,
        "owner_phone": owner.get("phone"),
        "source_key": source_key,
        "late": False,
        "created_by": created_by,
        "created_at": now,
    }


# --------------------------------------------------------------------------- what users do


def create_reminder(
    store: ReminderStore,
    caller: Caller,
    new: dict[str, Any],
    *,
    owner: dict | None,
    now: datetime,
    settings: NotifySettings,
) -> dict[str, Any]:
    """A reminder for the caller (``new``: NewReminderSchema's fields), with ``owner`` as accounts
    knows the caller (None: accounts has no such user). Returns its view."""
    row = store.add_reminder(
        **reminder_columns(
            owner_id=caller.user_id,
            owner=owner,
            team=caller.team,
            title=new["title"],
            content=new["content"],
            due_at=new["due_at"],
            requested_minutes=new["escalate_after_minutes"],
            now=now,
            settings=settings,
            customer_id=new["customer_id"],
            created_by=caller.user_id,
        )
    )
    return reminder_view(row)


def visible_reminder(store: ReminderStore, caller: Caller, reminder_id: int) -> Any:
    """The reminder if the caller may see it (owner, the team's manager, an admin); else NotFound."""
    row = store.reminder(reminder_id) if 0 < reminder_id <= MAX_ID else None
    if row is None or not caller.can_read(row.owner_id, row.team):
        raise ReminderNotFound(f"no reminder {reminder_id}")
    return row


def get_reminder(store: ReminderStore, caller: Caller, reminder_id: int) -> dict[str, Any]:
    return reminder_view(visible_reminder(store, caller, reminder_id))


def list_reminders(store: ReminderStore, caller: Caller, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Own reminders for a salesperson, the team's for a manager, all for an admin; soonest due first."""
    owner_id = query.get("owner_id")
    team = None
    if caller.is_admin:
        pass
    elif caller.is_manager and caller.team:
        team = caller.team
    else:
        if owner_id not in (None, caller.user_id):
            raise Forbidden("a salesperson sees only their own reminders", {"owner_id": owner_id})
        owner_id = caller.user_id
    rows = store.reminders(
        team=team,
        owner_id=owner_id,
        status=query.get("status") or None,
        offset=query["offset"],
        limit=query["limit"],
    )
    return [reminder_view(row) for row in rows]


def _change(
    store: ReminderStore,
    row: Any,
    decide: Callable[[domain.Reminder], domain.Reminder],
    columns: tuple[str, ...],
) -> bool:
    """Apply a domain transition with a conditional update; re-decide if the scheduler moved the
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
        if store.change_reminder(row, before, values):
            return True
    raise ReminderClosed("the reminder keeps changing; try again", {"reminder_id": row.id})


def acknowledge(store: ReminderStore, caller: Caller, reminder_id: int, now: datetime) -> dict[str, Any]:
    """Acknowledge for the owner (no SMS afterwards); its due notification is marked read and
    ``reminder_acknowledged`` says whether it came before the SMS (once: again changes nothing)."""
    row = visible_reminder(store, caller, reminder_id)
    if _change(store, row, lambda r: domain.acknowledge(r, caller.user_id, now), ("acknowledged_at",)):
        store.mark_reminder_read(row.owner_id, row.id, now)
        store.emit("reminder_acknowledged", ReminderAcknowledgedSchema().dump(acknowledgement(row)))
    return reminder_view(row)


def acknowledgement(row: Any) -> dict[str, Any]:
    """An acknowledged reminder as ``reminder_acknowledged`` says it (times in UTC)."""
    return {
        "reminder_id": row.id,
        "owner_id": row.owner_id,
        "team": row.team,
        "title": row.title,
        "kind": row.kind,
        "customer_id": row.customer_id,
        "due_at": row.due_at,
        "acknowledged_at": row.acknowledged_at,
        "escalated_at": row.escalated_at,
        "before_escalation": row.escalated_at is None,
    }


def cancel(store: ReminderStore, caller: Caller, reminder_id: int, now: datetime) -> dict[str, Any]:
    """Cancel a pending or due reminder for its owner."""
    row = visible_reminder(store, caller, reminder_id)
    _change(store, row, lambda r: domain.cancel(r, caller.user_id, now), ("cancelled_at",))
    return reminder_view(row)


# --------------------------------------------------------------------------- pending → due


def _fire_batch(store: Store, now: datetime, settings: NotifySettings) -> int:
    fired = store.claim_due(now, settings.batch_size)
    if not fired:
        return 0
    late = {row.id for row in fired if domain.is_late(row.due_at, now, settings.late_grace)}
    if late:
        store.mark_late(sorted(late))
    store.add_notifications([_due_notification(row, row.id in late, now) for row in fired])
    store.emit_many(
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
            claimed = _fire_batch(Store(unit), clock.now(), settings)
        fired += claimed
        if claimed < settings.batch_size:
            return fired


# --------------------------------------------------------------------------- due → escalated


def _escalate_batch(
    transactions: TransactionFactory,
    lookup_users: UsersLookup,
    provider_name: str,
    clock: Any,
    settings: NotifySettings,
) -> int:
    with transactions() as unit:
        overdue = Store(unit).overdue(clock.now(), settings.batch_size)
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
        store = Store(unit)
        claimed = store.claim_overdue(chosen, now)
        if not claimed:
            return 0
        phones = {row.id: row.owner_phone for row in claimed}
        if users is not None:
            phones = {row.id: (users.get(row.owner_id) or {}).get("phone") for row in claimed}
            store.set_owner_phones(
                {row.id: phones[row.id] for row in claimed if phones[row.id] != row.owner_phone}
            )
        sms_ids = store.add_sms_intents(
            [_sms_intent(row, phones[row.id], provider_name, now) for row in claimed]
        )
        store.emit_many(
            "reminder_escalated",
            ({"reminder_id": row.id, "owner_id": row.owner_id, "sms_id": sms_ids[row.id]} for row in claimed),
        )
        for row in claimed:
            if not phones[row.id]:
                failed = store.sms(sms_ids[row.id])
                assert failed is not None
                record_failure(store, failed, row.title, now)
        return len(claimed)


def _sms_intent(row: Any, phone: str | None, provider_name: str, now: datetime) -> dict[str, Any]:
    return {
        "idempotency_key": f"reminder:{row.id}",
        "reminder_id": row.id,
        "recipient_id": row.owner_id,
        "to": phone,
        "body": domain_sms.compose_sms(row.title, domain.to_local(row.due_at, row.timezone), row.content),
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
