"""Use cases of scorecards: compute a team's for a period from the evidence, read them (visibility),
score the manager's parts, publish, acknowledge, dispute, review, interview notes, drill down."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from appraisal import domain
from appraisal.constants import METRIC_EVIDENCE, Kind, Metric, State
from appraisal.exceptions import InvalidScore, NotManager, NotReviewer, ScorecardNotFound, ScoresMissing
from appraisal.models import Scorecard
from appraisal.store import KindCount, Store
from appraisal.usecases_schemes import require_manager_of, scheme_of
from crm_common.caller import Caller
from crm_common.clock import Clock
from crm_common.directory import People

ANSWER_WITHIN = timedelta(hours=24)
_NONE = KindCount(0, Decimal(0), 0)


def _today(clock: Clock, zone: ZoneInfo) -> Any:
    return clock.now().astimezone(zone).date()


def period_for(label: str, clock: Clock, zone: ZoneInfo) -> domain.Period:
    period = domain.parse_period(label)
    domain.require_not_future(period, _today(clock, zone))
    return period


# ---- computing --------------------------------------------------------------------------------


def gather_facts(
    store: Store, team: str, members: Sequence[Mapping], period: domain.Period
) -> dict[int, domain.Facts]:
    """Each member's counted evidence for ``period`` (targets from pipeline's, the manager's team
    figures for managers)."""
    ids = [m["id"] for m in members]
    counts = store.counts(ids, period.start, period.end)
    accepted = store.accepted_answers(ids, period.start, period.end)
    votes = store.received(ids, Kind.ENTRY_VOTED, period.start, period.end)
    targets = store.targets([f"user:{i}" for i in ids] + [f"team:{team}"])
    team_target = domain.period_target(period, targets[f"team:{team}"])
    if team_target is None:
        member_targets = [domain.period_target(period, targets[f"user:{i}"]) for i in ids]
        given = [t for t in member_targets if t is not None]
        team_target = sum(given, Decimal(0)) if given else None
    found = {}
    for member in members:
        person = member["id"]
        kinds = counts.get(person, {})
        team_figures: dict[str, Any] = {}
        if member.get("role") == "manager":
            alarms = store.team_alarms(team, period.start, period.end, person)
            team_figures = {
                "team_won_amount": store.team_won(team, period.start, period.end),
                "team_target": team_target,
                "team_alarms": len(alarms),
                "team_alarms_answered_in_a_day": sum(
                    1 for raised, first in alarms if first is not None and first - raised <= ANSWER_WITHIN
                ),
            }
        entries = kinds.get(Kind.ENTRY_PUBLISHED, _NONE)
        found[person] = domain.Facts(
            won_amount=kinds.get(Kind.DEAL_WON, _NONE).amount,
            won=kinds.get(Kind.DEAL_WON, _NONE).count,
            lost=kinds.get(Kind.DEAL_LOST, _NONE).count,
            customers_created=kinds.get(Kind.CUSTOMER_CREATED, _NONE).count,
            answers_for_colleagues=kinds.get(Kind.ANSWER, _NONE).count,
            answers_accepted=accepted.get(person, 0),
            entries_published=entries.count,
            entries_from_alarms=entries.flagged,
            reminders_due=kinds.get(Kind.REMINDER_DUE, _NONE).count,
            reminders_escalated=kinds.get(Kind.REMINDER_ESCALATED, _NONE).count,
            followups=kinds.get(Kind.FOLLOWUP, _NONE).count,
            followups_on_time=kinds.get(Kind.FOLLOWUP, _NONE).flagged,
            reminders_acknowledged_in_time=kinds.get(Kind.REMINDER_ACKNOWLEDGED, _NONE).flagged,
            useful_votes=votes.get(person, 0),
            onboarding_read=kinds.get(Kind.ENTRY_READ, _NONE).flagged,
            target=domain.period_target(period, targets[f"user:{person}"]),
            **team_figures,
        )
    return found


def _facts_data(facts: domain.Facts) -> dict:
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in vars(facts).items()}


def _manager_scores(card: Scorecard) -> dict[str, domain.ManagerScore]:
    return {
        key: domain.ManagerScore(Decimal(given["score"]), given["comment"])
        for key, given in json.loads(card.manager_scores or "{}").items()
    }


def _values(card: Scorecard) -> dict[str, Decimal | None]:
    return {k: (Decimal(v) if v is not None else None) for k, v in json.loads(card.values).items()}


def _rescore(card: Scorecard) -> domain.CardScore:
    scored = domain.score_card(
        domain.scheme_from_data(json.loads(card.scheme)), _values(card), _manager_scores(card)
    )
    card.total, card.rating = scored.total, scored.rating
    return scored


def compute_scorecards(
    store: Store, caller: Caller, wanted: Mapping[str, Any], *, clock: Clock, people: People, zone: ZoneInfo
) -> list[dict]:
    """Compute (or refresh) the draft scorecard of every active member of the team for the period,
    with the team's current scheme; the manager's scores given so far are kept. Cards past the draft
    stay as published. The team's manager or an admin; PeriodInFuture for a period not begun."""
    team = require_manager_of(caller, wanted.get("team"))
    period = period_for(wanted["period"], clock, zone)
    members = [
        m for m in people.team(team) if m.get("active", True) and m.get("role") in ("sales", "manager")
    ]
    facts = gather_facts(store, team, members, period)
    scheme = domain.scheme_data(scheme_of(store, team))
    now = clock.now()
    for member in members:
        person = member["id"]
        values = domain.metric_values(facts[person], is_manager=member.get("role") == "manager")
        fields = {
            "person_name": member.get("display_name") or member.get("username") or str(person),
            "role": member.get("role") or "sales",
            "team": team,
            "scheme": json.dumps(scheme, ensure_ascii=False),
            "facts": json.dumps(_facts_data(facts[person])),
            "values": json.dumps({k: (str(v) if v is not None else None) for k, v in values.items()}),
            "computed_at": now,
        }
        card = store.scorecard_of(person, period.label)
        if card is None:
            card = store.add_scorecard(person_id=person, period=period.label, state=State.DRAFT, **fields)
        elif card.state == State.DRAFT:
            for name, value in fields.items():
                setattr(card, name, value)
        else:
            continue
        _rescore(card)
    store.save()
    return team_scorecards(store, caller, {"team": team, "period": period.label})


# ---- reading ----------------------------------------------------------------------------------


def can_see(caller: Caller, card: Scorecard) -> bool:
    """Their own card once published (an admin always); a manager their team's others' cards; an
    admin every card."""
    if card.person_id == caller.user_id:
        return domain.visible_to_person(card.state) or caller.is_admin
    return caller.manages(card.team)


def _card(store: Store, caller: Caller, card_id: int) -> Scorecard:
    card = store.scorecard(card_id)
    if card is None or not can_see(caller, card):
        raise ScorecardNotFound(f"no scorecard {card_id}", {"scorecard_id": card_id})
    return card


def describe(store: Store, card: Scorecard, rank: int | None = None, with_notes: bool = False) -> dict:
    """What a scorecard shows: its indicators with their metrics, scores, total, rating, rank."""
    scored = domain.score_card(
        domain.scheme_from_data(json.loads(card.scheme)), _values(card), _manager_scores(card)
    )
    facts = json.loads(card.facts)
    view = {
        "id": card.id,
        "person_id": card.person_id,
        "person_name": card.person_name,
        "role": card.role,
        "team": card.team,
        "period": card.period,
        "state": card.state,
        "total": scored.total,
        "rating": scored.rating,
        "rank": rank,
        "missing": list(scored.missing),
        "won_amount": facts.get("won_amount"),
        "target": facts.get("target"),
        "indicators": [
            {
                "key": i.key,
                "name": i.name,
                "weight": i.weight,
                "manager_share": i.manager_share,
                "objective": i.objective,
                "manager_score": i.manager.score if i.manager else None,
                "manager_comment": i.manager.comment if i.manager else None,
                "score": i.score,
                "metrics": [{"metric": m, "value": v, "score": s} for m, v, s in i.terms],
            }
            for i in scored.indicators
        ],
        "computed_at": card.computed_at,
        "published_at": card.published_at,
        "acknowledged_at": card.acknowledged_at,
        "disputed_at": card.disputed_at,
        "dispute_reason": card.dispute_reason,
        "reviewed_at": card.reviewed_at,
        "reviewed_by": card.reviewed_by,
        "review_note": card.review_note,
    }
    if with_notes:
        view["notes"] = [
            {
                "id": n.id,
                "author_id": n.author_id,
                "author_name": n.author_name,
                "body": n.body,
                "created_at": n.created_at,
            }
            for n in store.notes(card.id)
        ]
    return view


def _rank_of(store: Store, card: Scorecard) -> int | None:
    cards = store.team_scorecards(card.team, card.period)
    return domain.ranks([(c.id, c.total) for c in cards]).get(card.id)


def get_scorecard(store: Store, caller: Caller, card_id: int) -> dict:
    card = _card(store, caller, card_id)
    return describe(store, card, _rank_of(store, card), with_notes=True)


def my_scorecards(store: Store, caller: Caller, period: str | None) -> list[dict]:
    """The caller's own scorecards once published (never a draft, a manager's own neither), newest
    period first."""
    cards = [c for c in store.person_scorecards(caller.user_id) if domain.visible_to_person(c.state)]
    if period is not None:
        cards = [c for c in cards if c.period == period]
    return [describe(store, c, _rank_of(store, c), with_notes=True) for c in cards]


def team_scorecards(store: Store, caller: Caller, wanted: Mapping[str, Any]) -> list[dict]:
    """The team's scorecards of the period with their ranks, best first (its manager, admins)."""
    team = require_manager_of(caller, wanted.get("team"))
    cards = [c for c in store.team_scorecards(team, wanted["period"]) if can_see(caller, c)]
    ranked = domain.ranks([(c.id, c.total) for c in cards])
    cards.sort(key=lambda c: (ranked[c.id] is None, ranked[c.id] or 0, c.person_id))
    return [describe(store, c, ranked[c.id]) for c in cards]


# metrics that count only the flagged rows of a kind (from an alarm, on time, before the SMS, pinned)
_FLAGGED_ONLY: dict[str, tuple[str, ...]] = {
    Metric.ENTRIES_FROM_ALARMS: (Kind.ENTRY_PUBLISHED,),
    Metric.FOLLOWUPS_ON_TIME: (Kind.FOLLOWUP,),
    Metric.REMINDERS_ACKNOWLEDGED_IN_TIME: (Kind.REMINDER_ACKNOWLEDGED,),
    Metric.ONBOARDING_READ: (Kind.ENTRY_READ,),
}


def evidence(store: Store, caller: Caller, card_id: int, wanted: Mapping[str, Any]) -> list[dict]:
    """The evidence behind a scorecard's metric (or all of it): the rows with their references."""
    card = _card(store, caller, card_id)
    period = domain.parse_period(card.period)
    metric = wanted.get("metric")
    kinds = METRIC_EVIDENCE[metric] if metric else tuple(str(k) for k in Kind)
    rows = store.evidence(card.person_id, kinds, period.start, period.end, wanted["limit"], wanted["offset"])
    accepted = (
        store.resolved_answer_ids(r.ref_id for r in rows if r.kind == Kind.ANSWER)
        if metric in (None, Metric.ANSWERS_ACCEPTED)
        else set()
    )
    found = []
    for row in rows:
        if metric == Metric.ANSWERS_ACCEPTED and row.ref_id not in accepted:
            continue
        if metric in _FLAGGED_ONLY and row.kind in _FLAGGED_ONLY[metric] and not row.flag:
            continue
        found.append(
            {
                "kind": row.kind,
                "ref_id": row.ref_id,
                "related_id": row.related_id,
                "amount": row.amount,
                "label": row.label,
                "day": row.day,
                "occurred_at": row.occurred_at,
                "source_event_id": row.source_event_id,
                "accepted": row.ref_id in accepted if row.kind == Kind.ANSWER else None,
            }
        )
    return found


# ---- the manager's part and the states ---------------------------------------------------------


def _as_manager(store: Store, caller: Caller, card_id: int) -> Scorecard:
    card = _card(store, caller, card_id)
    if card.person_id == caller.user_id or not caller.manages(card.team):
        raise NotManager("only the team's manager or an admin, and not on their own scorecard", {})
    return card


def _event(card: Scorecard, **extra: Any) -> dict:
    return {
        "scorecard_id": card.id,
        "person_id": card.person_id,
        "team": card.team,
        "period": card.period,
        "total": str(card.total) if card.total is not None else None,
        "rating": card.rating,
        **extra,
    }


def set_manager_scores(store: Store, caller: Caller, card_id: int, wanted: Mapping[str, Any]) -> dict:
    """The manager's score (0–100) and comment per indicator of a draft; InvalidScore for a score
    outside 0–100 or an indicator the scheme lacks."""
    card = _as_manager(store, caller, card_id)
    domain.transition(card.state, "score")
    scores = _merge_scores(card, wanted["scores"])
    card.manager_scores = json.dumps(scores, ensure_ascii=False)
    card.scored_by = caller.user_id
    _rescore(card)
    store.save()
    return get_scorecard(store, caller, card.id)


def _merge_scores(card: Scorecard, given: Sequence[Mapping[str, Any]]) -> dict:
    keys = {i["key"] for i in json.loads(card.scheme)["indicators"]}
    scores = json.loads(card.manager_scores or "{}")
    for i, item in enumerate(given):
        if item["indicator"] not in keys:
            raise InvalidScore(
                f"no indicator {item['indicator']!r}",
                {f"scores.{i}.indicator": [f"one of {', '.join(sorted(keys))}"]},
            )
        score = domain.check_score(item["score"], f"scores.{i}.score")
        scores[item["indicator"]] = {"score": str(score), "comment": item["comment"]}
    return scores


def publish(store: Store, caller: Caller, card_id: int, *, clock: Clock) -> dict:
    """Publish a draft to its employee; ScoresMissing until every manager part is scored. Emits
    ``scorecard_published``."""
    card = _as_manager(store, caller, card_id)
    state = domain.transition(card.state, "publish")
    scored = _rescore(card)
    if scored.missing:
        raise ScoresMissing("score every indicator first", {"missing": list(scored.missing)})
    card.state, card.published_at, card.published_by = state, clock.now(), caller.user_id
    store.save()
    store.emit("scorecard_published", _event(card, published_by=caller.user_id))
    return get_scorecard(store, caller, card.id)


def _as_person(store: Store, caller: Caller, card_id: int) -> Scorecard:
    card = _card(store, caller, card_id)
    if card.person_id != caller.user_id:
        raise NotManager("only the appraised person may do this", {})
    return card


def acknowledge(store: Store, caller: Caller, card_id: int, *, clock: Clock) -> dict:
    """The employee accepts their published scorecard; emits ``scorecard_acknowledged``."""
    card = _as_person(store, caller, card_id)
    card.state = domain.transition(card.state, "acknowledge")
    card.acknowledged_at = clock.now()
    store.save()
    store.emit("scorecard_acknowledged", _event(card))
    return get_scorecard(store, caller, card.id)


def dispute(store: Store, caller: Caller, card_id: int, reason: str, *, clock: Clock) -> dict:
    """The employee disputes their published scorecard with a reason; emits ``scorecard_disputed``."""
    card = _as_person(store, caller, card_id)
    card.state = domain.transition(card.state, "dispute")
    card.disputed_at, card.dispute_reason = clock.now(), reason
    store.save()
    store.emit("scorecard_disputed", _event(card, reason=reason))
    return get_scorecard(store, caller, card.id)


def review(
    store: Store, caller: Caller, card_id: int, wanted: Mapping[str, Any], *, clock: Clock, people: People
) -> dict:
    """A higher manager settles a dispute: an admin, or the manager of whoever scored the card
    (accounts' ``manager_id``), never the scorer; may change manager scores; emits
    ``scorecard_reviewed``."""
    card = store.scorecard(card_id)
    if card is None:
        raise ScorecardNotFound(f"no scorecard {card_id}", {"scorecard_id": card_id})
    scorer = card.scored_by or card.published_by
    higher = (people.user(scorer) or {}).get("manager_id") if scorer is not None else None
    if not caller.is_admin and (
        higher is None or higher != caller.user_id or caller.user_id == card.person_id
    ):
        raise NotReviewer("a dispute is reviewed by the scorer's own manager or an admin", {})
    state = domain.transition(card.state, "review")
    if wanted.get("scores"):
        card.manager_scores = json.dumps(_merge_scores(card, wanted["scores"]), ensure_ascii=False)
    _rescore(card)
    card.state, card.reviewed_at, card.reviewed_by, card.review_note = (
        state,
        clock.now(),
        caller.user_id,
        wanted["note"],
    )
    store.save()
    store.emit("scorecard_reviewed", _event(card, reviewed_by=caller.user_id, note=wanted["note"]))
    return describe(store, card, _rank_of(store, card), with_notes=True)


def add_interview_note(
    store: Store, caller: Caller, card_id: int, body: str, *, clock: Clock, people: People
) -> dict:
    """The manager's notes of the appraisal interview (面谈) on a published scorecard."""
    card = _as_manager(store, caller, card_id)
    domain.require_interviewable(card.state)
    store.add_note(
        scorecard_id=card.id,
        author_id=caller.user_id,
        author_name=people.name_of(caller),
        body=body,
        created_at=clock.now(),
    )
    return get_scorecard(store, caller, card.id)
