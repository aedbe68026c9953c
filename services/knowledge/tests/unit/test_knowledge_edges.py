"""Rules at the service's edge: refusals turned into caller errors, who sees and lists which
alarms, who may vote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from crm_common.errors import Conflict, CrmError, Forbidden, InvalidInput
from knowledge import domain, exceptions

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


RULES = [
    cls
    for cls in vars(domain).values()
    if isinstance(cls, type)
    and issubclass(cls, domain.KnowledgeRuleError)
    and cls is not domain.KnowledgeRuleError
]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.code)
def test_every_domain_refusal_reaches_the_caller_with_its_code(rule: type[domain.KnowledgeRuleError]) -> None:
    error = exceptions.service_error(rule("refused", {"alarm_id": 3}))

    assert isinstance(error, CrmError) and type(error).__module__ == "knowledge.exceptions"
    assert (error.code, error.message, error.details) == (rule.code, "refused", {"alarm_id": 3})


@pytest.mark.parametrize(
    ("rule", "status_class"),
    [
        (domain.BlankField, InvalidInput),
        (domain.InvalidTags, InvalidInput),
        (domain.NotRaiser, Forbidden),
        (domain.NotManager, Forbidden),
        (domain.AnswerNotOfAlarm, Conflict),
        (domain.AlarmNotOpen, Conflict),
    ],
)
def test_refusals_map_to_bad_input_forbidden_or_conflict(rule: type, status_class: type) -> None:
    assert isinstance(exceptions.service_error(rule("refused")), status_class)


def test_an_entrypoint_raises_the_translated_error_chained_to_the_refusal() -> None:
    @exceptions.refusals_as_errors
    def resolve() -> None:
        raise domain.NotRaiser("only the raiser", {"alarm_id": 1})

    with pytest.raises(exceptions.NotRaiser) as raised:
        resolve()
    assert isinstance(raised.value.__cause__, domain.NotRaiser)


def alarm_of(raiser: Member) -> domain.Alarm:
    return domain.raise_alarm(raiser, "客户嫌贵", "比竞品贵", NOW)


def test_the_team_and_admins_see_an_alarm_other_teams_do_not() -> None:
    raised = alarm_of(LINA)

    assert [domain.alarm_visible_to(raised, who) for who in (LINA, ZHANG, WANG, ADMIN, ZHAO)] == [
        True,
        True,
        True,
        True,
        False,
    ]


def test_listing_defaults_to_own_alarms_for_sales_and_the_team_for_managers() -> None:
    assert domain.alarm_scope(LINA) == domain.AlarmScope(raised_by=11)
    assert domain.alarm_scope(LINA, "team") == domain.AlarmScope(team="east")
    assert domain.alarm_scope(WANG) == domain.AlarmScope(team="east")
    assert domain.alarm_scope(WANG, "mine") == domain.AlarmScope(raised_by=10)
    assert domain.alarm_scope(ADMIN) == domain.AlarmScope()
    assert domain.alarm_scope(Member(5, "sales", None), "team") == domain.AlarmScope(raised_by=5)


def test_stale_alarms_are_for_managers_of_their_team_and_admins() -> None:
    assert domain.stale_scope(WANG) == domain.AlarmScope(team="east")
    assert domain.stale_scope(ADMIN) == domain.AlarmScope()
    with pytest.raises(domain.NotManager):
        domain.stale_scope(LINA)


def test_authors_may_not_vote_for_their_own_entry() -> None:
    written = domain.new_entry(LINA, "solution", "客户嫌贵", "", "讲价值")

    domain.ensure_may_vote(written, ZHANG)
    with pytest.raises(domain.OwnEntry) as refused:
        domain.ensure_may_vote(written, LINA)
    assert refused.value.code == "own_entry"
