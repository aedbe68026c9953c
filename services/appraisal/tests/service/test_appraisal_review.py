"""After the manager's scores (``appraisal_quarter``): publishing, a dispute and its review, each an
event; acknowledging; who sees which scorecard; bad input, a clear 400 with its typed error."""

import time

import eventlet
from appraisal_quarter import scored_team
from appraisal_support import ADMIN, DIRECTOR, LI, SUN, WANG, ZHOU, AppraisalListener, call, refused


def test_publish_dispute_and_review_each_an_event(appraisal, service_config, listener):
    cards = scored_team(appraisal, service_config)
    li_id, wang_id = cards[11]["id"], cards[12]["id"]
    assert call(service_config, LI, "my_scorecards") == []  # a draft is not the employee's yet
    assert refused(service_config, LI, "get_scorecard", li_id).exc_type == "ScorecardNotFound"
    assert refused(service_config, ZHOU, "publish_scorecard", wang_id).exc_type == "ScoresMissing"

    published = call(service_config, ZHOU, "publish_scorecard", li_id)
    assert published["state"] == "published"
    mine = call(service_config, LI, "my_scorecards")
    assert [(c["id"], c["total"]) for c in mine] == [(li_id, "69.3")]
    assert refused(service_config, WANG, "get_scorecard", li_id).exc_type == "ScorecardNotFound"
    assert refused(service_config, WANG, "dispute_scorecard", li_id, {"reason": "x"}).exc_type == (
        "ScorecardNotFound"
    )
    assert refused(service_config, LI, "dispute_scorecard", li_id, {"reason": ""}).exc_type == "InvalidInput"

    noted = call(
        service_config, ZHOU, "add_interview_note", li_id, {"body": "面谈：创新分偏低，下季度多写经验"}
    )
    assert [n["author_name"] for n in noted["notes"]] == ["周经理"]

    disputed = call(service_config, LI, "dispute_scorecard", li_id, {"reason": "我解决了两个报警"})
    assert disputed["state"] == "disputed" and disputed["dispute_reason"] == "我解决了两个报警"
    assert refused(service_config, LI, "acknowledge_scorecard", li_id).exc_type == "WrongState"
    # neither the scorer nor another team's manager reviews; the scorer's own manager does
    assert refused(service_config, ZHOU, "review_scorecard", li_id, {"note": "x"}).exc_type == "NotReviewer"
    assert refused(service_config, SUN, "review_scorecard", li_id, {"note": "x"}).exc_type == "NotReviewer"
    reviewed = call(
        service_config,
        DIRECTOR,
        "review_scorecard",
        li_id,
        {
            "note": "创新与解决问题改为80",
            "scores": [{"indicator": "innovation", "score": "80", "comment": "复核"}],
        },
    )
    # innovation 41.7×.6 + 80×.4 = 57.02 → 57.0; total 33.28 + 12.5 + 11.4 + 6.17 + 7.5 = 70.85 → 70.9
    assert reviewed["state"] == "reviewed" and reviewed["total"] == "70.9" and reviewed["rating"] == "合格"

    def arrived():
        return len(AppraisalListener.events) >= 3 and AppraisalListener.events

    deadline = time.monotonic() + 10
    while not arrived() and time.monotonic() < deadline:
        eventlet.sleep(0.05)
    events = [
        (e["event_type"], e["data"]["scorecard_id"], e["data"]["total"]) for e in AppraisalListener.events
    ]
    assert events == [
        ("scorecard_published", li_id, "69.3"),
        ("scorecard_disputed", li_id, "69.3"),
        ("scorecard_reviewed", li_id, "70.9"),
    ]
    assert AppraisalListener.events[1]["data"]["reason"] == "我解决了两个报警"


def test_acknowledging_and_visibility(appraisal, service_config, listener):
    cards = scored_team(appraisal, service_config)
    li_id = cards[11]["id"]
    call(service_config, ZHOU, "publish_scorecard", li_id)
    assert call(service_config, LI, "acknowledge_scorecard", li_id)["state"] == "acknowledged"
    assert (
        refused(service_config, LI, "dispute_scorecard", li_id, {"reason": "晚了"}).exc_type == "WrongState"
    )
    # another team's manager sees nothing of east; an admin sees all
    assert refused(
        service_config, SUN, "team_scorecards", {"team": "east", "period": "2026-Q4"}
    ).exc_type == ("NotManager")
    assert refused(service_config, SUN, "get_scorecard", li_id).exc_type == "ScorecardNotFound"
    assert refused(service_config, LI, "team_scorecards", {"period": "2026-Q4"}).exc_type == "NotManager"
    assert call(service_config, ADMIN, "get_scorecard", li_id)["state"] == "acknowledged"
    # a published card is not recomputed
    again = {
        c["person_id"]: c for c in call(service_config, ZHOU, "compute_scorecards", {"period": "2026-Q4"})
    }
    assert again[11]["state"] == "acknowledged" and again[11]["total"] == "69.3"


def test_bad_input_is_a_clear_400(appraisal, service_config):
    from appraisal.constants import DEFAULT_SCHEME

    uneven = [dict(i) for i in DEFAULT_SCHEME]
    uneven[0] = {**uneven[0], "weight": 30}
    error = refused(service_config, ZHOU, "set_scheme", {"indicators": uneven})
    assert error.exc_type == "InvalidScheme" and "weights" in error.value
    assert (
        refused(service_config, ZHOU, "compute_scorecards", {"period": "2027-Q1"}).exc_type
        == "PeriodInFuture"
    )
    assert (
        refused(service_config, ZHOU, "compute_scorecards", {"period": "2026-13"}).exc_type == "InvalidInput"
    )
    card = call(service_config, ZHOU, "compute_scorecards", {"period": "2026-Q4"})[0]
    over = {"scores": [{"indicator": "teamwork", "score": "101", "comment": "x"}]}
    assert refused(service_config, ZHOU, "set_manager_scores", card["id"], over).exc_type == "InvalidInput"
    unknown = {"scores": [{"indicator": "golf", "score": "50", "comment": "x"}]}
    assert refused(service_config, ZHOU, "set_manager_scores", card["id"], unknown).exc_type == "InvalidScore"
    assert refused(service_config, LI, "set_scheme", {"indicators": DEFAULT_SCHEME}).exc_type == "NotManager"
