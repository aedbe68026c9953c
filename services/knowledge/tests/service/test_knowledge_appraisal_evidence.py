"""What the appraisal learns from knowledge, on the real service: a useful vote and a colleague's
read are published once each through the outbox, the accepted answer's author rides on
``alarm_resolved``, and the lists the appraisal's replay asks for say what those events said."""

from datetime import UTC, datetime, timedelta

import eventlet
import pytest

from crm_common.errors import Forbidden, InvalidInput
from knowledge.exceptions import AlreadyVoted

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the frozen clock of conftest.py


def entry(title):
    return {"kind": "faq", "title": title, "solution": "先认同，再讲价值", "tags": ["新人培训"]}


def test_a_vote_and_a_read_are_published_once_and_listed_for_the_replay(
    as_user, users, events, system_call, clock
):
    with as_user(users.wang) as service:
        written = service.create_entry(entry("新人第一周做什么"))
        service.pin_entry(written["id"])
    clock.advance(hours=2)
    with as_user(users.lina) as service:
        service.vote_entry(written["id"])
        with pytest.raises(AlreadyVoted):
            service.vote_entry(written["id"])
        service.get_entry(written["id"])
    with as_user(users.wang) as service:
        service.get_entry(written["id"])  # the author's own read is nobody's evidence

    voted = events.wait_for("entry_voted", entry_id=written["id"])
    read = events.wait_for("entry_read", entry_id=written["id"])
    eventlet.sleep(0.5)  # a second one would have arrived by now
    assert len(events.all_of("entry_voted", entry_id=written["id"])) == 1
    assert len(events.all_of("entry_read", entry_id=written["id"])) == 1
    assert (voted["data"]["author_id"], voted["data"]["voter_id"]) == (users.wang["id"], users.lina["id"])
    assert (read["data"]["reader_id"], read["data"]["pinned"]) == (users.lina["id"], True)

    since = (START + timedelta(hours=1)).isoformat()
    with system_call() as knowledge:
        votes = knowledge.votes_since({"since": since})
        reads = knowledge.reads_since({"since": since})
        written_since = knowledge.entries_since({"since": START.isoformat()})
        assert knowledge.entries_since({"since": since}) == []
        with pytest.raises(InvalidInput):
            knowledge.votes_since({"since": "2026-03-02T09:00:00"})  # no offset: ambiguous
    assert votes == [voted["data"]]
    # knowledge's row of the read: the event's facts under the event's id, at its moment
    assert reads == [{**read["data"], "event_id": read["event_id"], "read_at": read["occurred_at"]}]
    assert [(e["entry_id"], e["author_id"], e["archived"]) for e in written_since] == [
        (written["id"], users.wang["id"], False)
    ]
    with as_user(users.wang) as service, pytest.raises(Forbidden):
        service.votes_since({"since": since})
    with as_user(users.lina) as service, pytest.raises(Forbidden):
        service.reads_since({"since": since})


def test_alarm_resolved_names_the_accepted_answers_author(as_user, users, events):
    with as_user(users.lina) as service:
        raised = service.raise_alarm({"title": "客户压价", "problem": "要再降一成"})
    with as_user(users.zhang) as service:
        answer = service.answer_alarm(raised["id"], {"body": "给阶梯报价"})
    with as_user(users.lina) as service:
        service.resolve_alarm(raised["id"], {"answer_id": answer["id"]})

    resolved = events.wait_for("alarm_resolved", alarm_id=raised["id"])
    assert (resolved["data"]["answer_id"], resolved["data"]["answered_by"]) == (
        answer["id"],
        users.zhang["id"],
    )
