"""Difficulty alarms (困难报警): open → answered → resolved, who sees and lists them, which are
stale, and the entry an accepted answer becomes. Plain Python, like :mod:`knowledge.domain`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from knowledge.constants import AlarmStatus, EntryKind, Role
from knowledge.domain import Caller, EntityId, Entry, UserId, checked_title, normalise_tags, required_text
from knowledge.exceptions import AlarmNotOpen, AnswerNotOfAlarm, NotInTeam, NotManager, NotRaiser


@dataclass(frozen=True)
class Answer:
    """An answer to an alarm; ``answer_id`` is None until stored."""

    author_id: UserId
    body: str
    by_manager: bool
    answered_at: datetime
    answer_id: EntityId | None = None
    alarm_id: EntityId | None = None
    author_name: str = ""


@dataclass
class Alarm:
    """A difficulty alarm (困难报警): open → answered → resolved."""

    raiser_id: UserId
    team: str | None
    title: str
    problem: str
    raised_at: datetime
    customer_id: EntityId | None = None
    alarm_id: EntityId | None = None
    status: AlarmStatus = AlarmStatus.OPEN
    answers: list[Answer] = field(default_factory=list)
    accepted_answer_id: EntityId | None = None
    resolved_at: datetime | None = None
    raised_by_name: str = ""
    customer_name: str | None = None
    entry_id: EntityId | None = None  # the entry published from its accepted answer

    @property
    def manager_answered(self) -> bool:
        """Whether a manager of the alarm's team has answered."""
        return any(answer.by_manager for answer in self.answers)

    def answer(self, caller: Caller, body: str, now: datetime, answer_id: EntityId | None = None) -> Answer:
        """Record an answer from a member of the alarm's team; the alarm becomes answered.

        The answer is flagged ``by_manager`` when a manager gives it. Raises
        :class:`AlarmNotOpen` once resolved, :class:`NotInTeam` for anyone outside the
        team, :class:`BlankField` for a blank body.
        """
        if self.status is AlarmStatus.RESOLVED:
            raise AlarmNotOpen("the alarm is resolved", {"alarm_id": self.alarm_id})
        if caller.team is None or caller.team != self.team:
            raise NotInTeam(
                "only members of the alarm's team may answer",
                {"alarm_id": self.alarm_id, "team": self.team},
            )
        answer = Answer(
            alarm_id=self.alarm_id,
            author_id=caller.user_id,
            body=required_text("body", body),
            by_manager=caller.role == Role.MANAGER,
            answered_at=now,
            answer_id=answer_id,
        )
        self.answers.append(answer)
        self.status = AlarmStatus.ANSWERED
        return answer

    def resolve(self, caller: Caller, answer_id: EntityId, now: datetime) -> Answer:
        """Close the alarm with one of its answers, which is returned as accepted.

        Raises, in this order: :class:`NotRaiser` unless the caller raised the alarm,
        :class:`AlarmNotOpen` if already resolved, :class:`AnswerNotOfAlarm` if
        ``answer_id`` is not an answer to this alarm (an unanswered alarm has none).
        """
        if caller.user_id != self.raiser_id:
            raise NotRaiser(
                "only the salesperson who raised the alarm may resolve it",
                {"alarm_id": self.alarm_id, "raiser_id": self.raiser_id},
            )
        if self.status is AlarmStatus.RESOLVED:
            raise AlarmNotOpen("the alarm is already resolved", {"alarm_id": self.alarm_id})
        accepted = next((a for a in self.answers if a.answer_id == answer_id), None)
        if accepted is None or answer_id is None:
            raise AnswerNotOfAlarm(
                "the accepted answer must be one of this alarm's answers",
                {"alarm_id": self.alarm_id, "answer_id": answer_id},
            )
        self.status = AlarmStatus.RESOLVED
        self.accepted_answer_id = answer_id
        self.resolved_at = now
        return accepted


def alarm_visible_to(alarm: Alarm, caller: Caller) -> bool:
    """The raiser, every member of the alarm's team (they may answer) and admins see an alarm."""
    if caller.user_id == alarm.raiser_id or caller.role == Role.ADMIN:
        return True
    return caller.team is not None and caller.team == alarm.team


@dataclass(frozen=True)
class AlarmScope:
    """Which alarms a listing covers: those raised by ``raised_by`` and/or of ``team``;
    both None is every alarm (admins)."""

    raised_by: UserId | None = None
    team: str | None = None


def alarm_scope(caller: Caller, wanted: Literal["mine", "team"] | None = None) -> AlarmScope:
    """The alarms a caller lists: by default a salesperson their own, a manager the team's,
    an admin all; ``wanted`` picks "mine" or "team" (any member may look at the team's,
    to help). A caller without a team only ever gets their own."""
    if wanted is None:
        wanted = "mine" if caller.role == Role.SALES else "team"
    if wanted == "team":
        if caller.team is not None:
            return AlarmScope(team=caller.team)
        if caller.role == Role.ADMIN:
            return AlarmScope()
    return AlarmScope(raised_by=caller.user_id)


def stale_scope(caller: Caller) -> AlarmScope:
    """Whose stale alarms a caller may list: a manager the team's, an admin all; raises
    :class:`NotManager` for anyone else."""
    if caller.role == Role.ADMIN:
        return AlarmScope(team=caller.team) if caller.team else AlarmScope()
    if caller.role == Role.MANAGER and caller.team is not None:
        return AlarmScope(team=caller.team)
    raise NotManager("only a manager lists the team's stale alarms", {})


def raise_alarm(
    raiser: Caller,
    title: str,
    problem: str,
    now: datetime,
    customer_id: EntityId | None = None,
) -> Alarm:
    """A new open alarm of ``raiser``'s team; :class:`BlankField` for a blank title/problem."""
    if raiser.team is None:
        raise NotInTeam("only a member of a team may raise an alarm", {"team": None})
    return Alarm(
        raiser_id=raiser.user_id,
        team=raiser.team,
        title=checked_title(title),
        problem=required_text("problem", problem),
        raised_at=now,
        customer_id=customer_id,
    )


def entry_from_answer(alarm: Alarm, answer: Answer, tags: Iterable[str] = ()) -> Entry:
    """The knowledge entry published from an alarm's accepted answer.

    Credited to the answer's author and linked to the alarm; raises
    :class:`AnswerNotOfAlarm` if the answer is not the accepted one.
    """
    if alarm.accepted_answer_id is None or answer.answer_id != alarm.accepted_answer_id:
        raise AnswerNotOfAlarm(
            "only the accepted answer is published",
            {"alarm_id": alarm.alarm_id, "answer_id": answer.answer_id},
        )
    return Entry(
        kind=EntryKind.SOLUTION,
        title=alarm.title,
        problem=alarm.problem,
        solution=answer.body,
        author_id=answer.author_id,
        team=alarm.team,
        tags=normalise_tags(tags),
        customer_id=alarm.customer_id,
        source_alarm_id=alarm.alarm_id,
    )


def stale_alarms(alarms: Iterable[Alarm], now: datetime, days: int = 3) -> list[Alarm]:
    """Unresolved alarms raised at least ``days`` days before ``now``, oldest first.

    ``now`` and ``raised_at`` must both be aware (or both naive); ValueError if days < 0.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    cutoff = now - timedelta(days=days)
    stale = [
        alarm for alarm in alarms if alarm.status is not AlarmStatus.RESOLVED and alarm.raised_at <= cutoff
    ]
    return sorted(stale, key=lambda alarm: alarm.raised_at)
