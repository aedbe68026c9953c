"""A quarter of a team's work for the appraisal flow (tests/flows/test_appraisal_flow.py), done
through the HTTP API of a running system (tests/support/system.py): the team, its targets,
customers, deals, an alarm and its answers, knowledge entries, votes and reads, follow-ups and
reminders. The activity happens now, so the period is the current quarter (Asia/Shanghai)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.support.system import api, eventually

TEAM = "华北"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def current_quarter() -> str:
    today = datetime.now(SHANGHAI).date()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


PERIOD = current_quarter()


def next_quarter() -> str:
    year, quarter = PERIOD.split("-Q")
    return f"{int(year) + 1}-Q1" if quarter == "4" else f"{year}-Q{int(quarter) + 1}"


def sign_up_team(system):
    """赵强 manages 华北; 陈静 (SMS after one minute), 林涛 and 何磊 sell there."""
    admin = system.client("admin", system.admin_password)
    people = [
        {"username": "zhaoqiang", "password": "manager-pw-1", "display_name": "赵强", "role": "manager"},
        {
            "username": "chenjing",
            "password": "sales-pw-11",
            "display_name": "陈静",
            "manager": "zhaoqiang",
            "phone": "13900139001",
            "escalate_after_minutes": 1,
        },
        {"username": "lintao", "password": "sales-pw-22", "display_name": "林涛", "manager": "zhaoqiang"},
        {"username": "helei", "password": "sales-pw-33", "display_name": "何磊", "manager": "zhaoqiang"},
    ]
    ids = {}
    for person in people:
        created = api(system, admin, "POST", "/users", json={"team": TEAM, **person})
        assert created.status_code == 201, created.text
        ids[person["username"]] = created.json()["id"]
    return {
        "ids": ids,
        "admin": admin,
        "zhao": system.client("zhaoqiang", "manager-pw-1"),
        "chen": system.client("chenjing", "sales-pw-11"),
        "lin": system.client("lintao", "sales-pw-22"),
        "he": system.client("helei", "sales-pw-33"),
    }


def ok(reply, status=200):
    assert reply.status_code == status, reply.text
    return reply.json()


def _customer(system, session, name, phone):
    return ok(
        api(
            system,
            session,
            "POST",
            "/customers",
            json={
                "name": name,
                "phone": phone,
                "address": "北京市朝阳区",
                "industry": "制造",
                "contacts": [],
            },
        ),
        201,
    )["id"]


def _deal(system, session, customer, amount):
    return ok(
        api(
            system,
            session,
            "POST",
            "/opportunities",
            json={"customer_id": customer, "title": "年度采购", "amount": amount},
        ),
        201,
    )["id"]


def _reminder(system, session, title, due_at):
    return ok(
        api(system, session, "POST", "/reminders", json={"title": title, "due_at": due_at.isoformat()}), 201
    )


def a_quarter_of_work(system, team):
    """What the team does this quarter (the evidence the scorecards count)."""
    zhao, chen, lin, he = team["zhao"], team["chen"], team["lin"], team["he"]
    ids = team["ids"]
    # targets, set by the manager: 陈静 100 000, 林涛 200 000, 何磊 50 000; the team 400 000
    for owner, amount in (
        (ids["chenjing"], "100000"),
        (ids["lintao"], "200000"),
        (ids["helei"], "50000"),
        (None, "400000"),
    ):
        ok(
            api(
                system,
                zhao,
                "PUT",
                "/targets",
                json={"owner": owner, "team": TEAM, "period": PERIOD, "amount": amount},
            )
        )
    # new customers: 陈静 two, 林涛 one, 何磊 one
    chen_a = _customer(system, chen, "北京精工机械", "13700137001")
    _customer(system, chen, "天津海港物流", "13700137002")
    lin_a = _customer(system, lin, "河北钢铁贸易", "13700137003")
    he_a = _customer(system, he, "保定汽配", "13700137004")
    # deals: 陈静 wins 80 000; 林涛 wins 50 000 and loses one; 何磊 wins 60 000 (above his target)
    for session, customer, amount in ((chen, chen_a, "80000"), (lin, lin_a, "50000"), (he, he_a, "60000")):
        deal = _deal(system, session, customer, amount)
        ok(api(system, session, "POST", f"/opportunities/{deal}/won", json={"reason": "签约"}))
    lost = _deal(system, lin, lin_a, "9000")
    ok(api(system, lin, "POST", f"/opportunities/{lost}/lost", json={"reason": "价格"}))

    # 陈静 is stuck: 林涛, 何磊 and the manager answer; she accepts 林涛's and publishes it
    alarm = ok(
        api(system, chen, "POST", "/alarms", json={"title": "客户压价", "problem": "客户要再降一成才签"}),
        201,
    )
    answers = {}
    for who, body in (
        ("lin", "讲清楚售后和交期的价值"),
        ("he", "给阶梯报价"),
        ("zhao", "约技术负责人做演示"),
    ):
        answers[who] = ok(
            api(system, team[who], "POST", f"/alarms/{alarm['id']}/answers", json={"body": body}), 201
        )["id"]
    resolved = ok(
        api(
            system,
            chen,
            "POST",
            f"/alarms/{alarm['id']}/resolve",
            json={"answer_id": answers["lin"], "publish": True, "tags": ["价格异议"]},
        )
    )
    assert resolved["entry"]["author_id"] == ids["lintao"], resolved["entry"]
    # entries written: 何磊 two, the manager one
    written = {}
    for session, title in ((he, "汽配客户的采购周期"), (he, "保定市场的竞品"), (zhao, "新人第一周做什么")):
        written[title] = ok(
            api(
                system,
                session,
                "POST",
                "/knowledge",
                json={"kind": "faq", "title": title, "solution": "见正文说明", "tags": ["经验"]},
            ),
            201,
        )["id"]
    # the manager pins his for newcomers; 陈静 reads it (the onboarding read), 林涛 and 何磊 find it
    # useful, and 陈静 finds 何磊's first useful
    onboarding = written["新人第一周做什么"]
    ok(api(system, zhao, "POST", f"/knowledge/{onboarding}/pin", json={"pinned": True}))
    ok(api(system, chen, "GET", f"/knowledge/{onboarding}"))
    for session, entry in ((lin, onboarding), (he, onboarding), (chen, written["汽配客户的采购周期"])):
        ok(api(system, session, "POST", f"/knowledge/{entry}/vote"))

    # follow-ups: 林涛's customer gets a revisit date in three days (an approved amendment) and he
    # visits today, on time; 陈静 calls hers, which has no revisit date
    revisit = (datetime.now(SHANGHAI) + timedelta(days=3)).replace(microsecond=0)
    amendment = ok(
        api(
            system,
            lin,
            "POST",
            f"/customers/{lin_a}/amendments",
            json={"changes": {"next_visit_at": revisit.isoformat()}, "reason": "约好了下次拜访"},
        ),
        201,
    )
    ok(api(system, zhao, "POST", f"/customers/{lin_a}/amendments/{amendment['id']}/approve", json={}))
    for session, customer, kind in ((lin, lin_a, "visit"), (chen, chen_a, "call")):
        ok(
            api(
                system,
                session,
                "POST",
                f"/customers/{customer}/followups",
                json={"kind": kind, "summary": "谈了续约"},
            ),
            201,
        )

    # reminders: 陈静's due three minutes ago goes out by SMS at once (her one-minute setting); her
    # second she acknowledges as soon as it is due; 林涛's is due and not escalated (30 minutes)
    now = datetime.now(UTC)
    escalated = _reminder(system, chen, "回访精工", now - timedelta(minutes=3))
    kept = _reminder(system, chen, "回访海港", now + timedelta(seconds=2))
    _reminder(system, lin, "回访钢贸", now - timedelta(minutes=3))

    def due(reminder_id):
        return api(system, chen, "GET", f"/reminders/{reminder_id}").json()["status"] == "due"

    assert eventually(lambda: due(kept["id"]), seconds=30), "the reminder never fell due"
    ok(api(system, chen, "POST", f"/reminders/{kept['id']}/ack"))

    def sent():
        rows = api(system, team["admin"], "GET", "/sms", params={"reminder_id": escalated["id"]}).json()
        return [row for row in rows if row["status"] == "sent"]

    assert eventually(sent, seconds=60), "陈静's reminder was never escalated"
