"""Difficulty alarms (困难报警) through the real service and database: raising with similar cases,
answering, resolving into knowledge, the refusals, and the facts the abandon rule asks for."""

import pytest

from crm_common.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from knowledge.exceptions import (
    AlarmNotFound,
    AlarmNotOpen,
    AnswerNotOfAlarm,
    NotInTeam,
    NotManager,
    NotRaiser,
)

pytestmark = pytest.mark.usefixtures("customers")

STUCK = {
    "title": "客户嫌贵不肯签合同",
    "problem": "报价发过去以后，采购经理说比竞品贵了两成，要求再降价",
    "customer_id": 1,  # 李娜's customer (tests/service/conftest.py)
}


def entry(title, solution, tags=()):
    return {"kind": "solution", "title": title, "problem": "", "solution": solution, "tags": list(tags)}


def test_an_alarm_is_answered_at_once_with_similar_entries_and_past_alarms(as_user, users, clock):
    with as_user(users.wang) as service:
        price = service.create_entry(
            entry("客户嫌贵怎么办", "先认同，再讲价值，最后给阶梯报价", ["价格异议"])
        )
        service.create_entry(entry("客户不回微信", "换个时间打电话"))
        service.create_entry(entry("展会开场白", "先问今年的采购计划"))
    with as_user(users.zhang) as service:
        earlier = service.raise_alarm({"title": "客户嫌贵要降价", "problem": "竞品便宜一成，客户嫌贵"})
    clock.advance(days=1)
    with as_user(users.lina) as service:
        raised = service.raise_alarm(STUCK)

    assert raised["status"] == "open" and raised["team"] == "east"
    assert raised["customer_name"] == "苏州精工机械有限公司" and raised["raised_by_name"] == "李娜"
    assert raised["similar_entries"][0]["id"] == price["id"]
    assert "嫌贵" in raised["similar_entries"][0]["matched_terms"]
    assert "展会开场白" not in [similar["title"] for similar in raised["similar_entries"]]
    assert [similar["id"] for similar in raised["similar_alarms"]] == [earlier["id"]]


def test_alarm_raised_tells_notify_who_and_which_team(as_user, users, events):
    with as_user(users.lina) as service:
        raised = service.raise_alarm(STUCK)

    event = events.wait_for("alarm_raised", alarm_id=raised["id"])
    assert event["data"] == {
        "alarm_id": raised["id"],
        "title": STUCK["title"],
        "problem": STUCK["problem"],
        "customer_id": 1,
        "customer_name": "苏州精工机械有限公司",
        "raised_by": users.lina["id"],
        "raised_by_name": "李娜",
        "team": "east",
    }


def test_an_alarm_about_someone_elses_customer_is_refused(as_user, users):
    with as_user(users.lina) as service:
        with pytest.raises(Forbidden):
            service.raise_alarm({**STUCK, "customer_id": 2})  # zhang's customer
        with pytest.raises(NotFound):
            service.raise_alarm({**STUCK, "customer_id": 999})
        with pytest.raises(InvalidInput) as blank:
            service.raise_alarm({**STUCK, "problem": "  "})
    assert blank.value.code == "blank_field"


def test_managers_answer_is_flagged_and_reported_to_the_abandon_rule(as_user, users, events, system_call):
    with as_user(users.lina) as service:
        raised = service.raise_alarm(STUCK)
    with system_call() as service:
        before = service.alarm_for_abandon(raised["id"])
    with as_user(users.zhang) as service:
        colleague = service.answer_alarm(raised["id"], {"body": "送样试用两周"})
    with system_call() as service:
        after_colleague = service.alarm_for_abandon(raised["id"])
    with as_user(users.wang) as service:
        manager = service.answer_alarm(raised["id"], {"body": "我陪你上门，讲清楚售后的价值"})
    with system_call() as service:
        after_manager = service.alarm_for_abandon(raised["id"])

    assert (colleague["by_manager"], manager["by_manager"]) == (False, True)
    assert before == {
        "alarm_id": raised["id"],
        "customer_id": 1,
        "raised_by": users.lina["id"],
        "team": "east",
        "status": "open",
        "manager_answered": False,
    }
    assert (after_colleague["status"], after_colleague["manager_answered"]) == ("answered", False)
    assert after_manager["manager_answered"] is True
    answered = events.wait_for("alarm_answered", answer_id=manager["id"])
    assert answered["data"]["by_manager"] is True and answered["data"]["answered_by_name"] == "王经理"
    assert answered["data"]["raised_by"] == users.lina["id"] and answered["data"]["team"] == "east"


def test_alarm_for_abandon_of_an_unknown_alarm_is_not_found(system_call):
    with system_call() as service, pytest.raises(NotFound):
        service.alarm_for_abandon(4242)


def test_the_raiser_resolves_and_publishes_the_answer_as_searchable_knowledge(as_user, users, events):
    with as_user(users.lina) as service:
        raised = service.raise_alarm(STUCK)
    with as_user(users.wang) as service:
        answer = service.answer_alarm(raised["id"], {"body": "拆分报价单，突出售后和交期的价值"})
    with as_user(users.lina) as service:
        resolved = service.resolve_alarm(
            raised["id"], {"answer_id": answer["id"], "publish": True, "tags": ["价格异议"]}
        )
        found = service.search_entries({"q": "拆分报价单"})

    published = resolved["entry"]
    assert resolved["status"] == "resolved" and resolved["accepted_answer_id"] == answer["id"]
    assert resolved["entry_id"] == published["id"]
    assert (published["alarm_id"], published["author_id"], published["author_name"]) == (
        raised["id"],
        users.wang["id"],
        "王经理",
    )
    assert [item["id"] for item in found["items"]] == [published["id"]]
    assert events.wait_for("alarm_resolved", alarm_id=raised["id"])["data"]["entry_id"] == published["id"]
    assert events.wait_for("entry_published", entry_id=published["id"])["data"]["alarm_id"] == raised["id"]


def test_resolving_without_publishing_adds_no_entry(as_user, users):
    with as_user(users.lina) as service:
        raised = service.raise_alarm(STUCK)
    with as_user(users.zhang) as service:
        answer = service.answer_alarm(raised["id"], {"body": "送样试用两周"})
    with as_user(users.lina) as service:
        resolved = service.resolve_alarm(raised["id"], {"answer_id": answer["id"]})
        found = service.search_entries({"q": "送样"})
    assert resolved["entry"] is None and resolved["entry_id"] is None
    assert found["items"] == []


def test_refusals_around_answering_and_resolving(as_user, users):
    with as_user(users.lina) as service:
        raised = service.raise_alarm(STUCK)
        other = service.raise_alarm({"title": "回款拖了三个月", "problem": "财务说老板没签字"})
    with as_user(users.wang) as service:
        answer = service.answer_alarm(raised["id"], {"body": "我陪你上门"})
        other_answer = service.answer_alarm(other["id"], {"body": "先对账"})
        with pytest.raises(NotRaiser) as not_raiser:
            service.resolve_alarm(raised["id"], {"answer_id": answer["id"]})
    with as_user(users.chen) as service, pytest.raises(AlarmNotFound):
        service.answer_alarm(raised["id"], {"body": "外队的建议"})  # another team does not see it
    with as_user(users.lina) as service:
        with pytest.raises(AnswerNotOfAlarm) as not_of_alarm:
            service.resolve_alarm(raised["id"], {"answer_id": other_answer["id"]})
        service.resolve_alarm(raised["id"], {"answer_id": answer["id"]})
        with pytest.raises(AlarmNotOpen) as resolved_twice:
            service.resolve_alarm(raised["id"], {"answer_id": answer["id"]})
    with as_user(users.zhang) as service, pytest.raises(AlarmNotOpen) as late_answer:
        service.answer_alarm(raised["id"], {"body": "晚到的回答"})

    assert not_raiser.value.code == "not_raiser"
    assert not_of_alarm.value.code == "answer_not_of_alarm"
    assert resolved_twice.value.code == late_answer.value.code == "alarm_not_open"


def test_an_admin_outside_the_team_sees_the_alarm_but_may_not_answer(as_user, users):
    with as_user(users.lina) as service:
        raised = service.raise_alarm(STUCK)
    with as_user(users.admin) as service:
        seen = service.get_alarm(raised["id"])
        with pytest.raises(NotInTeam) as refused:
            service.answer_alarm(raised["id"], {"body": "admin 的建议"})
    assert seen["id"] == raised["id"] and refused.value.code == "not_in_team"


def test_salespeople_list_their_own_alarms_and_managers_the_teams(as_user, users):
    with as_user(users.lina) as service:
        mine = service.raise_alarm(STUCK)
    with as_user(users.zhang) as service:
        colleagues = service.raise_alarm({"title": "回款拖了三个月", "problem": "财务说老板没签字"})
    with as_user(users.chen) as service:
        service.raise_alarm({"title": "西区客户嫌贵", "problem": "竞品便宜"})

    with as_user(users.lina) as service:
        own = service.list_alarms({})
        team = service.list_alarms({"scope": "team"})
        colleagues_alarm = service.get_alarm(colleagues["id"])
    with as_user(users.wang) as service:
        managed = service.list_alarms({})
        open_ones = service.list_alarms({"status": "resolved"})

    assert [alarm["id"] for alarm in own] == [mine["id"]]
    assert {alarm["id"] for alarm in team} == {mine["id"], colleagues["id"]}
    assert colleagues_alarm["answers"] == []
    assert {alarm["id"] for alarm in managed} == {mine["id"], colleagues["id"]}
    assert open_ones == []


def test_manager_sees_alarms_left_unresolved_for_days(as_user, users, clock):
    with as_user(users.lina) as service:
        old = service.raise_alarm(STUCK)
        handled = service.raise_alarm({"title": "回款拖了三个月", "problem": "财务说老板没签字"})
    with as_user(users.wang) as service:
        answer = service.answer_alarm(handled["id"], {"body": "先对账"})
    with as_user(users.lina) as service:
        service.resolve_alarm(handled["id"], {"answer_id": answer["id"]})
    clock.advance(days=2)
    with as_user(users.zhang) as service:
        recent = service.raise_alarm({"title": "客户换了采购负责人", "problem": "新人不认旧报价"})
    clock.advance(days=2)

    with as_user(users.wang) as service:
        default_days = service.stale_alarms({})
        one_day = service.stale_alarms({"days": 1})
    with as_user(users.zhao) as service:
        other_team = service.stale_alarms({})
    with as_user(users.lina) as service, pytest.raises(NotManager):
        service.stale_alarms({})

    assert [alarm["id"] for alarm in default_days] == [old["id"]]
    assert [alarm["id"] for alarm in one_day] == [old["id"], recent["id"]]
    assert other_team == []


def test_calls_without_a_user_are_refused(system_call):
    with system_call() as service, pytest.raises(Unauthenticated):
        service.raise_alarm(STUCK)
