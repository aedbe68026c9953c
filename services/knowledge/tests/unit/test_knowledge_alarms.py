"""Difficulty alarms (困难报警): answering, resolving, stale alarms. (The abandon
rule itself is the customers service's; knowledge only reports ``manager_answered``.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from crm_common.errors import CrmError
from knowledge.constants import AlarmStatus, EntryKind
from knowledge.domain_alarms import Alarm, entry_from_answer, raise_alarm, stale_alarms
from knowledge.exceptions import AlarmNotOpen, AnswerNotOfAlarm, BlankField, NotInTeam, NotRaiser


@dataclass(frozen=True)
class Member:
    user_id: int
    role: str = "sales"
    team: str | None = "east"


RAISER = Member(1)
COLLEAGUE = Member(2)
MANAGER = Member(9, role="manager")
OTHER_TEAM_MANAGER = Member(10, role="manager", team="west")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CUSTOMER = 501


def alarm(customer_id: int | None = CUSTOMER, raised_at: datetime = NOW, alarm_id: int = 1) -> Alarm:
    raised = raise_alarm(RAISER, "客户嫌贵不签", "报价后客户说比竞品贵", raised_at, customer_id)
    raised.alarm_id = alarm_id
    return raised


def answered(by: Member = COLLEAGUE, answer_id: int = 11) -> Alarm:
    stuck = alarm()
    stuck.answer(by, "先认同再讲价值", NOW, answer_id=answer_id)
    return stuck


# --- answering


def test_raised_alarm_is_open_and_belongs_to_the_raisers_team() -> None:
    raised = alarm()

    assert (raised.status, raised.team, raised.raiser_id, raised.answers) == (AlarmStatus.OPEN, "east", 1, [])


def test_alarm_needs_a_title_and_a_problem() -> None:
    with pytest.raises(BlankField):
        raise_alarm(RAISER, "客户嫌贵", "  ", NOW)


def test_first_answer_moves_the_alarm_to_answered() -> None:
    stuck = alarm()

    stuck.answer(COLLEAGUE, "送样试用", NOW + timedelta(hours=1), answer_id=11)

    assert stuck.status is AlarmStatus.ANSWERED
    assert [(a.answer_id, a.author_id) for a in stuck.answers] == [(11, 2)]


def test_a_managers_answer_is_flagged_and_a_colleagues_is_not() -> None:
    stuck = alarm()

    from_colleague = stuck.answer(COLLEAGUE, "送样试用", NOW)
    from_manager = stuck.answer(MANAGER, "我来约对方老板", NOW)

    assert (from_colleague.by_manager, from_manager.by_manager) == (False, True)
    assert stuck.manager_answered


def test_the_raiser_may_add_to_their_own_alarm() -> None:
    stuck = alarm()

    stuck.answer(RAISER, "补充：对方采购经理刚换人", NOW)

    assert stuck.status is AlarmStatus.ANSWERED


@pytest.mark.parametrize("outsider", [OTHER_TEAM_MANAGER, Member(3, team=None)])
def test_someone_outside_the_team_may_not_answer(outsider: Member) -> None:
    stuck = alarm()

    with pytest.raises(NotInTeam) as refused:
        stuck.answer(outsider, "试试降价", NOW)

    assert refused.value.code == "not_in_team"
    assert stuck.answers == [] and stuck.status is AlarmStatus.OPEN


def test_blank_answer_is_refused() -> None:
    with pytest.raises(BlankField):
        alarm().answer(COLLEAGUE, " \n ", NOW)


def test_resolved_alarm_takes_no_more_answers() -> None:
    done = answered()
    done.resolve(RAISER, 11, NOW)

    with pytest.raises(AlarmNotOpen) as refused:
        done.answer(MANAGER, "晚了", NOW)

    assert refused.value.code == "alarm_not_open"
    assert len(done.answers) == 1


# --- resolving


def test_raiser_resolves_with_an_answer_which_becomes_the_accepted_one() -> None:
    stuck = answered()
    stuck.answer(MANAGER, "我来约对方老板", NOW, answer_id=12)

    accepted = stuck.resolve(RAISER, 12, NOW + timedelta(days=1))

    assert accepted.body == "我来约对方老板"
    assert (stuck.status, stuck.accepted_answer_id, stuck.resolved_at) == (
        AlarmStatus.RESOLVED,
        12,
        NOW + timedelta(days=1),
    )


@pytest.mark.parametrize("someone_else", [COLLEAGUE, MANAGER])
def test_only_the_raiser_may_resolve(someone_else: Member) -> None:
    stuck = answered()

    with pytest.raises(NotRaiser) as refused:
        stuck.resolve(someone_else, 11, NOW)

    assert refused.value.code == "not_raiser"
    assert stuck.status is AlarmStatus.ANSWERED


def test_an_answer_of_another_alarm_cannot_resolve_this_one() -> None:
    stuck = answered(answer_id=11)

    with pytest.raises(AnswerNotOfAlarm) as refused:
        stuck.resolve(RAISER, 99, NOW)

    assert refused.value.code == "answer_not_of_alarm"
    assert stuck.status is AlarmStatus.ANSWERED


def test_an_unanswered_alarm_cannot_be_resolved() -> None:
    with pytest.raises(AnswerNotOfAlarm):
        alarm().resolve(RAISER, 11, NOW)


def test_resolving_twice_is_refused() -> None:
    done = answered()
    done.resolve(RAISER, 11, NOW)

    with pytest.raises(AlarmNotOpen):
        done.resolve(RAISER, 11, NOW)


def test_refusals_are_caller_errors_with_stable_codes() -> None:
    codes = {cls.code for cls in (AlarmNotOpen, AnswerNotOfAlarm, NotRaiser, NotInTeam)}

    assert codes == {"alarm_not_open", "answer_not_of_alarm", "not_raiser", "not_in_team"}
    assert all(issubclass(cls, CrmError) for cls in (AlarmNotOpen, AnswerNotOfAlarm, NotRaiser, NotInTeam))


# --- publishing the accepted answer


def test_accepted_answer_is_published_as_an_entry_linked_to_the_alarm() -> None:
    done = answered(by=MANAGER)
    done.resolve(RAISER, 11, NOW)

    published = entry_from_answer(done, done.answers[0], tags=["价格"])

    assert (published.kind, published.title, published.solution) == (
        EntryKind.SOLUTION,
        "客户嫌贵不签",
        "先认同再讲价值",
    )
    assert (published.author_id, published.source_alarm_id, published.customer_id) == (9, 1, CUSTOMER)


def test_an_answer_that_was_not_accepted_is_not_published() -> None:
    stuck = answered()
    stuck.answer(MANAGER, "另一个办法", NOW, answer_id=12)
    stuck.resolve(RAISER, 11, NOW)

    with pytest.raises(AnswerNotOfAlarm):
        entry_from_answer(stuck, stuck.answers[1])


# --- stale alarms for the manager


def test_unresolved_alarms_older_than_three_days_are_listed_oldest_first() -> None:
    fresh = alarm(raised_at=NOW - timedelta(days=2, hours=23), alarm_id=1)
    exactly_three = alarm(raised_at=NOW - timedelta(days=3), alarm_id=2)
    week_old = alarm(raised_at=NOW - timedelta(days=7), alarm_id=3)
    resolved_old = alarm(raised_at=NOW - timedelta(days=9), alarm_id=4)
    resolved_old.answer(COLLEAGUE, "办法", NOW, answer_id=41)
    resolved_old.resolve(RAISER, 41, NOW)

    stale = stale_alarms([fresh, exactly_three, week_old, resolved_old], NOW)

    assert [a.alarm_id for a in stale] == [3, 2]


def test_answered_but_unresolved_alarm_is_still_stale() -> None:
    old = answered()
    old.raised_at = NOW - timedelta(days=5)

    assert stale_alarms([old], NOW) == [old]


def test_stale_after_a_chosen_number_of_days() -> None:
    two_days = alarm(raised_at=NOW - timedelta(days=2))

    assert stale_alarms([two_days], NOW, days=1) == [two_days]
    assert stale_alarms([two_days], NOW, days=5) == []


# --- the lifecycle as a whole


class AlarmLifecycle(RuleBasedStateMachine):
    """Whatever is tried in whatever order, the alarm's state stays consistent."""

    def __init__(self) -> None:
        super().__init__()
        self.alarm = alarm()
        self.next_answer_id = 100

    @rule(who=st.sampled_from([RAISER, COLLEAGUE, MANAGER, OTHER_TEAM_MANAGER]))
    def answer(self, who: Member) -> None:
        before = len(self.alarm.answers)
        try:
            self.alarm.answer(who, "办法", NOW, answer_id=self.next_answer_id)
        except (AlarmNotOpen, NotInTeam):
            assert len(self.alarm.answers) == before
        self.next_answer_id += 1

    @rule(who=st.sampled_from([RAISER, COLLEAGUE, MANAGER]), answer_id=st.integers(99, 104))
    def resolve(self, who: Member, answer_id: int) -> None:
        status = self.alarm.status
        try:
            self.alarm.resolve(who, answer_id, NOW)
        except (NotRaiser, AlarmNotOpen, AnswerNotOfAlarm):
            assert self.alarm.status is status
        else:
            assert who == RAISER and status is not AlarmStatus.RESOLVED

    @invariant()
    def status_follows_answers_and_acceptance(self) -> None:
        accepted = self.alarm.accepted_answer_id
        if accepted is not None:
            assert self.alarm.status is AlarmStatus.RESOLVED
            assert accepted in {a.answer_id for a in self.alarm.answers}
        elif self.alarm.answers:
            assert self.alarm.status is AlarmStatus.ANSWERED
        else:
            assert self.alarm.status is AlarmStatus.OPEN
        assert all(a.author_id != OTHER_TEAM_MANAGER.user_id for a in self.alarm.answers)


AlarmLifecycle.TestCase.settings = settings(max_examples=100, stateful_step_count=15, deadline=None)
test_alarm_lifecycle_stays_consistent = AlarmLifecycle.TestCase
