"""Rules at the service's edge: refusals are the caller's errors, who sees and lists which
alarms, who may vote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from crm_common.errors import Conflict, CrmError, Forbidden, InvalidInput
from knowledge import domain, domain_alarms, exceptions

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Member:
    user_id: int
    role: str = "sales"
    team: str | None = "east"


LINA = Member(11)
ZHANG = Member(12)
WANG = Member(10, "manager")
ZHAO = Member(20, "manager", "west")
ADMIN = Member(1, "admin", None)


REFUSALS = [
    cls
    for cls in vars(exceptions).values()
    if isinstance(cls, type) and issubclass(cls, CrmError) and cls.__module__ == "knowledge.exceptions"
]


@pytest.mark.parametrize("refusal", REFUSALS, ids=lambda refusal: refusal.code)
def test_every_refusal_keeps_its_code_message_and_details(refusal: type[CrmError]) -> None:
    error = refusal("refused", {"alarm_id": 3})

    assert refusal.code not in ("error", "validation_error", "forbidden", "not_found", "conflict")
    assert (error.code, error.message, error.details) == (refusal.code, "refused", {"alarm_id": 3})


@pytest.mark.parametrize(
    ("refusal", "status_class"),
    [
        (exceptions.BlankField, InvalidInput),
        (exceptions.InvalidTags, InvalidInput),
        (exceptions.NotRaiser, Forbidden),
        (exceptions.NotManager, Forbidden),
        (exceptions.AnswerNotOfAlarm, Conflict),
        (exceptions.AlarmNotOpen, Conflict),
    ],
)
def test_refusals_are_bad_input_forbidden_or_conflict(refusal: type, status_class: type) -> None:
    assert issubclass(refusal, status_class)


def test_a_rule_refuses_with_the_callers_error_and_json_safe_details() -> None:
    with pytest.raises(exceptions.NotManager) as refused:
        domain_alarms.stale_scope(LINA)

    assert refused.value.details == {}


def alarm_of(raiser: Member) -> domain_alarms.Alarm:
    return domain_alarms.raise_alarm(raiser, "客户嫌贵", "比竞品贵", NOW)


def test_the_team_and_admins_see_an_alarm_other_teams_do_not() -> None:
    raised = alarm_of(LINA)

    assert [domain_alarms.alarm_visible_to(raised, who) for who in (LINA, ZHANG, WANG, ADMIN, ZHAO)] == [
        True,
        True,
        True,
        True,
        False,
    ]


def test_listing_defaults_to_own_alarms_for_sales_and_the_team_for_managers() -> None:
    assert domain_alarms.alarm_scope(LINA) == domain_alarms.AlarmScope(raised_by=11)
    assert domain_alarms.alarm_scope(LINA, "team") == domain_alarms.AlarmScope(team="east")
    assert domain_alarms.alarm_scope(WANG) == domain_alarms.AlarmScope(team="east")
    assert domain_alarms.alarm_scope(WANG, "mine") == domain_alarms.AlarmScope(raised_by=10)
    assert domain_alarms.alarm_scope(ADMIN) == domain_alarms.AlarmScope()
    assert domain_alarms.alarm_scope(Member(5, "sales", None), "team") == domain_alarms.AlarmScope(
        raised_by=5
    )


def test_stale_alarms_are_for_managers_of_their_team_and_admins() -> None:
    assert domain_alarms.stale_scope(WANG) == domain_alarms.AlarmScope(team="east")
    assert domain_alarms.stale_scope(ADMIN) == domain_alarms.AlarmScope()
    with pytest.raises(exceptions.NotManager):
        domain_alarms.stale_scope(LINA)


def test_authors_may_not_vote_for_their_own_entry() -> None:
    written = domain.new_entry(LINA, "solution", "客户嫌贵", "", "讲价值")

    domain.ensure_may_vote(written, ZHANG)
    with pytest.raises(exceptions.OwnEntry) as refused:
        domain.ensure_may_vote(written, LINA)
    assert refused.value.code == "own_entry"
