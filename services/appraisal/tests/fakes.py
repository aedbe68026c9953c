"""An in-memory stand-in for the evidence side of ``appraisal.store.Store`` (evidence, targets and
the figures counted from them), for use-case tests without a database.

What it counts in Python the real store counts in SQL; ``check_store`` runs the same checks against
both (``tests/service/test_appraisal_store_contract.py``), so the two cannot drift."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from appraisal import domain
from appraisal.constants import Kind
from appraisal.store import KindCount
from appraisal.usecases_evidence import record, record_target
from appraisal.usecases_scorecards import gather_facts

ZONE = ZoneInfo("Asia/Shanghai")


class FakeStore:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.target_rows: dict[tuple[str, str], tuple[Decimal, datetime]] = {}
        self.emitted: list[tuple[str, dict]] = []

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        self.emitted.append((event_type, data))

    def add_evidence(self, **fields: Any) -> bool:
        key = (fields["source_event_id"], fields["kind"], fields["person_id"])
        if any((r["source_event_id"], r["kind"], r["person_id"]) == key for r in self.rows):
            return False
        self.rows.append(fields)
        return True

    def _in(self, start: date, end: date) -> list[dict[str, Any]]:
        return [r for r in self.rows if start <= r["day"] <= end]

    def counts(self, person_ids: Sequence[int], start: date, end: date) -> dict[int, dict[str, KindCount]]:
        found: dict[int, dict[str, KindCount]] = {}
        for r in self._in(start, end):
            if r["person_id"] in person_ids:
                was = found.setdefault(r["person_id"], {}).get(r["kind"], KindCount(0, Decimal(0), 0))
                found[r["person_id"]][r["kind"]] = KindCount(
                    was.count + 1, was.amount + (r["amount"] or 0), was.flagged + int(bool(r["flag"]))
                )
        return found

    def accepted_answers(self, person_ids: Sequence[int], start: date, end: date) -> dict[int, int]:
        resolved = {r["ref_id"] for r in self._in(start, end) if r["kind"] == Kind.ALARM_RESOLVED}
        found: dict[int, set[int]] = {}
        for r in self.rows:
            if r["kind"] == Kind.ANSWER and r["person_id"] in person_ids and r["ref_id"] in resolved:
                found.setdefault(r["person_id"], set()).add(r["ref_id"])
        for r in self._in(start, end):
            if r["kind"] == Kind.ANSWER_ACCEPTED and r["person_id"] in person_ids:
                found.setdefault(r["person_id"], set()).add(r["ref_id"])
        return {person: len(refs) for person, refs in found.items()}

    def received(self, person_ids: Sequence[int], kind: str, start: date, end: date) -> dict[int, int]:
        found: dict[int, int] = {}
        for r in self._in(start, end):
            if r["kind"] == kind and r["related_id"] in person_ids:
                found[r["related_id"]] = found.get(r["related_id"], 0) + 1
        return found

    def team_won(self, team: str, start: date, end: date) -> Decimal:
        return sum(
            (r["amount"] for r in self._in(start, end) if r["team"] == team and r["kind"] == Kind.DEAL_WON),
            Decimal(0),
        )

    def team_alarms(
        self, team: str, start: date, end: date, manager_id: int
    ) -> list[tuple[datetime, datetime | None]]:
        found = []
        for raised in self._in(start, end):
            if (
                raised["team"] == team
                and raised["kind"] == Kind.ALARM_RAISED
                and raised["person_id"] != manager_id
            ):
                answers = [
                    r["occurred_at"]
                    for r in self.rows
                    if r["kind"] == Kind.ANSWER
                    and r["related_id"] == raised["ref_id"]
                    and r["person_id"] == manager_id
                ]
                found.append((raised["occurred_at"], min(answers) if answers else None))
        return found

    def put_target(
        self, subject: str, period: str, amount: Decimal, occurred_at: datetime, event_id: str
    ) -> None:
        was = self.target_rows.get((subject, period))
        if was is None or was[1] <= occurred_at:
            self.target_rows[(subject, period)] = (amount, occurred_at)

    def targets(self, subjects: Iterable[str]) -> dict[str, dict[str, Decimal]]:
        found: dict[str, dict[str, Decimal]] = {s: {} for s in subjects}
        for (subject, period), (amount, _) in self.target_rows.items():
            if subject in found:
                found[subject][period] = amount
        return found


def event(source: str, event_type: str, when: str, event_id: str, **data: Any) -> dict:
    return {
        "event_id": event_id,
        "event_type": event_type,
        "source": source,
        "occurred_at": datetime.fromisoformat(when).replace(tzinfo=UTC).isoformat(),
        "version": 1,
        "data": data,
    }


def check_store(store: Any) -> None:
    """The evidence side of a store: what ``record`` writes, the counts ``gather_facts`` reads."""
    won = event(
        "pipeline",
        "opportunity_won",
        "2026-10-10T03:00:00",
        "e1",
        opportunity_id=1,
        owner_id=11,
        team="east",
        amount="800.00",
        reason="签约",
    )
    assert record(store, "pipeline", won, zone=ZONE) is True
    assert record(store, "pipeline", won, zone=ZONE) is False  # the same event again: nothing new
    early = event(
        "pipeline",
        "opportunity_won",
        "2026-09-30T15:59:00",
        "e2",
        opportunity_id=2,
        owner_id=11,
        team="east",
        amount="50.00",
        reason="x",
    )  # 23:59 local on 30 Sep: Q3
    record(store, "pipeline", early, zone=ZONE)
    record(
        store,
        "knowledge",
        event(
            "knowledge",
            "alarm_raised",
            "2026-11-02T02:00:00",
            "e3",
            alarm_id=7,
            raised_by=12,
            team="east",
            title="t",
        ),
        zone=ZONE,
    )
    for answer, by, when in ((70, 11, "2026-11-02T03:00:00"), (71, 10, "2026-11-03T01:00:00")):
        record(
            store,
            "knowledge",
            event(
                "knowledge",
                "alarm_answered",
                when,
                f"a{answer}",
                alarm_id=7,
                answer_id=answer,
                answered_by=by,
                raised_by=12,
                team="east",
                by_manager=by == 10,
            ),
            zone=ZONE,
        )
    own = event(
        "knowledge",
        "alarm_answered",
        "2026-11-02T04:00:00",
        "a72",
        alarm_id=7,
        answer_id=72,
        answered_by=12,
        raised_by=12,
        team="east",
        by_manager=False,
    )
    assert record(store, "knowledge", own, zone=ZONE) is False
    record(
        store,
        "knowledge",
        event(
            "knowledge",
            "alarm_resolved",
            "2026-11-04T02:00:00",
            "e4",
            alarm_id=7,
            answer_id=70,
            raised_by=12,
            team="east",
            entry_id=None,
        ),
        zone=ZONE,
    )
    bad = event("notify", "reminder_due", "2026-11-04T02:00:00", "e5", reminder_id="x", owner_id=11)
    assert record(store, "notify", bad, zone=ZONE) is False
    record_target(
        store,
        event(
            "pipeline",
            "target_set",
            "2026-10-01T00:00:00",
            "t1",
            owner_id=11,
            team="east",
            period="2026-Q4",
            amount="1000.00",
        ),
    )
    record_target(
        store,
        event(
            "pipeline",
            "target_set",
            "2026-09-01T00:00:00",
            "t0",
            owner_id=11,
            team="east",
            period="2026-Q4",
            amount="9.00",
        ),
    )  # older: the newer stays
    members = [{"id": 10, "role": "manager"}, {"id": 11, "role": "sales"}, {"id": 12, "role": "sales"}]
    facts = gather_facts(store, "east", members, domain.parse_period("2026-Q4"))
    assert (facts[11].won, facts[11].won_amount, facts[11].target) == (
        1,
        Decimal("800.00"),
        Decimal("1000.00"),
    )
    assert (facts[11].answers_for_colleagues, facts[11].answers_accepted) == (1, 1)
    assert facts[12].answers_for_colleagues == 0
    manager = facts[10]
    assert (manager.team_won_amount, manager.team_target) == (Decimal("800.00"), Decimal("1000.00"))
    # the manager answered 23 hours after the alarm: within a day
    assert (manager.team_alarms, manager.team_alarms_answered_in_a_day) == (1, 1)
    year = gather_facts(store, "east", members, domain.parse_period("2026"))
    assert year[11].won_amount == Decimal("850.00")
