"""All of the appraisal service's SQL, through one worker's UnitOfWork (``Store(self.db)``):
evidence and targets learnt from events, the teams' schemes, scorecards and interview notes.

The figures of a scorecard are GROUP BYs over ``evidence``'s (person, day, kind) and (team, kind,
day) indexes: one row per person and kind comes back, never the events themselves."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, or_, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlalchemy.orm.exc import StaleDataError

from appraisal.constants import RECEIVED_KINDS, Kind
from appraisal.exceptions import WrongState
from appraisal.models import Evidence, InterviewNote, SchemeRow, Scorecard, Target

_ZERO = Decimal(0)


def _money(value: Any) -> Decimal:
    """A SQL sum as Decimal: None for no rows, a float from SQLite, a Decimal from PostgreSQL."""
    if value is None:
        return _ZERO
    return (
        value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else value)
    )


@dataclass(frozen=True)
class KindCount:
    count: int
    amount: Decimal
    flagged: int


class Store:
    """The appraisal's tables through one worker's session; ``emit`` writes to the outbox."""

    def __init__(self, uow: Any) -> None:
        self.uow = uow

    @property
    def session(self) -> Any:
        return self.uow.session

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        """An event published only if the worker's transaction commits."""
        self.uow.emit(event_type, data)

    # ---- evidence -------------------------------------------------------------------------------

    def add_evidence(self, **fields: Any) -> bool:
        """One evidence row; False (and nothing written) when this person already has this kind of
        evidence for this source reference (the event redelivered, or the replay already rebuilt
        it from the owning service, or the other way round)."""
        exists = self.session.scalar(
            select(Evidence.id).where(
                Evidence.kind == fields["kind"],
                Evidence.ref_id == fields["ref_id"],
                Evidence.person_id == fields["person_id"],
            )
        )
        if exists is not None:
            return False
        # written by another worker at the same moment: the commit fails, the event is retried
        # (crm_common.events) and then finds the row above
        self.session.add(Evidence(**fields))
        return True

    def counts(self, person_ids: Sequence[int], start: date, end: date) -> dict[int, dict[str, KindCount]]:
        """Per person and kind: rows, Σ amount, rows flagged, of the evidence in ``start``…``end``."""
        if not person_ids:
            return {}
        rows = self.session.execute(
            select(
                Evidence.person_id,
                Evidence.kind,
                func.count(),
                func.sum(Evidence.amount),
                func.sum(case((Evidence.flag, 1), else_=0)),
            )
            .where(Evidence.person_id.in_(list(person_ids)), Evidence.day.between(start, end))
            .group_by(Evidence.person_id, Evidence.kind)
        )
        found: dict[int, dict[str, KindCount]] = {}
        for person_id, kind, count, amount, flagged in rows:
            found.setdefault(person_id, {})[kind] = KindCount(int(count), _money(amount), int(flagged or 0))
        return found

    def accepted_answers(self, person_ids: Sequence[int], start: date, end: date) -> dict[int, int]:
        """Per person: their answers accepted as an alarm's solution by a resolution in the period."""
        if not person_ids:
            return {}
        answer, resolved = aliased(Evidence), aliased(Evidence)
        # the answer's own row joined with the resolution (before alarm_resolved named the
        # answerer), or the answer_accepted row alarm_resolved now writes: each answer once
        through_answer = (
            select(answer.person_id, answer.ref_id)
            .join(resolved, and_(resolved.kind == Kind.ALARM_RESOLVED, resolved.ref_id == answer.ref_id))
            .where(
                answer.kind == Kind.ANSWER,
                answer.person_id.in_(list(person_ids)),
                resolved.day.between(start, end),
            )
        )
        named = select(Evidence.person_id, Evidence.ref_id).where(
            Evidence.kind == Kind.ANSWER_ACCEPTED,
            Evidence.person_id.in_(list(person_ids)),
            Evidence.day.between(start, end),
        )
        both = union(through_answer, named).subquery()
        rows = self.session.execute(
            select(both.c.person_id, func.count(func.distinct(both.c.ref_id))).group_by(both.c.person_id)
        )
        return {person_id: int(count) for person_id, count in rows}

    def received(self, person_ids: Sequence[int], kind: str, start: date, end: date) -> dict[int, int]:
        """Per person: rows of ``kind`` in the period that credit them as ``related_id`` (the
        useful votes on their entries)."""
        if not person_ids:
            return {}
        rows = self.session.execute(
            select(Evidence.related_id, func.count())
            .where(
                Evidence.kind == kind,
                Evidence.related_id.in_(list(person_ids)),
                Evidence.day.between(start, end),
            )
            .group_by(Evidence.related_id)
        )
        return {person_id: int(count) for person_id, count in rows}

    def team_won(self, team: str, start: date, end: date) -> Decimal:
        return _money(
            self.session.scalar(
                select(func.sum(Evidence.amount)).where(
                    Evidence.team == team, Evidence.kind == Kind.DEAL_WON, Evidence.day.between(start, end)
                )
            )
        )

    def team_alarms(
        self, team: str, start: date, end: date, manager_id: int
    ) -> list[tuple[datetime, datetime | None]]:
        """The team's alarms raised in the period by others than ``manager_id``: when each was
        raised and when the manager first answered it (None: not answered)."""
        raised, answer = aliased(Evidence), aliased(Evidence)
        rows = self.session.execute(
            select(raised.occurred_at, func.min(answer.occurred_at))
            .outerjoin(
                answer,
                and_(
                    answer.kind == Kind.ANSWER,
                    answer.related_id == raised.ref_id,
                    answer.person_id == manager_id,
                ),
            )
            .where(
                raised.team == team,
                raised.kind == Kind.ALARM_RAISED,
                raised.person_id != manager_id,
                raised.day.between(start, end),
            )
            .group_by(raised.id, raised.occurred_at)
        )
        return [(at, first) for at, first in rows]

    def evidence(
        self, person_id: int, kinds: Iterable[str], start: date, end: date, limit: int, offset: int
    ) -> list[Evidence]:
        """A person's evidence of ``kinds`` in the period, newest first (the drill-down): their own
        rows, and for the kinds that credit another (a useful vote) the rows crediting them."""
        own = [k for k in kinds if k not in RECEIVED_KINDS]
        received = [k for k in kinds if k in RECEIVED_KINDS]
        return list(
            self.session.scalars(
                select(Evidence)
                .where(
                    or_(
                        and_(Evidence.person_id == person_id, Evidence.kind.in_(own)),
                        and_(Evidence.related_id == person_id, Evidence.kind.in_(received)),
                    ),
                    Evidence.day.between(start, end),
                )
                .order_by(Evidence.occurred_at.desc(), Evidence.id.desc())
                .limit(limit)
                .offset(offset)
            )
        )

    def resolved_answer_ids(self, answer_ids: Iterable[int]) -> set[int]:
        wanted = list(answer_ids)
        if not wanted:
            return set()
        return set(
            self.session.scalars(
                select(Evidence.ref_id).where(
                    Evidence.kind == Kind.ALARM_RESOLVED, Evidence.ref_id.in_(wanted)
                )
            )
        )

    # ---- targets --------------------------------------------------------------------------------

    def put_target(
        self, subject: str, period: str, amount: Decimal, occurred_at: datetime, event_id: str
    ) -> None:
        """pipeline's target of ``subject`` for ``period``: the newest set wins (events may arrive
        out of order)."""
        target = self.session.scalar(select(Target).where(Target.subject == subject, Target.period == period))
        if target is None:  # set at the same moment by another worker: the commit fails, retried
            self.session.add(
                Target(
                    subject=subject,
                    period=period,
                    amount=amount,
                    occurred_at=occurred_at,
                    source_event_id=event_id,
                )
            )
            self.session.flush()
        elif target.occurred_at <= occurred_at:
            target.amount, target.occurred_at, target.source_event_id = amount, occurred_at, event_id

    def targets(self, subjects: Iterable[str]) -> dict[str, dict[str, Decimal]]:
        """Every target of ``subjects``: ``{subject: {period: amount}}``."""
        wanted = list(subjects)
        found: dict[str, dict[str, Decimal]] = {s: {} for s in wanted}
        if wanted:
            for row in self.session.scalars(select(Target).where(Target.subject.in_(wanted))):
                found[row.subject][row.period] = _money(row.amount)
        return found

    # ---- schemes --------------------------------------------------------------------------------

    def scheme(self, team: str) -> dict | None:
        row = self.session.get(SchemeRow, team)
        return json.loads(row.data) if row is not None else None

    def put_scheme(self, team: str, data: dict, set_by: int, set_at: datetime) -> None:
        row = self.session.get(SchemeRow, team)
        if row is None:
            row = SchemeRow(team=team)
            self.session.add(row)
        row.data, row.set_by, row.set_at = json.dumps(data, ensure_ascii=False), set_by, set_at
        self.session.flush()

    # ---- scorecards -----------------------------------------------------------------------------

    def scorecard(self, card_id: int) -> Scorecard | None:
        return self.session.get(Scorecard, card_id)

    def scorecard_of(self, person_id: int, period: str) -> Scorecard | None:
        return self.session.scalar(
            select(Scorecard).where(Scorecard.person_id == person_id, Scorecard.period == period)
        )

    def team_scorecards(self, team: str, period: str) -> list[Scorecard]:
        return list(
            self.session.scalars(
                select(Scorecard)
                .where(Scorecard.team == team, Scorecard.period == period)
                .order_by(Scorecard.person_id)
            )
        )

    def person_scorecards(self, person_id: int) -> list[Scorecard]:
        return list(
            self.session.scalars(
                select(Scorecard).where(Scorecard.person_id == person_id).order_by(Scorecard.period.desc())
            )
        )

    def add_scorecard(self, **fields: Any) -> Scorecard:
        card = Scorecard(**fields)
        self.session.add(card)
        self.save()
        return card

    def save(self) -> None:
        """Write the changes made to loaded scorecards; WrongState when another worker changed one
        at the same moment (optimistic locking on ``row_version``) or added the same one."""
        try:
            self.session.flush()
        except (StaleDataError, IntegrityError) as exc:
            raise WrongState("the scorecard changed at the same moment; read it again", {}) from exc

    def add_note(self, **fields: Any) -> InterviewNote:
        note = InterviewNote(**fields)
        self.session.add(note)
        self.session.flush()
        return note

    def notes(self, card_id: int) -> list[InterviewNote]:
        return list(
            self.session.scalars(
                select(InterviewNote).where(InterviewNote.scorecard_id == card_id).order_by(InterviewNote.id)
            )
        )
