"""The evidence customers, notify and knowledge now publish, through the real appraisal service
and database: each event handled once into evidence, counted by a team's scheme that uses the new
metrics, drilled down (a useful vote credits the entry's author), malformed data dropped."""

from appraisal_support import LI, WANG, ZHAO, ZHOU, at, by_key, call, publish
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

from crm_common.outbox import envelope

SCHEME = [
    {
        "key": "punctuality",
        "name": "守时",
        "weight": 50,
        "manager_share": 0,
        "metrics": [
            {"metric": "followups_on_time", "par": "2"},
            {"metric": "reminders_acknowledged_in_time", "par": "1"},
        ],
    },
    {
        "key": "knowledge",
        "name": "专业知识",
        "weight": 50,
        "manager_share": 0,
        "metrics": [
            {"metric": "useful_votes", "par": "2"},
            {"metric": "onboarding_read", "par": "1"},
            {"metric": "answers_accepted", "par": "1"},
        ],
    },
]


def followup(c, cfg, n, on_time, when):
    publish(c, cfg, "customers", "followup_recorded", when, "on_followup_recorded", followup_id=n,
            customer_id=5, recorded_by=LI[0], kind="visit", occurred_at=at(when).isoformat(),
            recorded_at=at(when).isoformat(), revisit_at=at("2026-11-01T02:00:00").isoformat(),
            on_time=on_time)  # fmt: skip


def test_the_new_evidence_feeds_the_new_metrics(appraisal, service_config):
    c, cfg = appraisal, service_config
    followup(c, cfg, 1, True, "2026-10-30T02:00:00")
    followup(c, cfg, 2, False, "2026-11-03T02:00:00")
    for reminder, escalated in ((21, None), (22, "2026-10-08T01:30:00")):
        if escalated:
            publish(c, cfg, "notify", "reminder_escalated", escalated, "on_reminder_escalated",
                    reminder_id=reminder, owner_id=LI[0], sms_id=1)  # fmt: skip
        publish(c, cfg, "notify", "reminder_acknowledged", "2026-10-08T02:00:00", "on_reminder_acknowledged",
                reminder_id=reminder, owner_id=LI[0], team="east", title="回访", kind="manual", customer_id=None,
                due_at="2026-10-08T01:00:00+00:00", acknowledged_at="2026-10-08T02:00:00+00:00",
                escalated_at=at(escalated).isoformat() if escalated else None,
                before_escalation=escalated is None)  # fmt: skip
    for voter, entry in ((WANG, 31), (ZHAO, 31), (WANG, 32)):
        publish(c, cfg, "knowledge", "entry_voted", "2026-10-09T01:00:00", "on_entry_voted", entry_id=entry,
                title="阶梯报价", author_id=LI[0], voter_id=voter[0], team="east",
                voted_at="2026-10-09T01:00:00+00:00")  # fmt: skip
    for n in (1, 2):  # the same read twice: one row
        publish(c, cfg, "knowledge", "entry_read", f"2026-10-1{n}T01:00:00", "on_entry_read", entry_id=33,
                title="新人第一周", author_id=ZHOU[0], reader_id=LI[0], team="east", pinned=True)  # fmt: skip
    publish(c, cfg, "knowledge", "alarm_resolved", "2026-10-13T01:00:00", "on_alarm_resolved", alarm_id=41,
            answer_id=42, answered_by=LI[0], entry_id=None, team="east", raised_by=WANG[0],
            customer_id=None)  # fmt: skip
    # malformed: no voter; a moment without its offset. Dropped (logged), never retried
    publish(c, cfg, "knowledge", "entry_voted", "2026-10-09T01:00:00", "on_entry_voted", entry_id=34,
            title="x", author_id=LI[0], team="east", voted_at="2026-10-09T01:00:00+00:00")  # fmt: skip
    publish(c, cfg, "customers", "followup_recorded", "2026-10-09T01:00:00", "on_followup_recorded",
            followup_id=9, customer_id=5, recorded_by=LI[0], kind="call", occurred_at="2026-10-09T01:00:00",
            on_time=True)  # fmt: skip

    call(cfg, ZHOU, "set_scheme", {"indicators": SCHEME})
    cards = {card["person_id"]: card for card in call(cfg, ZHOU, "compute_scorecards", {"period": "2026-Q4"})}
    li = {m["metric"]: m["value"] for i in by_key(cards[LI[0]]).values() for m in i["metrics"]}
    assert li == {
        "followups_on_time": "1.0000",
        "reminders_acknowledged_in_time": "0.5000",
        "useful_votes": "3.0000",
        "onboarding_read": "1.0000",
        "answers_accepted": "1.0000",
    }
    # punctuality (1/2 → 50, 0.5 → 50) 50; knowledge (100, 100, 100) 100: 75.0
    assert cards[LI[0]]["total"] == "75.0"
    wang = {m["metric"]: m["value"] for i in by_key(cards[WANG[0]]).values() for m in i["metrics"]}
    assert wang["useful_votes"] == "0.0000"  # his votes credit Li, not him

    votes = call(cfg, ZHOU, "scorecard_evidence", cards[LI[0]]["id"], {"metric": "useful_votes"})
    assert sorted((e["kind"], e["ref_id"]) for e in votes) == [("entry_voted", 31), ("entry_voted", 31),
                                                              ("entry_voted", 32)]  # fmt: skip
    on_time = call(cfg, ZHOU, "scorecard_evidence", cards[LI[0]]["id"], {"metric": "followups_on_time"})
    assert [(e["kind"], e["ref_id"], e["day"]) for e in on_time] == [("followup", 1, "2026-10-30")]


def test_an_acknowledgement_delivered_twice_counts_once(appraisal, service_config):
    data = dict(reminder_id=21, owner_id=LI[0], team="east", title="回访", kind="manual", customer_id=None,
                due_at="2026-10-08T01:00:00+00:00", acknowledged_at="2026-10-08T02:00:00+00:00",
                escalated_at=None, before_escalation=True)  # fmt: skip
    event = envelope("reminder_acknowledged", data, "notify", at("2026-10-08T02:00:00"))
    for _ in range(2):
        with entrypoint_waiter(appraisal, "on_reminder_acknowledged", timeout=10):
            event_dispatcher(service_config)("notify", "reminder_acknowledged", event)
    call(service_config, ZHOU, "set_scheme", {"indicators": SCHEME})
    [li] = [
        c
        for c in call(service_config, ZHOU, "compute_scorecards", {"period": "2026-Q4"})
        if c["person_id"] == 11
    ]
    rows = call(
        service_config, ZHOU, "scorecard_evidence", li["id"], {"metric": "reminders_acknowledged_in_time"}
    )
    assert [(e["kind"], e["ref_id"]) for e in rows] == [("reminder_acknowledged", 21)]
