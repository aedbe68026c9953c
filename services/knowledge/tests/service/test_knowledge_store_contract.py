"""The fake store of the use-case tests (``tests/fakes.py``) and the real :class:`Store` on a real
database (SQLite, and PostgreSQL where CRM_TEST_DB_URL is set) answer the same checks alike, so
the fast tests cannot drift from what production runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from crm_common.caller import Caller
from crm_common.db import UnitOfWork
from knowledge import domain, domain_alarms
from knowledge.constants import AlarmStatus
from knowledge.domain_alarms import AlarmScope
from knowledge.exceptions import AlarmNotFound, AlreadyVoted, EntryNotFound
from knowledge.models import Base
from knowledge.search import Filters
from knowledge.segment import default_segmenter
from knowledge.store import Store
from services.knowledge.tests.fakes import FakeStore

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LINA = Caller(11, "lina", "sales", "east")
WANG = Caller(10, "wang", "manager", "east")
CHEN = Caller(21, "chen", "sales", "west")


@pytest.fixture(params=["fake", "real"])
def store(request, migrated):
    segmenter = default_segmenter()
    if request.param == "fake":
        yield FakeStore(segmenter)
        return
    engine = create_engine(migrated("knowledge"))
    uow = UnitOfWork(
        sessionmaker(bind=engine, expire_on_commit=False, info={"metadata": Base.metadata}), "knowledge"
    )
    yield Store(uow, segmenter)
    uow.rollback()
    uow.close()
    engine.dispose()


def entry(title: str, solution: str = "讲价值", tags: tuple[str, ...] = ("价格",), kind: str = "solution"):
    written = domain.new_entry(LINA, kind, title, "", solution, tags)
    written.author_name = "李娜"
    return written


def test_a_stored_entry_comes_back_as_written_with_its_first_version(store) -> None:
    stored = store.add_entry(entry("客户嫌贵"), NOW)

    again = store.entry(int(stored.entry_id))
    assert again == stored
    assert (again.version, again.author_name, again.tags, again.created_at) == (1, "李娜", ("价格",), NOW)
    assert [v["version"] for v in store.versions(int(stored.entry_id))] == [1]
    with pytest.raises(EntryNotFound):
        store.entry(4242)
    with pytest.raises(EntryNotFound):
        store.entry(2**40)


def test_a_revision_is_the_next_version_and_the_old_one_is_kept(store) -> None:
    stored = store.add_entry(entry("客户嫌贵"), NOW)
    later = NOW + timedelta(hours=1)

    revised = store.revise_entry(
        domain.revise_entry(stored, LINA, solution="送维保", tags=["售后"]), 11, later
    )

    assert (revised.version, revised.solution, revised.tags, revised.updated_at) == (
        2,
        "送维保",
        ("售后",),
        later,
    )
    assert [(v["version"], v["solution"], v["tags"]) for v in store.versions(int(stored.entry_id))] == [
        (1, "讲价值", ["价格"]),
        (2, "送维保", ["售后"]),
    ]


def test_views_votes_pins_and_archiving(store) -> None:
    entry_id = int(store.add_entry(entry("客户嫌贵"), NOW).entry_id)

    assert store.count_view(entry_id).views == 1
    assert store.vote(entry_id, 12, NOW).useful_votes == 1
    with pytest.raises(AlreadyVoted):
        store.vote(entry_id, 12, NOW)
    assert store.set_pinned(entry_id, True).pinned is True
    assert store.set_archived(entry_id, True, NOW).archived is True
    assert store.search("嫌贵", Filters(), 0, 20).items == []


def test_a_read_is_kept_under_its_events_id_and_listed_from_a_moment(store) -> None:
    entry_id = int(store.add_entry(entry("客户嫌贵"), NOW).entry_id)
    before = datetime.now(UTC) - timedelta(seconds=1)

    store.record_read(entry_id, 12, {"entry_id": entry_id, "reader_id": 12})
    store.record_read(entry_id, 13, {"entry_id": entry_id, "reader_id": 13})

    reads = store.reads_since(before, 0, 10)
    assert [(e.entry_id, reader) for e, reader, _at, _id in reads] == [(entry_id, 12), (entry_id, 13)]
    assert all(at >= before for _e, _r, at, _id in reads) and len({i for *_rest, i in reads}) == 2
    assert [reader for _e, reader, _at, _id in store.reads_since(before, 1, 10)] == [13]
    assert store.reads_since(datetime.now(UTC) + timedelta(days=1), 0, 10) == []


def test_search_ranks_by_terms_then_votes_and_filters_by_kind_and_tag(store) -> None:
    one_term = int(store.add_entry(entry("客户嫌贵"), NOW).entry_id)
    two_terms = int(store.add_entry(entry("客户嫌贵又压价"), NOW).entry_id)
    voted = int(store.add_entry(entry("压价的老客户", tags=("老客户",), kind="faq"), NOW).entry_id)
    store.add_entry(entry("回款慢", solution="按合同催"), NOW)
    store.vote(voted, 12, NOW)

    page = store.search("嫌贵 压价", Filters(), 0, 20)
    assert [(item.entry.entry_id, item.relevance) for item in page.items] == [
        (two_terms, 2),
        (voted, 1),
        (one_term, 1),
    ]
    assert "<mark>" in page.items[0].highlights["title"]
    assert [item.entry.entry_id for item in store.search("压价", Filters(kind="faq"), 0, 20).items] == [voted]
    assert [item.entry.entry_id for item in store.search(None, Filters(tag="老客户"), 0, 20).items] == [voted]
    first = store.search("嫌贵 压价", Filters(), 0, 2)
    assert (len(first.items), first.has_more) == (2, True)
    assert [(found.entry_id, sorted(terms) != []) for found, terms in store.entry_candidates("压价", 5)] == [
        (voted, True),
        (two_terms, True),
    ]


def test_onboarding_candidates_hold_the_pinned_and_the_best_of_each_tag(store) -> None:
    pinned = int(store.add_entry(entry("开场白", tags=("新人",)), NOW).entry_id)
    best = int(store.add_entry(entry("客户嫌贵"), NOW).entry_id)
    store.set_pinned(pinned, True)
    store.vote(best, 12, NOW)

    items = domain.onboarding(store.onboarding_candidates(1), per_tag=1)

    assert [(item.reason, item.tag, item.entry.entry_id) for item in items] == [
        ("pinned", None, pinned),
        ("most_useful", "价格", best),
    ]


def test_an_alarm_its_answers_and_its_resolution_are_kept(store) -> None:
    raised = domain_alarms.raise_alarm(LINA, "客户嫌贵不签", "比竞品贵", NOW, 7)
    raised.raised_by_name, raised.customer_name = "李娜", "苏州精工"
    alarm = store.add_alarm(raised)
    alarm_id = int(alarm.alarm_id)
    answer = alarm.answer(WANG, "给阶梯报价", NOW)
    answer = store.add_answer(alarm, domain_alarms.Answer(**{**answer.__dict__, "author_name": "王经理"}))

    stored = store.alarm(alarm_id)
    assert (stored.status, stored.manager_answered, stored.customer_name) == (
        AlarmStatus.ANSWERED,
        True,
        "苏州精工",
    )
    assert [(a.answer_id, a.alarm_id, a.author_name) for a in stored.answers] == [
        (answer.answer_id, alarm_id, "王经理")
    ]

    accepted = stored.resolve(LINA, answer.answer_id, NOW)
    resolved, published = store.save_resolution(
        stored, domain_alarms.entry_from_answer(stored, accepted), NOW
    )
    assert (resolved.status, resolved.accepted_answer_id, resolved.entry_id) == (
        AlarmStatus.RESOLVED,
        answer.answer_id,
        published.entry_id,
    )
    assert (published.author_name, published.source_alarm_id, published.version) == ("王经理", alarm_id, 1)
    with pytest.raises(AlarmNotFound):
        store.alarm(4242)


def test_alarm_listings_and_similar_alarms_stay_in_scope(store) -> None:
    first = store.add_alarm(domain_alarms.raise_alarm(LINA, "客户嫌贵", "比竞品贵", NOW))
    second = store.add_alarm(
        domain_alarms.raise_alarm(WANG, "客户嫌贵又压价", "要降价", NOW + timedelta(days=1))
    )
    store.add_alarm(domain_alarms.raise_alarm(CHEN, "客户嫌贵", "西区的", NOW))

    assert [a.alarm_id for a in store.alarms(AlarmScope(team="east"))] == [second.alarm_id, first.alarm_id]
    assert [a.alarm_id for a in store.alarms(AlarmScope(raised_by=11), "open")] == [first.alarm_id]
    assert [a.alarm_id for a in store.alarms(AlarmScope(), "resolved")] == []
    similar = store.alarm_candidates(second, ["嫌贵"], 10)
    assert [(other.alarm_id, "嫌贵" in terms) for other, terms in similar] == [(first.alarm_id, True)]
