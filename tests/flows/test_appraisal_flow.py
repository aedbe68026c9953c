"""A quarter of a team's work, done through the HTTP API with every service running as `make run`
starts it (the appraisal learning it from the bus), becomes scorecards whose every number is worked
out by hand below; then the manager's scores, publishing, a dispute and its review, and who sees
what. The quarter's activity (tests/support/appraisal_flow_quarter.py) happens now, so the period is
the current quarter (Asia/Shanghai)."""

import subprocess
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy

from crm_common.config import REPO_ROOT
from tests.support.appraisal_flow_quarter import (
    PERIOD,
    TEAM,
    a_quarter_of_work,
    next_quarter,
    ok,
    sign_up_team,
)
from tests.support.system import VENV_BIN, api, eventually

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def team(system):
    """赵强 manages 华北; 陈静 (SMS after one minute), 林涛 and 何磊 sell there."""
    return sign_up_team(system)


def _by_person(cards):
    return {card["person_id"]: card for card in cards}


def _indicators(card):
    return {i["key"]: i for i in card["indicators"]}


def _metrics(card):
    return {m["metric"]: (m["value"], m["score"]) for i in card["indicators"] for m in i["metrics"]}


def test_a_quarter_of_work_becomes_scorecards_checked_by_hand(system, team):
    a_quarter_of_work(system, team)
    ids, zhao = team["ids"], team["zhao"]

    # a future period, a score outside 0–100 and weights not summing to 100 are refused
    future = api(system, zhao, "POST", "/appraisal/scorecards/compute", json={"period": next_quarter()})
    assert future.status_code == 400 and future.json()["error"]["code"] == "period_in_future"
    scheme = ok(api(system, zhao, "GET", "/appraisal/scheme"))
    assert scheme["default"] is True and [i["weight"] for i in scheme["indicators"]] == [40, 20, 20, 10, 10]
    broken = [{**i, "weight": 30} if i["key"] == "attainment" else i for i in scheme["indicators"]]
    refused = api(system, zhao, "PUT", "/appraisal/scheme", json={"indicators": broken})
    assert refused.status_code == 400 and "weights" in refused.json()["error"]["details"], refused.text
    assert (
        api(
            system, team["chen"], "POST", "/appraisal/scorecards/compute", json={"period": PERIOD}
        ).status_code
        == 403
    )

    # the evidence arrives over the bus: compute until the last of it (陈静's escalation) is counted
    def computed():
        cards = ok(api(system, zhao, "POST", "/appraisal/scorecards/compute", json={"period": PERIOD}))
        chen = _by_person(cards).get(ids["chenjing"])
        lin = _by_person(cards).get(ids["lintao"])
        ready = (
            chen
            and lin
            and _metrics(chen)["reminders_on_time"][0] == "0.5000"
            and _metrics(lin)["reminders_on_time"][0] == "1.0000"
            and _metrics(lin)["answers_accepted"][0] == "1.0000"
            and _metrics(chen)["customers_created"][0] == "2.0000"
        )
        return cards if ready else None

    cards = eventually(computed, seconds=60)
    assert cards, "the team's evidence never reached the appraisal"
    cards = _by_person(cards)
    # the manager's own draft is not shown to him: three cards, unranked until scored
    assert set(cards) == {ids["chenjing"], ids["lintao"], ids["helei"]}
    assert all(c["state"] == "draft" and c["total"] is None and c["rank"] is None for c in cards.values())

    # 陈静: won 80 000 of 100 000 → attainment 0.8 → 80.0; 2 customers of par 10 → 20.0;
    #   目标达成 objective (4×0.8 + 1×0.2) ÷ 5 × 100 = 68.0
    #   reminders 2 due, 1 escalated → on time 1/2 → 50.0; no answers → 0.0; 团队协作 (0 + 50) ÷ 2 = 25.0
    #   创新 0.0, 专业知识 0.0; 领导力 has no salesperson metric: all the manager's (share 100)
    chen = cards[ids["chenjing"]]
    assert (chen["won_amount"], chen["target"]) == ("80000.00", "100000.00")
    assert _metrics(chen)["attainment"] == ("0.8000", "80.0")
    assert _metrics(chen)["customers_created"] == ("2.0000", "20.0")
    assert _metrics(chen)["reminders_on_time"] == ("0.5000", "50.0")
    assert {k: (i["objective"], i["manager_share"]) for k, i in _indicators(chen).items()} == {
        "attainment": ("68.0", 20),
        "teamwork": ("25.0", 40),
        "innovation": ("0.0", 40),
        "knowledge": ("0.0", 50),
        "leadership": (None, 100),
    }
    # 林涛: 50 000 of 200 000 → 0.25 → 25.0; 1 customer → 10.0; (4×0.25 + 0.1) ÷ 5 = 22.0
    #   1 answer for a colleague of par 5 → 20.0; 1 reminder due, none escalated → 100.0; (20+100)÷2 = 60.0
    #   his answer accepted: 1 of par 3 → 33.3; 1 entry from an alarm of par 2 → 50.0;
    #   创新 (1/3 + 1/2) ÷ 2 × 100 = 41.67 → 41.7; 1 entry of par 3 → 专业知识 33.3
    lin = cards[ids["lintao"]]
    assert _metrics(lin)["attainment"] == ("0.2500", "25.0")
    assert _metrics(lin)["answers_accepted"] == ("1.0000", "33.3")
    assert _metrics(lin)["entries_from_alarms"] == ("1.0000", "50.0")
    assert [
        _indicators(lin)[k]["objective"] for k in ("attainment", "teamwork", "innovation", "knowledge")
    ] == [
        "22.0",
        "60.0",
        "41.7",
        "33.3",
    ]
    # 何磊: 60 000 of 50 000 → 1.2, capped at 100.0; 1 customer 10.0; (4×1 + 0.1) ÷ 5 = 82.0
    #   1 answer → 20.0, no reminders (left out) → 团队协作 20.0; 创新 0.0; 2 entries of par 3 → 66.7
    he = cards[ids["helei"]]
    assert _metrics(he)["attainment"] == ("1.2000", "100.0")
    assert _metrics(he)["reminders_on_time"] == (None, None)
    assert [
        _indicators(he)[k]["objective"] for k in ("attainment", "teamwork", "innovation", "knowledge")
    ] == [
        "82.0",
        "20.0",
        "0.0",
        "66.7",
    ]

    # the manager scores his three; the indicator = objective × (100 − share)% + manager × share%
    given = {
        "chenjing": {"attainment": 80, "teamwork": 70, "innovation": 60, "knowledge": 70, "leadership": 60},
        "lintao": {"attainment": 60, "teamwork": 90, "innovation": 85, "knowledge": 80, "leadership": 70},
        "helei": {"attainment": 95, "teamwork": 90, "innovation": 90, "knowledge": 90, "leadership": 90},
    }
    bad = api(
        system,
        zhao,
        "PUT",
        f"/appraisal/scorecards/{chen['id']}/scores",
        json={"scores": [{"indicator": "teamwork", "score": "120", "comment": "太高"}]},
    )
    assert bad.status_code == 400, bad.text
    scored = {}
    for person in given:
        card_id = cards[ids[person]]["id"]
        scored[person] = ok(
            api(
                system,
                zhao,
                "PUT",
                f"/appraisal/scorecards/{card_id}/scores",
                json={
                    "scores": [
                        {"indicator": k, "score": str(v), "comment": "季度面谈"}
                        for k, v in given[person].items()
                    ]
                },
            )
        )
    # 陈静: 68×0.8+80×0.2 = 70.4; 25×0.6+70×0.4 = 43.0; 0+60×0.4 = 24.0; 0+70×0.5 = 35.0; 60.0
    #   total 70.4×0.4 + 43×0.2 + 24×0.2 + 35×0.1 + 60×0.1 = 28.16+8.6+4.8+3.5+6.0 = 51.06 → 51.1 待改进
    # 林涛: 22×0.8+60×0.2 = 29.6; 60×0.6+90×0.4 = 72.0; 41.7×0.6+85×0.4 = 59.02 → 59.0;
    #   33.3×0.5+80×0.5 = 56.65 → 56.7; 70.0
    #   total 11.84 + 14.4 + 11.8 + 5.67 + 7.0 = 50.71 → 50.7 待改进
    # 何磊: 82×0.8+95×0.2 = 84.6; 20×0.6+90×0.4 = 48.0; 0+90×0.4 = 36.0; 66.7×0.5+90×0.5 = 78.35 → 78.4; 90
    #   total 33.84 + 9.6 + 7.2 + 7.84 + 9.0 = 67.48 → 67.5 合格
    expected = {
        "chenjing": (["70.4", "43.0", "24.0", "35.0", "60.0"], "51.1", "待改进"),
        "lintao": (["29.6", "72.0", "59.0", "56.7", "70.0"], "50.7", "待改进"),
        "helei": (["84.6", "48.0", "36.0", "78.4", "90.0"], "67.5", "合格"),
    }
    for person, (scores, total, rating) in expected.items():
        card = scored[person]
        assert [i["score"] for i in card["indicators"]] == scores, person
        assert (card["total"], card["rating"], card["missing"]) == (total, rating, []), person
    ranked = ok(api(system, zhao, "GET", "/appraisal/scorecards", params={"period": PERIOD}))
    assert [(c["person_name"], c["rank"]) for c in ranked] == [("何磊", 1), ("陈静", 2), ("林涛", 3)]

    # the manager's own card: an admin scores it (never the manager himself)
    admin = team["admin"]
    own = ok(api(system, admin, "GET", "/appraisal/scorecards", params={"team": TEAM, "period": PERIOD}))
    mine = _by_person(own)[ids["zhaoqiang"]]
    assert api(
        system,
        zhao,
        "PUT",
        f"/appraisal/scorecards/{mine['id']}/scores",
        json={"scores": [{"indicator": "leadership", "score": "100", "comment": "自评"}]},
    ).status_code in (403, 404)
    # 赵强: no target of his own (attainment left out), 0 customers → 目标达成 objective 0.0;
    #   1 answer → 团队协作 20.0; 创新 0.0; 1 entry → 33.3;
    #   领导力: team won 80 000 + 50 000 + 60 000 = 190 000 of 400 000 → 0.475 → 47.5;
    #   陈静's alarm (the team's only one by another) answered by him within a day → 1/1 → 100.0;
    #   objective (0.475 + 1) ÷ 2 × 100 = 73.75 → 73.8
    assert _metrics(mine)["attainment"] == (None, None)
    assert _metrics(mine)["team_attainment"] == ("0.4750", "47.5")
    assert _metrics(mine)["alarms_answered_in_a_day"] == ("1.0000", "100.0")
    assert [i["objective"] for i in mine["indicators"]] == ["0.0", "20.0", "0.0", "33.3", "73.8"]
    boss = ok(
        api(
            system,
            admin,
            "PUT",
            f"/appraisal/scorecards/{mine['id']}/scores",
            json={
                "scores": [
                    {"indicator": k, "score": v, "comment": "年度考核"}
                    for k, v in (
                        ("attainment", "70"),
                        ("teamwork", "80"),
                        ("innovation", "70"),
                        ("knowledge", "80"),
                        ("leadership", "85"),
                    )
                ]
            },
        )
    )
    # 0×0.8+70×0.2 = 14.0; 20×0.6+80×0.4 = 44.0; 0+70×0.4 = 28.0; 33.3×0.5+80×0.5 = 56.65 → 56.7;
    # 73.8×0.5+85×0.5 = 79.4; total 5.6 + 8.8 + 5.6 + 5.67 + 7.94 = 33.61 → 33.6 待改进
    assert [i["score"] for i in boss["indicators"]] == ["14.0", "44.0", "28.0", "56.7", "79.4"]
    assert (boss["total"], boss["rating"]) == ("33.6", "待改进")

    # drill-down: 林涛's accepted answer is the one 陈静 accepted
    evidence = ok(
        api(
            system,
            zhao,
            "GET",
            f"/appraisal/scorecards/{cards[ids['lintao']]['id']}/evidence",
            params={"metric": "answers_accepted"},
        )
    )
    assert [(e["kind"], e["accepted"]) for e in evidence] == [("answer", True)]


def test_publishing_a_dispute_its_review_and_who_sees_what(system, team):
    ids, zhao, chen, lin, admin = team["ids"], team["zhao"], team["chen"], team["lin"], team["admin"]
    cards = _by_person(ok(api(system, zhao, "GET", "/appraisal/scorecards", params={"period": PERIOD})))
    chen_card, lin_card = cards[ids["chenjing"]], cards[ids["lintao"]]

    # a draft is the manager's: 陈静 sees nothing of hers yet, nor anyone's
    assert ok(api(system, chen, "GET", "/appraisal/scorecards/mine")) == []
    assert api(system, chen, "GET", f"/appraisal/scorecards/{chen_card['id']}").status_code == 404
    published = ok(api(system, zhao, "POST", f"/appraisal/scorecards/{chen_card['id']}/publish"))
    assert published["state"] == "published"

    # now she sees her own card, only hers: not 林涛's, not the team table
    [own] = ok(api(system, chen, "GET", "/appraisal/scorecards/mine"))
    assert (own["id"], own["total"], own["rating"]) == (chen_card["id"], "51.1", "待改进")
    assert api(system, chen, "GET", f"/appraisal/scorecards/{lin_card['id']}").status_code == 404
    assert api(system, chen, "GET", "/appraisal/scorecards", params={"period": PERIOD}).status_code == 403
    assert ok(api(system, lin, "GET", "/appraisal/scorecards/mine")) == []  # his is still a draft

    note = ok(
        api(
            system,
            zhao,
            "POST",
            f"/appraisal/scorecards/{chen_card['id']}/notes",
            json={"body": "面谈：回访要及时"},
        ),
        201,
    )
    assert [n["body"] for n in note["notes"]] == ["面谈：回访要及时"]

    # she disputes her teamwork; the scorer (her manager) may not review his own scoring; an admin does
    disputed = ok(
        api(
            system,
            chen,
            "POST",
            f"/appraisal/scorecards/{chen_card['id']}/dispute",
            json={"reason": "第二个提醒我按时确认了，团队协作分偏低"},
        )
    )
    assert disputed["state"] == "disputed"
    again = api(system, chen, "POST", f"/appraisal/scorecards/{chen_card['id']}/acknowledge")
    assert again.status_code == 409, again.text
    assert (
        api(
            system, zhao, "POST", f"/appraisal/scorecards/{chen_card['id']}/review", json={"note": "维持"}
        ).status_code
        == 403
    )
    reviewed = ok(
        api(
            system,
            admin,
            "POST",
            f"/appraisal/scorecards/{chen_card['id']}/review",
            json={
                "note": "团队协作调整为 80",
                "scores": [{"indicator": "teamwork", "score": "80", "comment": "复核调整"}],
            },
        )
    )
    # teamwork 25×0.6 + 80×0.4 = 47.0; total 28.16 + 9.4 + 4.8 + 3.5 + 6.0 = 51.86 → 51.9
    assert reviewed["state"] == "reviewed" and reviewed["review_note"] == "团队协作调整为 80"
    assert _indicators(reviewed)["teamwork"]["score"] == "47.0"
    assert (reviewed["total"], reviewed["rating"]) == ("51.9", "待改进")
    [seen] = ok(api(system, chen, "GET", "/appraisal/scorecards/mine"))
    assert (seen["state"], seen["total"], seen["dispute_reason"]) == (
        "reviewed",
        "51.9",
        "第二个提醒我按时确认了，团队协作分偏低",
    )
    # published and reviewed cards are no longer drafts: recomputing leaves them as they are
    again = _by_person(
        ok(api(system, zhao, "POST", "/appraisal/scorecards/compute", json={"period": PERIOD}))
    )
    assert (again[ids["chenjing"]]["state"], again[ids["chenjing"]]["total"]) == ("reviewed", "51.9")


def _evidence(url):
    """The evidence and targets in an appraisal database, keyed as the appraisal keys them."""
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sqlalchemy.text(
                "SELECT kind, ref_id, person_id, team, day, related_id, amount, flag, label, occurred_at "
                "FROM evidence"
            )
        ).all()
        targets = conn.execute(sqlalchemy.text("SELECT subject, period, amount FROM targets")).all()
    engine.dispose()
    evidence = {(r.kind, r.ref_id, r.person_id): tuple(r)[3:9] for r in rows}
    moments = {(r.kind, r.ref_id, r.person_id): datetime.fromisoformat(str(r.occurred_at)) for r in rows}
    return evidence, moments, {(t.subject, t.period): Decimal(str(t.amount)) for t in targets}


def _replay(system, url, since):
    env = {**system.env, "APPRAISAL_DB_URL": url}
    return subprocess.run(
        [str(VENV_BIN / "crm-appraisal-replay"), "--since", since],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_replay_from_the_owners_rebuilds_what_the_events_built(system, team, tmp_path):
    year, quarter = PERIOD.split("-Q")
    since = f"{year}-{3 * int(quarter) - 2:02d}-01"
    live_url = f"sqlite:///{system.var_dir / 'appraisal.db'}"
    new_kinds = {"followup", "reminder_acknowledged", "entry_voted", "entry_read", "answer_accepted"}

    def everything_arrived():
        found = _evidence(live_url)
        kinds = [key[0] for key in found[0]]
        return found if new_kinds <= set(kinds) and kinds.count("entry_voted") == 3 else None

    arrived = eventually(everything_arrived, seconds=30)
    assert arrived, "the new evidence never reached the appraisal"
    built, built_at, built_targets = arrived
    assert len(built) >= 28  # the quarter above: deals, customers, reminders, alarms, answers, entries …
    ids = team["ids"]
    followups = {key[2]: row for key, row in built.items() if key[0] == "followup"}
    assert {person: bool(row[4]) for person, row in followups.items()} == {
        ids["lintao"]: True,
        ids["chenjing"]: False,
    }
    votes = sorted((key[2], row[2]) for key, row in built.items() if key[0] == "entry_voted")
    assert [related for _voter, related in votes].count(ids["zhaoqiang"]) == 2

    # a new, empty appraisal database rebuilt from pipeline, customers, notify and knowledge
    fresh = f"sqlite:///{tmp_path / 'replayed.db'}"
    migrated = subprocess.run(
        [str(VENV_BIN / "crm-migrate"), "appraisal"],
        env={**system.env, "APPRAISAL_DB_URL": fresh},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrated.returncode == 0, migrated.stderr
    first = _replay(system, fresh, since)
    # everything is rebuilt, who read which entry too (knowledge keeps each read under its event)
    assert first.returncode == 0, first.stdout + first.stderr
    lines = {line.split()[0]: line for line in first.stdout.splitlines()}
    assert lines["entry_read"].endswith("rebuilt"), lines["entry_read"]
    for kind in ("deal_won", "deal_lost", "customer_created", "reminder_due", "reminder_escalated"):
        assert lines[kind].endswith("rebuilt"), lines[kind]
    for kind in ("alarm_raised", "answer", "alarm_resolved", "entry_published", "target"):
        assert lines[kind].endswith("rebuilt"), lines[kind]
    for kind in ("answer_accepted", "followup", "reminder_acknowledged", "entry_voted"):
        assert lines[kind].endswith("rebuilt"), lines[kind]

    rebuilt, rebuilt_at, rebuilt_targets = _evidence(fresh)
    read = {key: row for key, row in built.items() if key[0] == "entry_read"}
    # 陈静's read of the pinned entry: the onboarding read, flagged
    assert [(key[2], bool(row[4])) for key, row in read.items()] == [(team["ids"]["chenjing"], True)]
    # every row, the reads too: person, kind, reference, team, day, related, amount, flag, label
    assert rebuilt == built
    assert rebuilt_targets == built_targets
    # the moment of each: the owner's record of it and the event's envelope, the same transaction
    assert all(abs(rebuilt_at[key] - built_at[key]) < timedelta(seconds=2) for key in rebuilt)

    # idempotent: again on the rebuilt database, and on the one the events built, nothing is added
    for url in (fresh, live_url):
        again = _replay(system, url, since)
        assert again.returncode == 0, again.stdout + again.stderr
        added = [int(line.split("added")[1].split()[0]) for line in again.stdout.splitlines()]
        assert len(added) == 15 and sum(added[:-1]) == 0, again.stdout
    assert _evidence(fresh)[0] == rebuilt and _evidence(live_url)[0] == built

    refused = _replay(system, fresh, "30-11-2026")
    assert refused.returncode == 2 and "--since" in refused.stderr
