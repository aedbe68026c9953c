"""notify's rules for notices: the notification a team's managers get for an alarm or a
suspected duplicate customer, and the one an owner gets before the pool rules return their
customer to the pool, built from the event. Plain Python only."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from notify.constants import NO_WON_DEAL
from notify.domain import InvalidEventPayload, to_local
from notify.domain_sms import clip_text

# --------------------------------------------------------------------------- manager notices


@dataclass(frozen=True)
class ManagerNotice:
    """An in-app notification for the team's manager, built from an event."""

    kind: str
    title: str
    body: str
    subject_type: str
    subject_id: int | str | None
    event_id: str | None
    team: str | None = None


RETURN_WARNING_KIND = "customer_return_warning"

_MATCH_REASONS = {
    "name": "公司名称相近",
    "phone": "电话相同",
    "address": "地址相近",
    "contact": "联系人相同",
    "contact_phone": "联系人电话相同",
}


def _event_data(payload: object) -> tuple[Mapping[str, Any], str | None]:
    if not isinstance(payload, Mapping) or not isinstance(payload.get("data"), Mapping):
        raise InvalidEventPayload("event payload needs a 'data' object")
    event_id = payload.get("event_id")
    return payload["data"], str(event_id) if event_id is not None else None


def _first(data: Mapping[str, Any], *keys: str, default: str | None = None) -> Any:
    for key in keys:
        value = data.get(key)
        if value not in (None, ""):
            return value
    return default


def _format_score(score: object) -> str | None:
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        return None
    # scanners report 0–1 or rapidfuzz's 0–100
    percent = score * 100 if score <= 1 else score
    return f"{percent:.0f}%"


def alarm_raised_notice(payload: Mapping[str, Any]) -> ManagerNotice:
    """Build the manager's notification for an ``alarm_raised`` event.

    Reads ``data`` keys alarm_id, title, problem, customer_id, customer_name, raised_by_name
    (or owner_name / raised_by), team; all but the envelope's ``data`` may be missing.
    Raises :class:`InvalidEventPayload` when ``data`` is absent.
    """
    data, event_id = _event_data(payload)
    who = _first(data, "raised_by_name", "owner_name", "display_name", "raised_by", default="销售")
    alarm_title = _first(data, "title", default="（无标题）")
    customer = _first(data, "customer_name")
    about = f"（客户「{customer}」）" if customer else ""
    body = f"{who}发起困难报警{about}：{alarm_title}。"
    problem = _first(data, "problem")
    if problem:
        body += f"问题：{clip_text(problem, 120)}"
    body += " 请尽快回复或安排同事协助。"
    return ManagerNotice(
        kind="alarm_raised",
        title=f"困难报警：{who}需要帮助",
        body=body,
        subject_type="alarm",
        subject_id=_first(data, "alarm_id", "id"),
        event_id=event_id,
        team=_first(data, "team"),
    )


def duplicate_suspected_notice(payload: Mapping[str, Any]) -> ManagerNotice:
    """Build the manager's notification for a ``customer_duplicate_suspected`` event.

    Reads ``data`` keys customer_id, customer_name|name, owner_name and either a ``matches`` list
    (customer_id, customer_name|name, owner_name|owner, score, matched_on|reason) or the same
    facts flat (duplicate_of_name|matched_customer_name, duplicate_owner_name|matched_owner_name,
    score, reason) as customers' contract sends them.
    Missing optional fields are left out. Raises :class:`InvalidEventPayload` without ``data``.
    """
    data, event_id = _event_data(payload)
    name = _first(data, "customer_name", "name", default="（未命名客户）")
    owner = _first(data, "owner_name", "owner_display_name", "owner")
    matches = data.get("matches")
    match: Mapping[str, Any] = (
        matches[0] if isinstance(matches, list) and matches and isinstance(matches[0], Mapping) else {}
    )
    other_name = _first(match, "customer_name", "name") or _first(
        data, "duplicate_of_name", "matched_customer_name", "existing_customer_name"
    )
    other_owner = _first(match, "owner_name", "owner") or _first(
        data, "duplicate_owner_name", "matched_owner_name", "existing_owner_name"
    )
    score = _format_score(match.get("score", data.get("score")))
    reason = _first(match, "matched_on", "reason") or _first(data, "reason", "matched_on")

    entered = f"{owner}新录入的客户「{name}」" if owner else f"新录入的客户「{name}」"
    body = entered
    if other_name:
        holder = f"{other_owner}名下的" if other_owner else "已有客户"
        body += f"与{holder}「{other_name}」疑似重复"
    else:
        body += "疑似与已有客户重复"
    facts = []
    if score:
        facts.append(f"相似度 {score}")
    if reason:
        facts.append(f"依据：{_MATCH_REASONS.get(str(reason), str(reason))}")
    if facts:
        body += f"（{'，'.join(facts)}）"
    body += "。请核实归属，避免撞单。"
    more = len(matches) - 1 if isinstance(matches, list) and len(matches) > 1 else 0
    if more:
        body += f"另有 {more} 个相似客户。"
    return ManagerNotice(
        kind="customer_duplicate_suspected",
        title=f"疑似重复客户：{name}",
        body=body,
        subject_type="customer",
        subject_id=_first(data, "customer_id", "id"),
        event_id=event_id,
        team=_first(data, "team"),
    )


# --------------------------------------------------------------------------- owner notices


@dataclass(frozen=True)
class OwnerNotice:
    """An in-app notification for a customer's owner (the pool rules' warning)."""

    kind: str
    title: str
    body: str
    customer_id: int


def return_warning_notice(
    customer_id: int, name: str, reason: str | None, days: int, return_at: datetime, now: datetime, tz: str
) -> OwnerNotice:
    """The owner's notice that the pool rules will return a customer to the team's pool soon
    (customers' ``customer_return_warning``): the rule, the local day of the return and the days
    left (a part of a day counts as a day), and what keeps the customer."""
    days_left = max(math.ceil((return_at - now) / timedelta(days=1)), 0)
    day = to_local(return_at, tz).date()
    when = f"{day.month} 月 {day.day} 日（{'今天' if days_left == 0 else f'{days_left} 天后'}）"
    if reason == NO_WON_DEAL:
        rule, keep = f"超过 {days} 天没有成交", "赢下一个商机即可保留"
    else:
        rule, keep = f"超过 {days} 天没有跟进记录", "添加一条跟进记录即可保留"
    return OwnerNotice(
        kind=RETURN_WARNING_KIND,
        title=f"客户即将退回公海：{name}",
        body=f"客户「{name}」{rule}，将于 {when}自动退回团队公海。{keep}。",
        customer_id=customer_id,
    )
