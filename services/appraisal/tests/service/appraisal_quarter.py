"""A quarter of activity (2026-Q4) of the east team, published on the bus as the other services
publish it: the scorecards of ``test_appraisal_scorecards`` are worked out by hand from it."""

from appraisal_support import LI, WANG, ZHAO, ZHOU, call, publish, scores


def won(c, cfg, opp, owner, amount, when):
    publish(
        c,
        cfg,
        "pipeline",
        "opportunity_won",
        when,
        "on_opportunity_won",
        opportunity_id=opp,
        customer_id=opp,
        owner_id=owner[0],
        team="east",
        amount=amount,
        currency="CNY",
        reason="签约",
        stage="s90",
        closed_by=owner[0],
        closed_by_name="",
    )


def quarter_of_activity(c, cfg):
    """2026-Q4 of the east team (Asia/Shanghai days)."""
    ev = publish
    ev(
        c,
        cfg,
        "pipeline",
        "target_set",
        "2026-10-01T01:00:00",
        "on_target_set",
        owner_id=LI[0],
        team="east",
        period="2026-Q4",
        amount="100000.00",
        set_by=10,
        set_by_name="周经理",
    )
    for month, amount in (("2026-10", "30000.00"), ("2026-11", "30000.00"), ("2026-12", "40000.00")):
        ev(
            c,
            cfg,
            "pipeline",
            "target_set",
            "2026-10-01T01:00:00",
            "on_target_set",
            owner_id=WANG[0],
            team="east",
            period=month,
            amount=amount,
            set_by=10,
            set_by_name="周经理",
        )
    ev(
        c,
        cfg,
        "pipeline",
        "target_set",
        "2026-10-01T01:00:00",
        "on_target_set",
        owner_id=None,
        team="east",
        period="2026-Q4",
        amount="300000.00",
        set_by=1,
        set_by_name="管理员",
    )
    won(c, cfg, 1, LI, "80000.00", "2026-10-10T03:00:00")
    won(c, cfg, 2, LI, "40000.00", "2026-11-11T03:00:00")
    won(c, cfg, 6, LI, "99999.00", "2026-09-30T15:59:00")  # 23:59 on 30 Sep in Shanghai: Q3
    won(c, cfg, 3, WANG, "50000.00", "2026-11-12T03:00:00")
    won(c, cfg, 4, ZHAO, "10000.00", "2026-11-13T03:00:00")
    won(c, cfg, 7, ZHAO, "5000.00", "2026-09-30T16:00:00")  # 00:00 on 1 Oct in Shanghai: Q4
    ev(
        c,
        cfg,
        "pipeline",
        "opportunity_lost",
        "2026-11-14T03:00:00",
        "on_opportunity_lost",
        opportunity_id=5,
        customer_id=5,
        owner_id=WANG[0],
        team="east",
        amount="9000.00",
        currency="CNY",
        reason="价格",
        stage="s50",
        closed_by=12,
        closed_by_name="",
    )
    for customer, owner in ((31, LI), (32, LI), (33, WANG)):
        ev(
            c,
            cfg,
            "customers",
            "customer_created",
            "2026-10-20T03:00:00",
            "on_customer_created",
            customer_id=customer,
            name=f"客户{customer}",
            owner_id=owner[0],
            team="east",
        )
    for reminder, owner in ((41, LI), (42, LI), (43, LI), (44, LI), (45, WANG), (46, WANG)):
        ev(
            c,
            cfg,
            "notify",
            "reminder_due",
            "2026-10-21T01:00:00",
            "on_reminder_due",
            reminder_id=reminder,
            owner_id=owner[0],
            title="回访",
            due_at="2026-10-21T01:00:00+00:00",
            late=False,
            customer_id=None,
            kind="manual",
        )
    ev(
        c,
        cfg,
        "notify",
        "reminder_escalated",
        "2026-10-21T01:10:00",
        "on_reminder_escalated",
        reminder_id=41,
        owner_id=LI[0],
        sms_id=1,
    )
    # Zhao's alarm: Li answers in an hour, the manager in 8 hours (within a day); Li's is accepted
    # and published as an entry (Li its author)
    ev(
        c,
        cfg,
        "knowledge",
        "alarm_raised",
        "2026-11-02T02:00:00",
        "on_alarm_raised",
        alarm_id=100,
        title="客户压价",
        problem="…",
        customer_id=None,
        customer_name=None,
        raised_by=ZHAO[0],
        raised_by_name="赵强",
        team="east",
    )
    for answer, by, when, manager in (
        (500, LI, "2026-11-02T03:00:00", False),
        (501, ZHOU, "2026-11-02T10:00:00", True),
    ):
        ev(
            c,
            cfg,
            "knowledge",
            "alarm_answered",
            when,
            "on_alarm_answered",
            alarm_id=100,
            answer_id=answer,
            answered_by=by[0],
            answered_by_name="",
            by_manager=manager,
            team="east",
            raised_by=ZHAO[0],
            customer_id=None,
        )
    ev(
        c,
        cfg,
        "knowledge",
        "alarm_resolved",
        "2026-11-03T02:00:00",
        "on_alarm_resolved",
        alarm_id=100,
        answer_id=500,
        entry_id=900,
        team="east",
        raised_by=ZHAO[0],
        customer_id=None,
    )
    ev(
        c,
        cfg,
        "knowledge",
        "entry_published",
        "2026-11-03T02:00:00",
        "on_entry_published",
        entry_id=900,
        title="压价应对",
        kind="solution",
        author_id=LI[0],
        alarm_id=100,
        tags=[],
        team="east",
    )
    # Wang's alarm: Li answers, the manager only two days later (not within a day); his is accepted
    ev(
        c,
        cfg,
        "knowledge",
        "alarm_raised",
        "2026-11-05T02:00:00",
        "on_alarm_raised",
        alarm_id=101,
        title="合同条款",
        problem="…",
        customer_id=None,
        customer_name=None,
        raised_by=WANG[0],
        raised_by_name="王芳",
        team="east",
    )
    for answer, by, when, manager in (
        (502, LI, "2026-11-05T04:00:00", False),
        (503, ZHOU, "2026-11-07T02:00:00", True),
    ):
        ev(
            c,
            cfg,
            "knowledge",
            "alarm_answered",
            when,
            "on_alarm_answered",
            alarm_id=101,
            answer_id=answer,
            answered_by=by[0],
            answered_by_name="",
            by_manager=manager,
            team="east",
            raised_by=WANG[0],
            customer_id=None,
        )
    # Wang answering his own alarm is no help to a colleague: no evidence
    ev(
        c,
        cfg,
        "knowledge",
        "alarm_answered",
        "2026-11-05T05:00:00",
        "on_alarm_answered",
        alarm_id=101,
        answer_id=504,
        answered_by=WANG[0],
        answered_by_name="",
        by_manager=False,
        team="east",
        raised_by=WANG[0],
        customer_id=None,
    )
    ev(
        c,
        cfg,
        "knowledge",
        "alarm_resolved",
        "2026-11-08T02:00:00",
        "on_alarm_resolved",
        alarm_id=101,
        answer_id=503,
        entry_id=None,
        team="east",
        raised_by=WANG[0],
        customer_id=None,
    )
    for entry in (901, 902):
        ev(
            c,
            cfg,
            "knowledge",
            "entry_published",
            "2026-11-09T02:00:00",
            "on_entry_published",
            entry_id=entry,
            title=f"经验{entry}",
            kind="faq",
            author_id=WANG[0],
            alarm_id=None,
            tags=[],
            team="east",
        )


def scored_team(appraisal, service_config):
    """The quarter, computed; 李雷's card scored by the manager (the others' not)."""
    quarter_of_activity(appraisal, service_config)
    cards = {
        c["person_id"]: c for c in call(service_config, ZHOU, "compute_scorecards", {"period": "2026-Q4"})
    }
    call(
        service_config,
        ZHOU,
        "set_manager_scores",
        cards[11]["id"],
        scores(80, teamwork=70, innovation=60, knowledge=90, leadership=75),
    )
    return cards
