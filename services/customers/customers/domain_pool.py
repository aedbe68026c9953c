"""The pool rules (公海规则), plain Python: each team's limits, when a customer goes back to the
team's pool on its own, when its owner is warned first, and what a salesperson may hold and take.

The rules, as a team's manager sets them (`PoolRules`; a team that set nothing has the defaults):

- **No follow-up** for ``followup_days`` days: the customer returns to the pool. The days count
  from its latest follow-up, or from when its owner got it if that is later (a customer just
  taken from the pool has a full period, whatever its former owner did).
- **No won deal** for ``won_deal_days`` days (0: the rule is off): counted from the latest won
  deal (pipeline's ``opportunity_won``), or from when its owner got it if that is later.
- Where both apply, no follow-up is the reason given (it is the one the owner can act on).
- **Warning**: ``warning_days`` before a return the owner is warned once (0: no warning); a
  warning within the last ``warning_days`` days is not repeated.
- **Holding**: nobody owns more than ``max_customers`` active customers: an entry, an import row
  or a take from the pool beyond it is refused.
- **Taking**: at most ``max_daily_takes`` takes from the pool per salesperson per local day.
- **Cool-down**: a former owner takes back a customer that left them for the pool only
  ``cooldown_days`` days after it left.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from crm_common.errors import InvalidInput
from customers.constants import (
    ACTIVE,
    DEFAULT_COOLDOWN_DAYS,
    DEFAULT_FOLLOWUP_DAYS,
    DEFAULT_MAX_CUSTOMERS,
    DEFAULT_MAX_DAILY_TAKES,
    DEFAULT_WARNING_DAYS,
    DEFAULT_WON_DEAL_DAYS,
    IN_POOL,
    NO_FOLLOWUP,
    NO_WON_DEAL,
)
from customers.domain_ownership import Move
from customers.exceptions import CustomerLimitReached, DailyTakeLimitReached, PoolCooldown

RULE_FIELDS = (
    "followup_days",
    "won_deal_days",
    "warning_days",
    "max_customers",
    "max_daily_takes",
    "cooldown_days",
)


@dataclass(frozen=True)
class PoolRules:
    """One team's pool rules (the defaults for a team that set none)."""

    followup_days: int = DEFAULT_FOLLOWUP_DAYS
    won_deal_days: int = DEFAULT_WON_DEAL_DAYS
    warning_days: int = DEFAULT_WARNING_DAYS
    max_customers: int = DEFAULT_MAX_CUSTOMERS
    max_daily_takes: int = DEFAULT_MAX_DAILY_TAKES
    cooldown_days: int = DEFAULT_COOLDOWN_DAYS

    @classmethod
    def of(cls, row: Any) -> PoolRules:
        """The rules stored in a settings row, or the defaults without one."""
        if row is None:
            return cls()
        return cls(**{name: getattr(row, name) for name in RULE_FIELDS})

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def check_coherent(rules: PoolRules) -> None:
    """InvalidInput (on ``warning_days``) when the warning would not come before the return: the
    rules as they would be saved, so a change of one rule is checked against the others kept."""
    if rules.warning_days >= rules.followup_days:
        raise InvalidInput(
            "the warning must come before the return",
            {
                "warning_days": [
                    f"the warning must come before the return (followup_days is {rules.followup_days})"
                ]
            },
        )


@dataclass(frozen=True)
class Due:
    """Why a customer is due back in the pool: the cause, the limit in days, since when."""

    cause: str
    days: int
    since: datetime

    def note(self) -> str:
        """The pool's reason in words a salesperson reads (shown as 退回原因)."""
        what = "未跟进" if self.cause == NO_FOLLOWUP else "未成交"
        return f"超过 {self.days} 天{what}，自动退回公海"


def _since(owned_since: datetime, latest: datetime | None) -> datetime:
    return latest if latest is not None and latest > owned_since else owned_since


def due(
    rules: PoolRules,
    now: datetime,
    owned_since: datetime,
    last_followup: datetime | None,
    last_won: datetime | None,
    ahead: timedelta = timedelta(0),
) -> Due | None:
    """Whether a customer's owner has let a limit pass at ``now + ahead`` (None: not due)."""
    at = now + ahead
    followed = _since(owned_since, last_followup)
    if at - followed >= timedelta(days=rules.followup_days):
        return Due(NO_FOLLOWUP, rules.followup_days, followed)
    if rules.won_deal_days:
        won = _since(owned_since, last_won)
        if at - won >= timedelta(days=rules.won_deal_days):
            return Due(NO_WON_DEAL, rules.won_deal_days, won)
    return None


def warning_due(
    rules: PoolRules,
    now: datetime,
    owned_since: datetime,
    last_followup: datetime | None,
    last_won: datetime | None,
    warned_at: datetime | None,
) -> Due | None:
    """The return the owner should be warned of now (within ``warning_days`` of it, not yet due,
    not warned within the last ``warning_days``), or None."""
    if rules.warning_days <= 0 or due(rules, now, owned_since, last_followup, last_won) is not None:
        return None
    if warned_at is not None and now - warned_at < timedelta(days=rules.warning_days):
        return None
    return due(rules, now, owned_since, last_followup, last_won, ahead=timedelta(days=rules.warning_days))


def earliest_start(rules: PoolRules, now: datetime) -> datetime:
    """A customer whose owner got it after this cannot be due nor warned now (a cheap filter)."""
    shortest = min(days for days in (rules.followup_days, rules.won_deal_days or rules.followup_days))
    return now - timedelta(days=max(shortest - max(rules.warning_days, 0), 0))


def return_to_pool(owner_id: int, owned_since: datetime, reason: Due, now: datetime) -> Move:
    """The schedule takes the customer from its owner back to the team's pool; the conditional
    update expects the same owner since the same moment (a take in between is not undone)."""
    return Move(
        reason.cause,
        owner_id,
        ACTIVE,
        None,
        IN_POOL,
        {"owner_id": owner_id, "status": ACTIVE, "owned_since": owned_since},
        {
            "owner_id": None,
            "owner_name": None,
            "owned_since": None,
            "status": IN_POOL,
            "pooled_at": now,
            "pooled_from": owner_id,
            "pool_reason": reason.note(),
            "pool_cause": reason.cause,
            "return_warned_at": None,
        },
    )


def check_capacity(rules: PoolRules, held: int, adding: int = 1) -> None:
    """CustomerLimitReached unless the salesperson may hold ``adding`` customers more."""
    if held + adding > rules.max_customers:
        raise CustomerLimitReached(
            f"客户数已达上限：已拥有 {held} 个，本团队每人最多 {rules.max_customers} 个",
            {"held": held, "limit": rules.max_customers},
        )


def room(rules: PoolRules, held: int) -> int:
    """How many customers more the salesperson may hold."""
    return max(rules.max_customers - held, 0)


def local_day_start(now: datetime, zone: tzinfo) -> datetime:
    """The start of ``now``'s calendar day in the service's time zone."""
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(0), tzinfo=zone)


def check_daily_takes(rules: PoolRules, taken_today: int) -> None:
    """DailyTakeLimitReached when the salesperson took as many as the team allows today."""
    if taken_today >= rules.max_daily_takes:
        raise DailyTakeLimitReached(
            f"今日领取已达上限：本团队每人每天最多领取 {rules.max_daily_takes} 个",
            {"taken_today": taken_today, "limit": rules.max_daily_takes},
        )


def check_cooldown(rules: PoolRules, left_at: datetime | None, now: datetime) -> None:
    """PoolCooldown while a former owner's cool-down on this customer runs."""
    if left_at is None or rules.cooldown_days <= 0:
        return
    until = left_at + timedelta(days=rules.cooldown_days)
    if now < until:
        raise PoolCooldown(
            f"该客户从你名下退回公海未满 {rules.cooldown_days} 天，{until.date().isoformat()} 后才能再领取",
            {"until": until.isoformat(), "cooldown_days": rules.cooldown_days},
        )
