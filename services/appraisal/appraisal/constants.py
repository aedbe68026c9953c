"""The appraisal service's fixed vocabulary: scorecard states, evidence kinds, the metrics an
indicator's objective part may use, the default scheme and rating bands (stdlib only: schemas,
domain and use cases share them)."""

from __future__ import annotations

import re
from enum import StrEnum

MAX_ID = 2**31 - 1
MAX_COMMENT = 2000
MAX_INDICATORS = 12
# "2026-Q3" (a quarter) or "2026" (the year's roll-up)
PERIOD_PATTERN = re.compile(r"^(?P<year>\d{4})(?:-Q(?P<quarter>[1-4]))?$")


class State(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ACKNOWLEDGED = "acknowledged"
    DISPUTED = "disputed"
    REVIEWED = "reviewed"


class Kind(StrEnum):
    """What one evidence row records (one row per person and event)."""

    DEAL_WON = "deal_won"  # pipeline.opportunity_won: the owner; ref the opportunity; amount
    DEAL_LOST = "deal_lost"  # pipeline.opportunity_lost: the owner; ref the opportunity
    CUSTOMER_CREATED = "customer_created"  # customers.customer_created: the owner; ref the customer
    REMINDER_DUE = "reminder_due"  # notify.reminder_due: the owner; ref the reminder
    REMINDER_ESCALATED = "reminder_escalated"  # notify.reminder_escalated: the owner; ref the reminder
    ALARM_RAISED = "alarm_raised"  # knowledge.alarm_raised: the raiser; ref the alarm
    ANSWER = "answer"  # knowledge.alarm_answered for a colleague: the answerer; ref the answer
    ALARM_RESOLVED = "alarm_resolved"  # knowledge.alarm_resolved: the raiser; ref the accepted answer
    ENTRY_PUBLISHED = "entry_published"  # knowledge.entry_published: the author; ref the entry
    ANSWER_ACCEPTED = "answer_accepted"  # knowledge.alarm_resolved: the accepted answer's author; ref it
    FOLLOWUP = "followup"  # customers.followup_recorded: who recorded it; ref the follow-up; flag on time
    REMINDER_ACKNOWLEDGED = "reminder_acknowledged"  # notify: the owner; ref the reminder; flag before SMS
    ENTRY_VOTED = "entry_voted"  # knowledge.entry_voted: the voter; ref the entry; related its author
    ENTRY_READ = "entry_read"  # knowledge.entry_read: the reader; ref the entry; flag pinned (onboarding)


# Kinds whose row credits the person in ``related_id`` (a useful vote: the entry's author), not the
# person who acted.
RECEIVED_KINDS = frozenset({Kind.ENTRY_VOTED})


class Metric(StrEnum):
    """The figures an indicator's objective part is computed from (see ``domain.metric_values``)."""

    ATTAINMENT = "attainment"  # won amount ÷ target (ratio)
    CUSTOMERS_CREATED = "customers_created"  # new customers entered (count)
    WIN_RATE = "win_rate"  # won ÷ (won + lost) deals (ratio)
    ANSWERS_FOR_COLLEAGUES = "answers_for_colleagues"  # answers to colleagues' alarms (count)
    ANSWERS_ACCEPTED = "answers_accepted"  # of those, accepted as the alarm's solution (count)
    ENTRIES_PUBLISHED = "entries_published"  # knowledge entries written (count)
    ENTRIES_FROM_ALARMS = "entries_from_alarms"  # entries published from a resolved alarm (count)
    REMINDERS_ON_TIME = "reminders_on_time"  # reminders not escalated by SMS ÷ reminders due (ratio)
    TEAM_ATTAINMENT = "team_attainment"  # managers: the team's won amount ÷ its target (ratio)
    ALARMS_ANSWERED_IN_A_DAY = (
        "alarms_answered_in_a_day"  # managers: team alarms they answered within 24 h ÷ raised
    )
    FOLLOWUPS = "followups"  # follow-ups recorded (count)
    FOLLOWUPS_ON_TIME = "followups_on_time"  # follow-ups on or before the revisit date (count)
    REMINDERS_ACKNOWLEDGED_IN_TIME = (
        "reminders_acknowledged_in_time"  # acknowledged before the SMS ÷ (those + escalated) (ratio)
    )
    USEFUL_VOTES = "useful_votes"  # colleagues' useful votes on the person's entries (count)
    ONBOARDING_READ = "onboarding_read"  # entries pinned for newcomers the person read (count)


# Metrics only a manager has (a salesperson's indicator leaves them out).
MANAGER_METRICS = frozenset({Metric.TEAM_ATTAINMENT, Metric.ALARMS_ANSWERED_IN_A_DAY})

# The evidence behind each metric (the drill-down).
METRIC_EVIDENCE: dict[str, tuple[str, ...]] = {
    Metric.ATTAINMENT: (Kind.DEAL_WON,),
    Metric.CUSTOMERS_CREATED: (Kind.CUSTOMER_CREATED,),
    Metric.WIN_RATE: (Kind.DEAL_WON, Kind.DEAL_LOST),
    Metric.ANSWERS_FOR_COLLEAGUES: (Kind.ANSWER,),
    Metric.ANSWERS_ACCEPTED: (Kind.ANSWER,),
    Metric.ENTRIES_PUBLISHED: (Kind.ENTRY_PUBLISHED,),
    Metric.ENTRIES_FROM_ALARMS: (Kind.ENTRY_PUBLISHED,),
    Metric.REMINDERS_ON_TIME: (Kind.REMINDER_DUE, Kind.REMINDER_ESCALATED),
    Metric.TEAM_ATTAINMENT: (Kind.DEAL_WON,),
    Metric.ALARMS_ANSWERED_IN_A_DAY: (Kind.ANSWER,),
    Metric.FOLLOWUPS: (Kind.FOLLOWUP,),
    Metric.FOLLOWUPS_ON_TIME: (Kind.FOLLOWUP,),
    Metric.REMINDERS_ACKNOWLEDGED_IN_TIME: (Kind.REMINDER_ACKNOWLEDGED, Kind.REMINDER_ESCALATED),
    Metric.USEFUL_VOTES: (Kind.ENTRY_VOTED,),
    Metric.ONBOARDING_READ: (Kind.ENTRY_READ,),
}

# Rating bands: a total at or above a threshold earns the band (checked from the top).
RATINGS = ("优秀", "良好", "合格", "待改进")
DEFAULT_BANDS = {"excellent": "90", "good": "80", "pass": "60"}

# The department's five indicators (issue 14). ``par`` is the figure that earns the full 100 of a
# metric; ``weight`` its share among the indicator's metrics; ``manager_share`` the percentage of
# the indicator that is the manager's score.
DEFAULT_SCHEME: list[dict] = [
    {
        "key": "attainment",
        "name": "目标达成",
        "weight": 40,
        "manager_share": 20,
        "metrics": [
            {"metric": "attainment", "par": "1", "weight": 4},
            {"metric": "customers_created", "par": "10", "weight": 1},
        ],
    },
    {
        "key": "teamwork",
        "name": "团队协作",
        "weight": 20,
        "manager_share": 40,
        "metrics": [
            {"metric": "answers_for_colleagues", "par": "5", "weight": 1},
            {"metric": "reminders_on_time", "par": "1", "weight": 1},
        ],
    },
    {
        "key": "innovation",
        "name": "创新与解决问题",
        "weight": 20,
        "manager_share": 40,
        "metrics": [
            {"metric": "answers_accepted", "par": "3", "weight": 1},
            {"metric": "entries_from_alarms", "par": "2", "weight": 1},
        ],
    },
    {
        "key": "knowledge",
        "name": "专业知识",
        "weight": 10,
        "manager_share": 50,
        "metrics": [{"metric": "entries_published", "par": "3", "weight": 1}],
    },
    {
        "key": "leadership",
        "name": "领导力",
        "weight": 10,
        "manager_share": 50,
        "metrics": [
            {"metric": "team_attainment", "par": "1", "weight": 1},
            {"metric": "alarms_answered_in_a_day", "par": "1", "weight": 1},
        ],
    },
]
