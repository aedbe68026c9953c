"""The evidence customers, notify and knowledge publish for the appraisal (follow-ups on time,
reminders acknowledged before the SMS, useful votes, onboarding reads, the accepted answer's
author) on the fake store: recorded once, counted into the metrics, malformed data dropped, and a
replay from the owners' lists writing the very rows the events wrote."""

from datetime import UTC, date, datetime
from decimal import Decimal

from appraisal_fakes import ZONE, FakeStore, event

from appraisal import domain
from appraisal.constants import Kind, Metric
from appraisal.usecases_evidence import record
from appraisal.usecases_replay import replay
from appraisal.usecases_scorecards import gather_facts

Q4 = domain.parse_period("2026-Q4")
LI, SUN, WANG = 11, 12, 10
MEMBERS = [{"id": LI, "role": "sales"}, {"id": SUN, "role": "sales"}, {"id": WANG, "role": "manager"}]

FOLLOWUPS = [
    # Li kept the revisit date, then visited late; Sun called a customer with no revisit planned
    dict(followup_id=1, customer_id=5, recorded_by=LI, kind="visit", occurred_at="2026-10-05T02:00:00+00:00",
         recorded_at="2026-10-05T03:00:00+00:00", revisit_at="2026-10-06T02:00:00+00:00", on_time=True),
    dict(followup_id=2, customer_id=5, recorded_by=LI, kind="visit", occurred_at="2026-11-05T02:00:00+00:00",
         recorded_at="2026-11-05T02:00:00+00:00", revisit_at="2026-11-01T02:00:00+00:00", on_time=False),
    dict(followup_id=3, customer_id=6, recorded_by=SUN, kind="call", occurred_at="2026-11-06T02:00:00+00:00",
         recorded_at="2026-11-06T02:00:00+00:00", revisit_at=None, on_time=None),
]  # fmt: skip
ACKS = [
    dict(reminder_id=21, owner_id=LI, team="east", title="回访", kind="manual", customer_id=None,
         due_at="2026-10-07T01:00:00+00:00", acknowledged_at="2026-10-07T01:05:00+00:00",
         escalated_at=None, before_escalation=True),
    dict(reminder_id=22, owner_id=LI, team="east", title="报价", kind="manual", customer_id=None,
         due_at="2026-10-08T01:00:00+00:00", acknowledged_at="2026-10-08T02:00:00+00:00",
         escalated_at="2026-10-08T01:30:00+00:00", before_escalation=False),
]  # fmt: skip
VOTES = [
    dict(entry_id=31, title="阶梯报价", author_id=LI, voter_id=SUN, team="east", voted_at="2026-10-09T01:00:00+00:00"),
    dict(entry_id=31, title="阶梯报价", author_id=LI, voter_id=WANG, team="east", voted_at="2026-10-10T01:00:00+00:00"),
    dict(entry_id=32, title="竞品", author_id=LI, voter_id=SUN, team="east", voted_at="2026-10-11T01:00:00+00:00"),
]  # fmt: skip
# customers' entered_since: 51 went from Li to Sun since (list_customers shows Sun); 52 entered
# into the pool (no owner: nobody's evidence, no event on the bus below)
ENTERED = [
    dict(customer_id=51, name="远航物流", owner_id=LI, team="east", entered_by=WANG,
         entered_at="2026-10-03T01:00:00+00:00"),
    dict(customer_id=52, name="金顺五金", owner_id=None, team="east", entered_by=WANG,
         entered_at="2026-10-04T01:00:00+00:00"),
]  # fmt: skip
READS = [
    dict(entry_id=31, title="阶梯报价", author_id=LI, reader_id=SUN, team="east", pinned=True),
    dict(entry_id=33, title="闲聊", author_id=WANG, reader_id=SUN, team="east", pinned=False),
]


def bus(store):
    """Every event as the owners publish it (envelope time a moment after the fact)."""
    for n, data in enumerate(FOLLOWUPS):
        record(store, "customers", event("customers", "followup_recorded", "2026-11-10T00:00:00", f"f{n}", **data),
               zone=ZONE)  # fmt: skip
    for n, data in enumerate(ACKS):
        when = data["acknowledged_at"][:19]
        record(store, "notify", event("notify", "reminder_acknowledged", when, f"k{n}", **data), zone=ZONE)
    record(store, "notify", event("notify", "reminder_escalated", "2026-10-08T01:30:00", "x", reminder_id=22,
                                  owner_id=LI, sms_id=1), zone=ZONE)  # fmt: skip
    for n, data in enumerate(VOTES):
        record(store, "knowledge", event("knowledge", "entry_voted", data["voted_at"][:19], f"v{n}", **data),
               zone=ZONE)  # fmt: skip
    for n, data in enumerate(ENTERED[:1]):
        record(store, "customers", event("customers", "customer_created", data["entered_at"][:19], f"c{n}", **data),
               zone=ZONE)  # fmt: skip
    for n, data in enumerate(READS):
        record(store, "knowledge", event("knowledge", "entry_read", "2026-10-12T01:00:00", f"r{n}", **data),
               zone=ZONE)  # fmt: skip
    resolved = dict(alarm_id=41, answer_id=42, answered_by=SUN, entry_id=None, team="east", raised_by=LI,
                    customer_id=None)  # fmt: skip
    record(
        store,
        "knowledge",
        event("knowledge", "alarm_resolved", "2026-10-13T01:00:00", "z", **resolved),
        zone=ZONE,
    )


def test_each_event_is_recorded_once_and_counted():
    store = FakeStore()
    bus(store)
    rows = len(store.rows)
    bus(store)  # delivered again: nothing new
    assert len(store.rows) == rows == 3 + 3 + 3 + 2 + 2 + 1

    facts = gather_facts(store, "east", MEMBERS, Q4)
    li, sun = facts[LI], facts[SUN]
    assert (li.followups, li.followups_on_time, sun.followups, sun.followups_on_time) == (2, 1, 1, 0)
    assert (li.reminders_acknowledged_in_time, li.reminders_escalated) == (1, 1)
    assert (li.useful_votes, sun.useful_votes, facts[WANG].useful_votes) == (3, 0, 0)
    assert (sun.onboarding_read, sun.answers_accepted) == (1, 1)  # the accepted answer, named on resolution
    values = domain.metric_values(li, is_manager=False)
    assert values[Metric.REMINDERS_ACKNOWLEDGED_IN_TIME] == Decimal("0.5")
    assert (values[Metric.FOLLOWUPS_ON_TIME], values[Metric.USEFUL_VOTES]) == (1, 3)
    # a follow-up counts on the day it happened (Shanghai), not the day the event went out
    assert next(r for r in store.rows if r["kind"] == Kind.FOLLOWUP and r["ref_id"] == 1)["day"] == date(
        2026, 10, 5
    )


def test_what_cannot_be_read_is_dropped():
    store = FakeStore()
    no_voter = {k: v for k, v in VOTES[0].items() if k != "voter_id"}
    bad_moment = {**ACKS[0], "acknowledged_at": "yesterday"}
    naive = {**FOLLOWUPS[0], "occurred_at": "2026-10-05T02:00:00"}
    own_vote = {**VOTES[0], "voter_id": LI}
    old_resolution = dict(
        alarm_id=41, answer_id=42, entry_id=None, team="east", raised_by=LI, customer_id=None
    )

    assert record(store, "knowledge", event("knowledge", "entry_voted", "2026-10-09T01:00:00", "a", **no_voter),
                  zone=ZONE) is False  # fmt: skip
    assert record(store, "notify", event("notify", "reminder_acknowledged", "2026-10-09T01:00:00", "b",
                                         **bad_moment), zone=ZONE) is False  # fmt: skip
    assert record(store, "customers", event("customers", "followup_recorded", "2026-10-09T01:00:00", "c", **naive),
                  zone=ZONE) is False  # fmt: skip
    assert record(store, "knowledge", event("knowledge", "entry_voted", "2026-10-09T01:00:00", "d", **own_vote),
                  zone=ZONE) is False  # fmt: skip
    # an alarm_resolved from before knowledge named the answerer: the raiser's row only
    assert record(store, "knowledge", event("knowledge", "alarm_resolved", "2026-10-13T01:00:00", "e",
                                            **old_resolution), zone=ZONE) is True  # fmt: skip
    assert [r["kind"] for r in store.rows] == [Kind.ALARM_RESOLVED]


class Owners:
    """The owners' list RPCs as they answer (knowledge's alarm with the accepted answer)."""

    def opportunities(self, status):
        return []

    def targets(self):
        return []

    def customers(self, since):
        assert since == datetime(2026, 10, 1, tzinfo=ZONE)
        return ENTERED

    def reminders(self):
        reminders = [
            {"id": a["reminder_id"], "owner_id": a["owner_id"], "team": a["team"], "title": a["title"],
             "fired_at": None, "acknowledged_at": a["acknowledged_at"], "escalated_at": a["escalated_at"]}
            for a in ACKS
        ]  # fmt: skip
        return reminders

    def alarms(self):
        return [{"id": 41, "raised_by": LI, "team": "east", "title": "压价", "raised_at": "2026-10-01T01:00:00+00:00",
                 "accepted_answer_id": 42, "resolved_at": "2026-10-13T01:00:00+00:00", "answer_count": 1}]  # fmt: skip

    def answers(self, alarm_id):
        return [{"id": 42, "author_id": SUN, "answered_at": "2026-10-02T01:00:00+00:00"}]

    def entries(self, since):
        return []

    def votes(self, since):
        assert since == datetime(2026, 10, 1, tzinfo=ZONE)
        return VOTES

    def followups(self, since):
        return FOLLOWUPS

    def reads(self, since):
        # knowledge's entry_reads: each read under its entry_read's id, at the envelope's moment
        assert since == datetime(2026, 10, 1, tzinfo=ZONE)
        return [
            {**data, "event_id": f"r{n}", "read_at": "2026-10-12T01:00:00+00:00"}
            for n, data in enumerate(READS)
        ]


def test_a_replay_from_the_owners_writes_the_rows_the_events_wrote():
    by_events, replayed = FakeStore(), FakeStore()
    bus(by_events)

    reports = {r.kind: r for r in replay(replayed, Owners(), date(2026, 10, 1), zone=ZONE)}

    def rows(store, kinds):
        keep = ("kind", "ref_id", "person_id", "team", "day", "related_id", "flag", "label", "occurred_at")
        return sorted(
            (tuple(r[k] for k in keep) for r in store.rows if r["kind"] in kinds),
            key=lambda row: (row[0], row[1], row[2]),
        )

    kinds = {
        Kind.FOLLOWUP,
        Kind.REMINDER_ACKNOWLEDGED,
        Kind.ENTRY_VOTED,
        Kind.ANSWER_ACCEPTED,
        Kind.ENTRY_READ,
        Kind.CUSTOMER_CREATED,
    }
    assert rows(replayed, kinds) == rows(by_events, kinds)
    # the reads under the very events' ids, the pinned one flagged
    reads = sorted(
        (r["ref_id"], r["source_event_id"], r["flag"]) for r in replayed.rows if r["kind"] == Kind.ENTRY_READ
    )
    assert reads == [(31, "r0", True), (33, "r1", False)]
    assert reads == sorted(
        (r["ref_id"], r["source_event_id"], r["flag"]) for r in by_events.rows if r["kind"] == Kind.ENTRY_READ
    )
    for kind in kinds:
        assert reports[kind].complete and reports[kind].found == reports[kind].added > 0, reports[kind]
    # the customer that changed hands: credited to Li, who entered it, as customer_created said
    assert [(r["ref_id"], r["person_id"]) for r in replayed.rows if r["kind"] == Kind.CUSTOMER_CREATED] == [
        (51, LI)
    ]
    assert reports[Kind.ENTRY_PUBLISHED].complete  # entries_since lists archived ones too
    # the same again: nothing added
    again = {r.kind: r for r in replay(replayed, Owners(), date(2026, 10, 1), zone=ZONE)}
    assert all(again[kind].added == 0 for kind in kinds)
    assert datetime(2026, 10, 5, 2, tzinfo=UTC) in [r["occurred_at"] for r in replayed.rows]
