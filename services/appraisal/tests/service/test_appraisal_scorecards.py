"""A quarter of activity by three salespeople and their manager, published on the bus as the other
services publish it (``appraisal_quarter``), becomes scorecards whose every number is worked out by
hand below; a team's own scheme, and an event delivered twice. Publishing, disputes, reviews,
visibility and bad input: ``test_appraisal_review``."""

from appraisal_quarter import quarter_of_activity
from appraisal_support import ADMIN, LI, WANG, ZHAO, ZHOU, by_key, call, publish, refused, scores
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter


def test_a_quarter_becomes_scorecards_checked_by_hand(appraisal, service_config, listener):
    quarter_of_activity(appraisal, service_config)
    cards = call(service_config, ZHOU, "compute_scorecards", {"period": "2026-Q4"})
    card = {c["person_id"]: c for c in cards}
    assert sorted(card) == [11, 12, 13]  # the manager's own card is not shown to himself
    li, wang, zhao = card[11], card[12], card[13]

    # 李雷: won 80000 + 40000 (the 99999 of 30 Sep is Q3) ÷ target 100000 = 1.2 → 100;
    # customers 2/10 → 20; objective (4×100 + 20)/5 = 84
    assert li["won_amount"] == "120000.00" and li["target"] == "100000.00"
    assert by_key(li)["attainment"]["objective"] == "84.0"
    # answers for colleagues 2/5 → 40; reminders (4 − 1)/4 → 75; objective 57.5
    assert by_key(li)["teamwork"]["objective"] == "57.5"
    # accepted answers 1/3 → 33.3; entries from alarms 1/2 → 50; objective 41.7
    assert by_key(li)["innovation"]["objective"] == "41.7"
    # entries 1/3 → 33.3
    assert by_key(li)["knowledge"]["objective"] == "33.3"
    assert by_key(li)["leadership"]["objective"] is None and by_key(li)["leadership"]["manager_share"] == 100
    assert li["total"] is None and li["state"] == "draft" and len(li["missing"]) == 5

    # 王芳: 50000 ÷ (30000 + 30000 + 40000) = .5 → 50; customers 1/10 → 10; objective (200 + 10)/5 = 42
    assert wang["target"] == "100000.00" and by_key(wang)["attainment"]["objective"] == "42.0"
    # no answers for colleagues (his own answer is none); reminders 2/2 → 100: objective 50
    assert by_key(wang)["teamwork"]["objective"] == "50.0"
    assert by_key(wang)["innovation"]["objective"] == "0.0"
    assert by_key(wang)["knowledge"]["objective"] == "66.7"  # 2/3

    # 赵强: won 10000 + 5000 (00:00 on 1 Oct local), no target: attainment leaves; customers 0
    assert zhao["won_amount"] == "15000.00" and zhao["target"] is None
    assert by_key(zhao)["attainment"]["objective"] == "0.0"
    teamwork = by_key(zhao)["teamwork"]
    assert teamwork["objective"] == "0.0"  # no reminders: only answers (0) count
    assert {m["metric"]: m["value"] for m in teamwork["metrics"]}["reminders_on_time"] is None

    for person, given in (
        (LI, scores(80, teamwork=70, innovation=60, knowledge=90, leadership=75)),
        (WANG, scores(60)),
        (ZHAO, scores(90)),
    ):
        call(service_config, ZHOU, "set_manager_scores", card[person[0]]["id"], given)
    ranked = call(service_config, ZHOU, "team_scorecards", {"period": "2026-Q4"})
    # 李雷: 84×.8 + 80×.2 = 83.2; 57.5×.6 + 70×.4 = 62.5; 41.7×.6 + 60×.4 = 49.02 → 49.0;
    # 33.3×.5 + 90×.5 = 61.65 → 61.7; 75. Total 83.2×.4 + 62.5×.2 + 49×.2 + 61.7×.1 + 75×.1
    # = 33.28 + 12.5 + 9.8 + 6.17 + 7.5 = 69.25 → 69.3 合格
    # 王芳: 42×.8 + 12 = 45.6; 50×.6 + 24 = 54; 0 + 24 = 24; 66.7×.5 + 30 = 63.35 → 63.4; 60.
    # Total 18.24 + 10.8 + 4.8 + 6.34 + 6 = 46.18 → 46.2 待改进
    # 赵强: 0 + 18 = 18; 0 + 36 = 36; 36; 0 + 45 = 45; 90. Total 7.2 + 7.2 + 7.2 + 4.5 + 9 = 35.1
    assert [(c["person_id"], c["total"], c["rating"], c["rank"]) for c in ranked] == [
        (11, "69.3", "合格", 1),
        (12, "46.2", "待改进", 2),
        (13, "35.1", "待改进", 3),
    ]
    assert [i["score"] for i in ranked[0]["indicators"]] == ["83.2", "62.5", "49.0", "61.7", "75.0"]

    # The manager's own card, scored by an admin: team won 120000 + 50000 + 15000 = 185000 ÷ the
    # team's target 300000 = .6167; alarms raised by others 2, answered within a day 1 → .5;
    # leadership objective (61.67 + 50)/2 = 55.8
    admin_view = {
        c["person_id"]: c
        for c in call(service_config, ADMIN, "team_scorecards", {"team": "east", "period": "2026-Q4"})
    }
    zhou = admin_view[10]
    assert by_key(zhou)["leadership"]["objective"] == "55.8"
    # answers for colleagues 2/5 → 40 (no reminders); accepted 1/3 → 33.3, from alarms 0 → 16.7
    assert by_key(zhou)["teamwork"]["objective"] == "40.0"
    assert by_key(zhou)["innovation"]["objective"] == "16.7"
    zhou = call(service_config, ADMIN, "set_manager_scores", zhou["id"], scores(80))
    # 16; 40×.6 + 32 = 56; 16.7×.6 + 32 = 42.02 → 42.0; 40; 55.8×.5 + 40 = 67.9.
    # Total 6.4 + 11.2 + 8.4 + 4 + 6.79 = 36.79 → 36.8
    assert zhou["total"] == "36.8" and zhou["rank"] == 3  # after 69.3 and 46.2, before 35.1
    # the manager cannot see (nor score) his own draft
    assert refused(service_config, ZHOU, "set_manager_scores", zhou["id"], scores(100)).code == (
        "scorecard_not_found"
    )

    # drill-down: the deals behind Li's attainment, the answers accepted
    deals = call(service_config, ZHOU, "scorecard_evidence", li["id"], {"metric": "attainment"})
    assert sorted((d["ref_id"], d["amount"]) for d in deals) == [(1, "80000.00"), (2, "40000.00")]
    accepted = call(service_config, ZHOU, "scorecard_evidence", li["id"], {"metric": "answers_accepted"})
    assert [(a["ref_id"], a["related_id"], a["accepted"]) for a in accepted] == [(500, 100, True)]
    assert all(len(d["source_event_id"]) == 36 for d in deals)


def test_a_team_scheme_changes_the_weights(appraisal, service_config):
    quarter_of_activity(appraisal, service_config)
    scheme = [
        {
            "key": "attainment",
            "name": "目标达成",
            "weight": 100,
            "manager_share": 0,
            "metrics": [{"metric": "attainment", "par": "1"}],
        },
    ]
    saved = call(
        service_config,
        ZHOU,
        "set_scheme",
        {"indicators": scheme, "bands": {"excellent": "95", "good": "85", "pass": "45"}},
    )
    assert saved["default"] is False and saved["bands"]["pass"] == "45"
    assert call(service_config, LI, "get_scheme")["indicators"][0]["weight"] == 100
    cards = {
        c["person_id"]: c for c in call(service_config, ZHOU, "compute_scorecards", {"period": "2026-Q4"})
    }
    # no manager part: totals at once. Li 1.2 → 100 优秀; Wang .5 → 50 合格 (pass at 45);
    # Zhao has no target: all the manager's, so no total yet
    assert (cards[11]["total"], cards[11]["rating"]) == ("100.0", "优秀")
    assert (cards[12]["total"], cards[12]["rating"]) == ("50.0", "合格")
    assert cards[13]["total"] is None and cards[13]["missing"] == ["attainment"]
    year = {c["person_id"]: c for c in call(service_config, ZHOU, "compute_scorecards", {"period": "2026"})}
    # the year: Li's Q3 win counts too (120000 + 99999) ÷ 100000 → capped 100
    assert year[11]["won_amount"] == "219999.00" and year[11]["total"] == "100.0"


def test_an_event_delivered_twice_counts_once(appraisal, service_config):
    event = publish(
        appraisal,
        service_config,
        "customers",
        "customer_created",
        "2026-10-20T03:00:00",
        "on_customer_created",
        customer_id=31,
        name="客户",
        owner_id=LI[0],
        team="east",
    )
    with entrypoint_waiter(appraisal, "on_customer_created", timeout=10):
        event_dispatcher(service_config)("customers", "customer_created", event)
    card = call(service_config, ZHOU, "compute_scorecards", {"period": "2026-Q4"})
    li = next(c for c in card if c["person_id"] == 11)
    terms = {m["metric"]: m["value"] for m in by_key(li)["attainment"]["metrics"]}
    assert terms["customers_created"] == "1.0000"
