"""Rebuild the evidence from a given day by asking the owning services what the events said: the
same rows the event handlers (:mod:`appraisal.usecases_evidence`) write, keyed the same way (kind,
source reference, person), so a replay adds only what the bus never delivered and running it twice
adds nothing.

``sources`` is what the owners offer over RPC (:class:`appraisal.replay.RpcSources`): plain dicts
as their list RPCs answer them. Where an owner offers no way to list what a kind of evidence needs,
the kind's report says so (``missing``) instead of passing over it in silence."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from appraisal.constants import MAX_ID, Kind
from appraisal.store import Store


class Sources(Protocol):
    """The owning services' list RPCs, as a system caller (an admin) reads them."""

    def opportunities(self, status: str) -> Iterable[Mapping[str, Any]]: ...
    def targets(self) -> Iterable[Mapping[str, Any]]: ...
    def customers(self, since: datetime) -> Iterable[Mapping[str, Any]]: ...
    def reminders(self) -> Iterable[Mapping[str, Any]]: ...
    def alarms(self) -> Iterable[Mapping[str, Any]]: ...
    def answers(self, alarm_id: int) -> Iterable[Mapping[str, Any]]: ...
    def entries(self, since: datetime) -> Iterable[Mapping[str, Any]]: ...
    def votes(self, since: datetime) -> Iterable[Mapping[str, Any]]: ...
    def reads(self, since: datetime) -> Iterable[Mapping[str, Any]]: ...
    def followups(self, since: datetime) -> Iterable[Mapping[str, Any]]: ...


@dataclass
class KindReport:
    """What the replay did for one kind of evidence: rows found at the owner since the day, rows
    added (the rest were there already), and what it could not rebuild, with why."""

    kind: str
    found: int = 0
    added: int = 0
    missing: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing


def _when(text: Any) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(str(text))


def _id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID else None


def _team(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class _Rebuild:
    def __init__(self, store: Store, since: date, zone: ZoneInfo) -> None:
        self.store, self.since, self.zone = store, since, zone
        self.reports: dict[str, KindReport] = {str(k): KindReport(str(k)) for k in Kind}
        self.targets = KindReport("target")

    @property
    def start(self) -> datetime:
        """The first moment of ``since`` (a local day)."""
        return datetime.combine(self.since, time(0), tzinfo=self.zone)

    def day(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def add(
        self,
        kind: Kind,
        person: Any,
        ref: Any,
        at: datetime | None,
        *,
        team: Any = None,
        related: Any = None,
        amount: Any = None,
        label: Any = None,
        flag: bool = False,
        keep_team: bool = True,
        event_id: Any = None,
    ) -> None:
        """One evidence row as its event would have written it (``source_event_id``: the event's
        own id where the owner keeps it, else one naming the replay and the reference)."""
        if at is None or self.day(at) < self.since or _id(person) is None or _id(ref) is None:
            return
        report = self.reports[str(kind)]
        report.found += 1
        added = self.store.add_evidence(
            person_id=person,
            team=_team(team) if keep_team else None,
            kind=str(kind),
            day=self.day(at),
            occurred_at=at,
            ref_id=ref,
            related_id=_id(related),
            amount=Decimal(str(amount)) if amount is not None else None,
            flag=flag,
            label=label[:200] if isinstance(label, str) else None,
            source_event_id=event_id if isinstance(event_id, str) and event_id else f"replay:{kind}:{ref}",
        )
        report.added += int(added)


def replay(store: Store, sources: Sources, since: date, *, zone: ZoneInfo) -> list[KindReport]:
    """Rebuild every kind of evidence on or after ``since`` (a local day) and pipeline's targets
    from the owners; one report per kind, targets last."""
    run = _Rebuild(store, since, zone)
    _deals(run, sources)
    _targets(run, sources)
    _customers(run, sources)
    _reminders(run, sources)
    _followups(run, sources)
    _knowledge(run, sources)
    _votes(run, sources)
    _reads(run, sources)
    return [*run.reports.values(), run.targets]


def _deals(run: _Rebuild, sources: Sources) -> None:
    """pipeline's closed deals: ``opportunity_won``/``opportunity_lost`` at ``closed_at``."""
    for status, kind in (("won", Kind.DEAL_WON), ("lost", Kind.DEAL_LOST)):
        for deal in sources.opportunities(status):
            run.add(
                kind,
                deal.get("owner_id"),
                deal.get("id"),
                _when(deal.get("closed_at")),
                team=deal.get("team"),
                amount=deal.get("amount") if kind == Kind.DEAL_WON else None,
                label=deal.get("close_reason"),
            )


def _targets(run: _Rebuild, sources: Sources) -> None:
    """Every current target (the newest set wins, as with ``target_set``), whatever day it was
    set: a target set before ``since`` still measures the periods after it."""
    for target in sources.targets():
        owner, team, period = target.get("owner_id"), target.get("team"), target.get("period")
        subject = f"user:{owner}" if owner is not None else f"team:{team}" if team else None
        at = _when(target.get("set_at"))
        if subject is None or not isinstance(period, str) or at is None:
            continue
        run.targets.found += 1
        run.store.put_target(
            subject, period, Decimal(str(target["amount"])), at, f"replay:target:{target.get('id')}"
        )


def _customers(run: _Rebuild, sources: Sources) -> None:
    """customers' ``customer_created`` credits the owner the customer was entered for: customers'
    ``entered_since`` names that one (from its ownership history), whoever owns it today. A customer
    entered without an owner (into the pool) was nobody's evidence on the bus either."""
    for customer in sources.customers(run.start):
        run.add(
            Kind.CUSTOMER_CREATED,
            customer.get("owner_id"),
            customer.get("customer_id"),
            _when(customer.get("entered_at")),
            team=customer.get("team"),
            label=customer.get("name"),
        )


def _reminders(run: _Rebuild, sources: Sources) -> None:
    """notify's ``reminder_due`` at ``fired_at``, ``reminder_escalated`` at ``escalated_at``."""
    for reminder in sources.reminders():
        owner, ref = reminder.get("owner_id"), reminder.get("id")
        run.add(Kind.REMINDER_DUE, owner, ref, _when(reminder.get("fired_at")), label=reminder.get("title"))
        run.add(Kind.REMINDER_ESCALATED, owner, ref, _when(reminder.get("escalated_at")))
        escalated = _when(reminder.get("escalated_at"))
        acknowledged = _when(reminder.get("acknowledged_at"))
        run.add(
            Kind.REMINDER_ACKNOWLEDGED,
            owner,
            ref,
            acknowledged,
            team=reminder.get("team"),
            label=reminder.get("title"),
            flag=escalated is None,
        )


def _followups(run: _Rebuild, sources: Sources) -> None:
    """customers' ``followup_recorded``: at ``occurred_at``, flagged when ``on_time``."""
    for followup in sources.followups(run.start):
        run.add(
            Kind.FOLLOWUP,
            followup.get("recorded_by"),
            followup.get("followup_id"),
            _when(followup.get("occurred_at")),
            related=followup.get("customer_id"),
            label=followup.get("kind"),
            flag=followup.get("on_time") is True,
        )


def _votes(run: _Rebuild, sources: Sources) -> None:
    """knowledge's ``entry_voted``: the voter's row, crediting the entry's author."""
    for vote in sources.votes(run.start):
        if vote.get("voter_id") == vote.get("author_id"):
            continue
        run.add(
            Kind.ENTRY_VOTED,
            vote.get("voter_id"),
            vote.get("entry_id"),
            _when(vote.get("voted_at")),
            related=vote.get("author_id"),
            label=vote.get("title"),
            keep_team=False,
        )


def _reads(run: _Rebuild, sources: Sources) -> None:
    """knowledge's ``entry_read``: the reader's row, crediting the entry's author, flagged when the
    entry is pinned; under the event's own id (knowledge keeps each read under it)."""
    for read in sources.reads(run.start):
        if read.get("reader_id") == read.get("author_id"):
            continue
        run.add(
            Kind.ENTRY_READ,
            read.get("reader_id"),
            read.get("entry_id"),
            _when(read.get("read_at")),
            related=read.get("author_id"),
            label=read.get("title"),
            flag=read.get("pinned") is True,
            keep_team=False,
            event_id=read.get("event_id"),
        )


def _knowledge(run: _Rebuild, sources: Sources) -> None:
    """knowledge's alarms (raised, answered for a colleague, resolved with the accepted answer
    credited to its author) and every entry written since the day, archived ones too."""
    for alarm in sources.alarms():
        alarm_id, raiser, team = alarm.get("id"), alarm.get("raised_by"), alarm.get("team")
        run.add(
            Kind.ALARM_RAISED,
            raiser,
            alarm_id,
            _when(alarm.get("raised_at")),
            team=team,
            label=alarm.get("title"),
        )
        accepted = alarm.get("accepted_answer_id")
        if accepted is not None:
            run.add(
                Kind.ALARM_RESOLVED,
                raiser,
                accepted,
                _when(alarm.get("resolved_at")),
                team=team,
                related=alarm_id,
            )
        known = _id(alarm_id)
        if alarm.get("answer_count") and known is not None:
            for answer in sources.answers(known):
                if answer.get("author_id") == raiser:
                    continue  # an answer to one's own alarm is nobody's evidence
                run.add(
                    Kind.ANSWER,
                    answer.get("author_id"),
                    answer.get("id"),
                    _when(answer.get("answered_at")),
                    team=team,
                    related=alarm_id,
                )
                if answer.get("id") == accepted:
                    run.add(
                        Kind.ANSWER_ACCEPTED,
                        answer.get("author_id"),
                        accepted,
                        _when(alarm.get("resolved_at")),
                        team=team,
                        related=alarm_id,
                    )
    for entry in sources.entries(run.start):
        run.add(
            Kind.ENTRY_PUBLISHED,
            entry.get("author_id"),
            entry.get("entry_id"),
            _when(entry.get("created_at")),
            team=entry.get("team"),
            label=entry.get("title"),
            flag=entry.get("alarm_id") is not None,
        )
