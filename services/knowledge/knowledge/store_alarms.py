"""Difficulty alarms and their answers in the database (a mixin of :class:`knowledge.store.Store`).
Takes and gives :class:`knowledge.domain_alarms.Alarm` objects, answers included."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.constants import MAX_ID, AlarmStatus
from knowledge.domain import Entry
from knowledge.domain_alarms import Alarm, AlarmScope, Answer
from knowledge.exceptions import AlarmNotFound
from knowledge.models import Alarm as AlarmRow
from knowledge.models import AlarmAnswer
from knowledge.segment import Segmenter
from knowledge.store_search import SearchIndex


class AlarmsStore:
    session: Session
    segmenter: Segmenter
    index: SearchIndex

    add_entry: Callable[[Entry, datetime], Entry]  # EntriesStore's, in Store

    def alarm(self, alarm_id: int, lock: bool = False) -> Alarm:
        """The alarm with its answers (``lock``: for update, until the transaction ends); AlarmNotFound."""
        row = self._alarm_row(alarm_id, lock)
        return alarm_of(row, self._answer_rows([row.id])[row.id])

    def add_alarm(self, alarm: Alarm) -> Alarm:
        """Store a new alarm and index its text."""
        row = AlarmRow(
            title=alarm.title,
            problem=alarm.problem,
            customer_id=alarm.customer_id,
            customer_name=alarm.customer_name,
            raised_by=alarm.raiser_id,
            raised_by_name=alarm.raised_by_name,
            team=alarm.team,
            status=alarm.status.value,
            terms=self.segmenter.index_terms(f"{alarm.title}\n{alarm.problem}"),
            raised_at=alarm.raised_at,
        )
        self.session.add(row)
        self.session.flush()
        self.index.put_alarm(row.id, row.terms)
        return alarm_of(row, [])

    def add_answer(self, alarm: Alarm, answer: Answer) -> Answer:
        """Store ``answer`` (credited to ``answer.author_name``) and the alarm's new status."""
        row = self._alarm_row(int(alarm.alarm_id or 0))
        answer_row = AlarmAnswer(
            alarm=row,
            author_id=answer.author_id,
            author_name=answer.author_name,
            body=answer.body,
            by_manager=answer.by_manager,
            answered_at=answer.answered_at,
        )
        self.session.add(answer_row)
        row.status = alarm.status.value
        self.session.flush()
        return answer_of(answer_row)

    def save_resolution(
        self, alarm: Alarm, published: Entry | None, now: datetime
    ) -> tuple[Alarm, Entry | None]:
        """Record that ``alarm`` is resolved and store the entry published from it, if any
        (credited by name to the accepted answer's author): the alarm as stored, and the entry."""
        row = self._alarm_row(int(alarm.alarm_id or 0))
        entry = None
        if published is not None:
            accepted = self.session.get(AlarmAnswer, alarm.accepted_answer_id)
            author_name = accepted.author_name if accepted else str(published.author_id)
            entry = self.add_entry(dataclasses.replace(published, author_name=author_name), now)
        row.status = alarm.status.value
        row.accepted_answer_id = int(alarm.accepted_answer_id) if alarm.accepted_answer_id else None
        row.resolved_at = alarm.resolved_at
        row.entry_id = int(entry.entry_id) if entry and entry.entry_id else None
        self.session.flush()
        return alarm_of(row, self._answer_rows([row.id])[row.id]), entry

    def alarms(self, scope: AlarmScope, status: str | None = None) -> list[Alarm]:
        """The alarms in ``scope``, newest first; only unresolved ones for ``status="unresolved"``."""
        query = select(AlarmRow).order_by(AlarmRow.raised_at.desc(), AlarmRow.id.desc())
        if scope.raised_by is not None:
            query = query.where(AlarmRow.raised_by == scope.raised_by)
        if scope.team is not None:
            query = query.where(AlarmRow.team == scope.team)
        if status == "unresolved":
            query = query.where(AlarmRow.status != AlarmStatus.RESOLVED.value)
        elif status:
            query = query.where(AlarmRow.status == status)
        rows = list(self.session.scalars(query))
        answers = self._answer_rows([row.id for row in rows])
        return [alarm_of(row, answers[row.id]) for row in rows]

    def alarm_candidates(
        self, alarm: Alarm, title_terms: list[str], limit: int
    ) -> list[tuple[Alarm, frozenset[str]]]:
        """Other alarms of ``alarm``'s team sharing a term of its title (at most ``limit``,
        newest first), each with its index terms; their answers are not loaded."""
        ids = self.index.alarm_candidates(title_terms, alarm.team, int(alarm.alarm_id or 0), limit=limit)
        if not ids:
            return []
        rows = {row.id: row for row in self.session.scalars(select(AlarmRow).where(AlarmRow.id.in_(ids)))}
        return [(alarm_of(rows[alarm_id], []), frozenset(rows[alarm_id].terms.split())) for alarm_id in ids]

    # --- helpers

    def _alarm_row(self, alarm_id: int, lock: bool = False) -> AlarmRow:
        query = select(AlarmRow).where(AlarmRow.id == alarm_id)
        if lock:
            query = query.with_for_update()
        row = self.session.scalar(query) if alarm_id <= MAX_ID else None
        if row is None:
            raise AlarmNotFound(f"no alarm {alarm_id}", {"alarm_id": alarm_id})
        return row

    def _answer_rows(self, alarm_ids: list[int]) -> dict[int, list[AlarmAnswer]]:
        answers: dict[int, list[AlarmAnswer]] = {alarm_id: [] for alarm_id in alarm_ids}
        rows = self.session.scalars(
            select(AlarmAnswer).where(AlarmAnswer.alarm_id.in_(alarm_ids)).order_by(AlarmAnswer.id)
        )
        for row in rows:
            answers[row.alarm_id].append(row)
        return answers


def answer_of(row: AlarmAnswer) -> Answer:
    return Answer(
        author_id=row.author_id,
        body=row.body,
        by_manager=row.by_manager,
        answered_at=row.answered_at,
        answer_id=row.id,
        alarm_id=row.alarm_id,
        author_name=row.author_name,
    )


def alarm_of(row: AlarmRow, answers: list[AlarmAnswer]) -> Alarm:
    return Alarm(
        raiser_id=row.raised_by,
        team=row.team,
        title=row.title,
        problem=row.problem,
        raised_at=row.raised_at,
        customer_id=row.customer_id,
        alarm_id=row.id,
        status=AlarmStatus(row.status),
        answers=[answer_of(answer) for answer in answers],
        accepted_answer_id=row.accepted_answer_id,
        resolved_at=row.resolved_at,
        raised_by_name=row.raised_by_name,
        customer_name=row.customer_name,
        entry_id=row.entry_id,
    )
