"""The knowledge use cases end to end without a broker or a database: the in-memory store of
``tests/fakes.py`` (held to the real Store by tests/service/test_knowledge_store_contract.py), a
frozen clock, and small stand-ins for accounts' names and customers' readable customers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_common.caller import Caller
from crm_common.clock import FrozenClock
from crm_common.errors import Forbidden
from knowledge import usecases_alarms as alarms
from knowledge import usecases_entries as entries
from knowledge.exceptions import (
    AlarmNotFound,
    AlarmNotOpen,
    AlreadyVoted,
    NotAuthor,
    NotInTeam,
    NotManager,
    NotRaiser,
    OwnEntry,
)
from knowledge.segment import default_segmenter
from knowledge.usecases_search import search_entries
from services.knowledge.tests.fakes import FakeStore

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LINA = Caller(11, "lina", "sales", "east")
ZHANG = Caller(12, "zhang", "sales", "east")
WANG = Caller(10, "wang", "manager", "east")
CHEN = Caller(21, "chen", "sales", "west")
NAMES = {11: "李娜", 12: "张伟", 10: "王经理", 21: "陈静"}


class Names:
    def name_of(self, caller: Caller) -> str:
        return NAMES.get(caller.user_id, caller.username)


class ReadableCustomers:
    """李娜 may read customer 1 only; the real customers service refuses the others."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    def name_of(self, customer_id: int) -> str:
        self.asked.append(customer_id)
        if customer_id != 1:
            raise LookupError(f"customer {customer_id} is not readable")
        return "苏州精工机械有限公司"


@pytest.fixture(scope="module")
def segmenter():
    return default_segmenter()


@pytest.fixture
def store(segmenter):
    return FakeStore(segmenter)


@pytest.fixture
def clock():
    return FrozenClock(START)


def write(store: FakeStore, clock: FrozenClock, author: Caller = LINA, **fields: Any) -> dict:
    data = {
        "kind": "solution",
        "title": "客户嫌贵怎么办",
        "problem": "报价后客户说比竞品贵",
        "solution": "先认同，再讲价值和售后",
        "tags": ["价格"],
        "customer_id": None,
        "industry": None,
        **fields,
    }
    return entries.create_entry(
        store, author, data, clock=clock, people=Names(), customers=ReadableCustomers()
    )


def raise_one(store: FakeStore, clock: FrozenClock, raiser: Caller = LINA, **fields: Any) -> dict:
    data = {"title": "客户嫌贵不签", "problem": "报价后客户说比竞品贵", "customer_id": None, **fields}
    return alarms.raise_alarm(
        store,
        raiser,
        data,
        clock=clock,
        people=Names(),
        customers=ReadableCustomers(),
        segmenter=default_segmenter(),
    )


# --- entries


def test_a_new_entry_is_version_one_credited_by_name_and_published(store, clock) -> None:
    written = write(store, clock)

    assert (written["version"], written["author_name"], written["tags"]) == (1, "李娜", ["价格"])
    assert store.events == [
        (
            "entry_published",
            {
                "entry_id": 1,
                "title": "客户嫌贵怎么办",
                "kind": "solution",
                "author_id": 11,
                "alarm_id": None,
                "tags": ["价格"],
                "team": "east",
            },
        )
    ]


def test_an_entry_about_a_customer_the_author_may_not_read_is_not_written(store, clock) -> None:
    with pytest.raises(LookupError):
        write(store, clock, customer_id=2)

    assert store.entries_by_id == {} and store.events == []


def test_only_the_author_edits_and_every_version_is_kept(store, clock) -> None:
    written = write(store, clock)
    clock.advance(hours=1)

    with pytest.raises(NotAuthor):
        entries.edit_entry(store, ZHANG, written["id"], {"title": "改标题"}, clock=clock)
    edited = entries.edit_entry(store, LINA, written["id"], {"solution": "送一年维保"}, clock=clock)

    assert (edited["version"], edited["solution"]) == (2, "送一年维保")
    assert [v["solution"] for v in entries.entry_versions(store, written["id"])] == [
        "先认同，再讲价值和售后",
        "送一年维保",
    ]


def test_one_useful_vote_per_reader_never_the_author(store, clock) -> None:
    written = write(store, clock)

    with pytest.raises(OwnEntry):
        entries.vote_entry(store, LINA, written["id"], clock=clock)
    assert entries.vote_entry(store, ZHANG, written["id"], clock=clock)["useful_votes"] == 1
    with pytest.raises(AlreadyVoted):
        entries.vote_entry(store, ZHANG, written["id"], clock=clock)


def test_managers_pin_and_archive_and_archived_entries_leave_search(store, clock) -> None:
    written = write(store, clock)

    with pytest.raises(NotManager):
        entries.pin_entry(store, LINA, written["id"], True)
    assert entries.pin_entry(store, WANG, written["id"], True)["pinned"] is True
    assert entries.onboarding(store, 1)["items"][0]["reason"] == "pinned"

    entries.archive_entry(store, WANG, written["id"], True, clock=clock)
    wanted = {"q": "嫌贵", "tag": None, "kind": None, "offset": 0, "limit": 20}
    assert search_entries(store, wanted)["items"] == []
    assert entries.read_entry(store, written["id"])["views"] == 1  # still readable


def test_search_puts_the_entry_with_more_query_terms_first(store, clock) -> None:
    write(store, clock, title="客户嫌贵", solution="讲价值")
    write(store, clock, title="客户嫌贵又压价", solution="讲价值，给阶梯报价")

    found = search_entries(store, {"q": "嫌贵 压价", "tag": None, "kind": None, "offset": 0, "limit": 20})

    assert [item["title"] for item in found["items"]] == ["客户嫌贵又压价", "客户嫌贵"]
    assert "<mark>" in found["items"][0]["highlights"]["title"]


# --- alarms


def test_a_raised_alarm_shows_similar_entries_and_is_published(store, clock) -> None:
    write(store, clock)

    raised = raise_one(store, clock)

    assert (raised["status"], raised["raised_by_name"], raised["team"]) == ("open", "李娜", "east")
    assert [entry["title"] for entry in raised["similar_entries"]] == ["客户嫌贵怎么办"]
    assert store.events[-1][0] == "alarm_raised" and store.events[-1][1]["alarm_id"] == raised["id"]


def test_a_salesperson_without_a_team_cannot_raise_an_alarm(store, clock) -> None:
    with pytest.raises(NotInTeam):
        raise_one(store, clock, raiser=Caller(5, "solo", "sales", None))


def test_the_managers_answer_is_what_the_abandon_rule_is_told(store, clock) -> None:
    raised = raise_one(store, clock, customer_id=1)

    alarms.answer_alarm(store, ZHANG, raised["id"], "先认同", clock=clock, people=Names())
    assert alarms.alarm_for_abandon(store, raised["id"])["manager_answered"] is False
    answer = alarms.answer_alarm(store, WANG, raised["id"], "给阶梯报价", clock=clock, people=Names())

    assert (answer["by_manager"], answer["author_name"]) == (True, "王经理")
    assert alarms.alarm_for_abandon(store, raised["id"]) == {
        "alarm_id": raised["id"],
        "customer_id": 1,
        "raised_by": 11,
        "team": "east",
        "status": "answered",
        "manager_answered": True,
    }
    assert store.events[-1] == (
        "alarm_answered",
        {
            "alarm_id": raised["id"],
            "answer_id": answer["id"],
            "answered_by": 10,
            "answered_by_name": "王经理",
            "by_manager": True,
            "team": "east",
            "raised_by": 11,
            "customer_id": 1,
        },
    )


def test_other_teams_do_not_see_or_answer_an_alarm(store, clock) -> None:
    raised = raise_one(store, clock)

    with pytest.raises(AlarmNotFound):
        alarms.answer_alarm(store, CHEN, raised["id"], "我来帮忙", clock=clock, people=Names())
    with pytest.raises(AlarmNotFound):
        alarms.read_alarm(store, CHEN, raised["id"], segmenter=default_segmenter())


def test_the_raiser_resolves_and_publishes_the_answer_credited_to_its_author(store, clock) -> None:
    raised = raise_one(store, clock)
    answer = alarms.answer_alarm(store, WANG, raised["id"], "给阶梯报价", clock=clock, people=Names())
    resolution = {"answer_id": answer["id"], "publish": True, "tags": ["价格"]}

    with pytest.raises(NotRaiser):
        alarms.resolve_alarm(store, ZHANG, raised["id"], resolution, clock=clock)
    resolved = alarms.resolve_alarm(store, LINA, raised["id"], resolution, clock=clock)

    assert (resolved["status"], resolved["accepted_answer_id"]) == ("resolved", answer["id"])
    assert (resolved["entry"]["author_name"], resolved["entry"]["alarm_id"]) == ("王经理", raised["id"])
    assert resolved["entry_id"] == resolved["entry"]["id"]
    assert [event for event, _data in store.events[-2:]] == ["alarm_resolved", "entry_published"]
    # the accepted answer's author rides along: the appraisal credits them without the earlier event
    assert store.events[-2][1]["answered_by"] == WANG.user_id
    with pytest.raises(AlarmNotOpen):
        alarms.answer_alarm(store, ZHANG, raised["id"], "晚了", clock=clock, people=Names())


def test_stale_alarms_are_the_unresolved_ones_raised_days_ago_for_the_manager(store, clock) -> None:
    old = raise_one(store, clock, title="老问题")
    clock.advance(days=3)
    raise_one(store, clock, title="新问题")

    with pytest.raises(NotManager):
        alarms.stale_alarms(store, LINA, 3, clock=clock)
    assert [alarm["id"] for alarm in alarms.stale_alarms(store, WANG, 3, clock=clock)] == [old["id"]]
    assert [alarm["title"] for alarm in alarms.list_alarms(store, WANG, None, None)] == ["新问题", "老问题"]


# --- what the appraisal learns: votes, reads, and the lists its replay asks for


def test_a_useful_vote_is_published_once_with_the_voter_and_the_author(store, clock) -> None:
    written = write(store, clock)
    clock.advance(hours=1)
    entries.vote_entry(store, ZHANG, written["id"], clock=clock)
    with pytest.raises(AlreadyVoted):
        entries.vote_entry(store, ZHANG, written["id"], clock=clock)

    voted = [data for event, data in store.events if event == "entry_voted"]
    assert voted == [
        {
            "entry_id": written["id"],
            "title": "客户嫌贵怎么办",
            "author_id": LINA.user_id,
            "voter_id": ZHANG.user_id,
            "team": "east",
            "voted_at": "2026-03-02T10:00:00+00:00",
        }
    ]


def test_a_read_by_a_colleague_is_published_and_the_authors_own_is_not(store, clock) -> None:
    written = write(store, clock)
    entries.pin_entry(store, WANG, written["id"], True)

    entries.read_entry(store, written["id"], LINA)  # the author
    entries.read_entry(store, written["id"], None)  # another service
    entries.read_entry(store, written["id"], ZHANG)

    read = [data for event, data in store.events if event == "entry_read"]
    assert read == [
        {
            "entry_id": written["id"],
            "title": "客户嫌贵怎么办",
            "author_id": LINA.user_id,
            "reader_id": ZHANG.user_id,
            "team": "east",
            "pinned": True,
        }
    ]
    assert store.entry(written["id"]).views == 3


def test_votes_and_entries_since_a_moment_for_a_system_caller_or_an_admin(store, clock) -> None:
    first = write(store, clock, title="老经验")
    entries.vote_entry(store, ZHANG, first["id"], clock=clock)
    clock.advance(days=1)
    later = write(store, clock, title="新经验", author=ZHANG)
    entries.archive_entry(store, WANG, later["id"], True, clock=clock)
    entries.vote_entry(store, LINA, later["id"], clock=clock)
    page = {"since": START + timedelta(hours=1), "offset": 0, "limit": 10}

    votes = entries.votes_since(store, None, page)
    written = entries.entries_since(store, Caller(1, "admin", "admin", None), page)

    published = [data for event, data in store.events if event == "entry_published"]
    assert votes == [data for event, data in store.events if event == "entry_voted"][1:]
    assert [(e["entry_id"], e["archived"]) for e in written] == [(later["id"], True)]
    assert {k: v for k, v in written[0].items() if k in published[1]} == {
        k: v for k, v in published[1].items() if k in written[0]
    }
    assert entries.votes_since(store, None, {**page, "offset": 1}) == []
    with pytest.raises(Forbidden):
        entries.votes_since(store, WANG, page)
    with pytest.raises(Forbidden):
        entries.entries_since(store, LINA, page)


def test_reads_since_a_moment_say_what_each_entry_read_said_for_a_system_caller_or_an_admin(
    store, clock
) -> None:
    written = write(store, clock)
    entries.pin_entry(store, WANG, written["id"], True)
    entries.read_entry(store, written["id"], LINA)  # the author's own read: no event, no row
    entries.read_entry(store, written["id"], ZHANG)
    entries.read_entry(store, written["id"], ZHANG)  # read again: a second event, a second row
    page = {"since": START, "offset": 0, "limit": 10}

    reads = entries.reads_since(store, Caller(1, "admin", "admin", None), page)

    said = [data for event, data in store.events if event == "entry_read"]
    assert [{k: v for k, v in read.items() if k not in ("event_id", "read_at")} for read in reads] == said
    assert len({read["event_id"] for read in reads}) == 2
    assert [read["reader_id"] for read in entries.reads_since(store, None, {**page, "offset": 1})] == [
        ZHANG.user_id
    ]
    assert entries.reads_since(store, None, {**page, "since": datetime.now(UTC) + timedelta(days=1)}) == []
    with pytest.raises(Forbidden):
        entries.reads_since(store, WANG, page)
