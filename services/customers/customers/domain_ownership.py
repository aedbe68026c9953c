"""Who owns a customer and who may do what: decision levels and disputes, access, the ownership
state machine (abandon, hand-over, archive, the pool). Plain Python: no nameko, no SQLAlchemy.

Decision levels
---------------
A contact's ``decision_level`` runs from 1 to 5, **5 being the most senior**:
5 老板 / 法人 / 总经理 (has the final say), 4 副总 / 分管领导, 3 部门经理 / 采购经理,
2 主管 / 采购员, 1 普通员工 / 前台 (no say in the purchase).

Ownership disputes
------------------
The rule of the source: the salesperson dealing with the more senior decision maker wins;
on a tie, whoever entered first (the owner's ``entered_at`` is when the customer was
entered, a challenger's is when the claim was made, so the owner wins ties). Equal levels
and equal times keep the order given, owner first. The system only proposes: a manager
resolves.

Who may do what
---------------
A salesperson reads in full the customers they own; a manager the team's (the pool and archived
ones included); an admin all (`can_read_in_full`). Others learn only that a customer exists and
whose it is (the duplicate check). Managers approve amendments, resolve disputes and decide
suspected duplicates of their team; any salesperson of a team takes from its pool.

Giving up a customer
--------------------
Only the owner gives up a customer, and only with a difficulty alarm about that customer that a
manager has answered (`check_abandon_alarm`); it then goes to its team's pool.

"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm_common.caller import Caller
from crm_common.errors import Conflict, Forbidden, InvalidInput
from customers.constants import (
    ACTIVE,
    ARCHIVED,
    DECISION_LEVEL_MAX,
    DECISION_LEVEL_MIN,
    IN_POOL,
    CustomerId,  # noqa: F401 — re-exported: the domain's words
)
from customers.exceptions import (
    AlarmRequired,
    CustomerArchived,
    CustomerInPool,
    NotInPool,
    NotYourCustomer,
    UnknownUser,
)
from customers.normalize import (
    MAX_NAME_LENGTH,  # noqa: F401 — the entry limits, re-exported for schemas
    MAX_PHONE_LENGTH,  # noqa: F401
)

# --- decision levels and disputes -----------------------------------------------------------


class InvalidDecisionLevel(ValueError):
    """A decision level outside 1–5, or not a whole number."""


def validate_decision_level(level: object) -> int:
    """Return ``level`` as an int in 1–5; raises `InvalidDecisionLevel` otherwise."""
    if isinstance(level, bool) or not isinstance(level, int):
        raise InvalidDecisionLevel(f"决策级别必须是 1–5 的整数：{repr(level)[:40]}")
    if not DECISION_LEVEL_MIN <= level <= DECISION_LEVEL_MAX:
        raise InvalidDecisionLevel(f"决策级别必须是 1–5 的整数：{level!r}")
    return level


@dataclass(frozen=True)
class Claimant:
    """A salesperson's standing in a dispute: the contact they deal with and when they entered."""

    salesperson_id: CustomerId
    contact_name: str
    decision_level: int
    entered_at: datetime

    def __post_init__(self) -> None:
        validate_decision_level(self.decision_level)


@dataclass(frozen=True)
class DisputeProposal:
    winner: Claimant
    reason: str


def propose_dispute_winner(claims: Sequence[Claimant]) -> DisputeProposal:
    """Propose who should own the customer: the more senior contact wins, a tie goes to the
    first entered.

    ``claims`` holds the owner and every challenger. Raises `ValueError` when it is empty.
    """
    if not claims:
        raise ValueError("a dispute needs at least one claimant")
    ranked = sorted(
        enumerate(claims),
        key=lambda indexed: (-indexed[1].decision_level, indexed[1].entered_at, indexed[0]),
    )
    winner = ranked[0][1]
    if len(ranked) == 1:
        return DisputeProposal(winner, "只有一位申请人")
    runner_up = ranked[1][1]
    if winner.decision_level > runner_up.decision_level:
        reason = (
            f"联系人 {winner.contact_name} 的决策级别 {winner.decision_level} 最高"
            f"（其次为 {runner_up.decision_level}）"
        )
    else:
        reason = (
            f"联系人决策级别相同（{winner.decision_level}），"
            f"先录入者优先（{winner.entered_at:%Y-%m-%d %H:%M}）"
        )
    return DisputeProposal(winner, reason)


@dataclass(frozen=True)
class Owner:
    """Who a customer is (to be) owned by: the owner's id, display name and team."""

    user_id: int
    display_name: str
    team: str | None


# --- who may do what -------------------------------------------------------------------------


def can_read_in_full(caller: Caller, owner_id: int | None, team: str | None, status: str) -> bool:
    """A salesperson reads their own customers, a manager the team's, an admin all.

    An archived customer is for the team's manager and admins only; a customer in the pool is
    read in full by the team's manager (salespeople see it in the pool list and take it).
    """
    if caller.is_admin:
        return True
    if status == ARCHIVED:
        return caller.manages(team)
    return (status == ACTIVE and owner_id == caller.user_id) or caller.manages(team)


def check_can_read(caller: Caller, owner_id: int | None, team: str | None, status: str) -> None:
    """Raise NotYourCustomer unless the caller may read this customer in full."""
    if not can_read_in_full(caller, owner_id, team, status):
        raise NotYourCustomer("this customer belongs to someone else", {"owner_id": owner_id})


def listing_scope(caller: Caller) -> tuple[str, Any]:
    """Which customers the caller lists: ("all", None), ("team", team) or ("own", user_id)."""
    if caller.is_admin:
        return "all", None
    if caller.is_manager and caller.team:
        return "team", caller.team
    return "own", caller.user_id


def check_manages(caller: Caller, team: str | None, action: str) -> None:
    """Raise Forbidden unless the caller is the team's manager or an admin."""
    if not caller.manages(team):
        raise Forbidden(f"only the team's manager or an admin may {action}", {"team": team})


def check_may_take(caller: Caller, team: str | None, status: str) -> None:
    """Any salesperson (or the manager) of the pool's team takes a customer from it."""
    if status != IN_POOL:
        raise NotInPool("this customer is not in the pool", {"status": status})
    if caller.role not in ("sales", "manager") or team is None or caller.team != team:
        raise Forbidden("only the team's salespeople take customers from its pool", {"team": team})


def check_may_claim(caller: Caller, owner_id: int | None, status: str) -> None:
    """A salesperson or manager who does not own an active customer may claim it."""
    if status == IN_POOL:
        raise CustomerInPool("this customer is in the pool: take it instead of claiming it")
    if status == ARCHIVED:
        raise CustomerArchived("this customer is archived")
    if caller.role not in ("sales", "manager"):
        raise Forbidden("only salespeople and managers claim customers", {"role": caller.role})
    if owner_id == caller.user_id:
        raise Conflict("you already own this customer")


def check_may_assign(caller: Caller, owner: Mapping[str, Any] | None, action: str) -> None:
    """The new owner must be an active salesperson or manager the caller manages
    (themself, for a salesperson)."""
    if owner is None or not owner.get("active", True):
        raise UnknownUser("no such active user", {"owner_id": ["no such active user"]})
    if owner["role"] not in ("sales", "manager"):
        raise InvalidInput("customers are owned by salespeople or managers", {"owner_id": ["not a seller"]})
    if owner["id"] == caller.user_id and caller.role in ("sales", "manager"):
        return
    if not caller.manages(owner.get("team")):
        raise Forbidden(f"you may not {action} for this user", {"owner_id": owner["id"]})


# --- disputes: the owner's standing ------------------------------------------------------------

NO_CONTACT = "（未登记联系人）"


def owner_standing(owner_id: int, contacts: Iterable[Mapping[str, Any]], owned_since: datetime) -> Claimant:
    """The owner as a claimant: their most senior recorded contact, since they got the customer.

    An owner with no contact of known decision level stands at the lowest level.
    """
    ranked = [contact for contact in contacts if contact.get("decision_level")]
    senior = max(ranked, key=lambda contact: contact["decision_level"], default=None)
    if senior is None:
        return Claimant(owner_id, NO_CONTACT, DECISION_LEVEL_MIN, owned_since)
    return Claimant(owner_id, senior.get("name") or NO_CONTACT, senior["decision_level"], owned_since)


def choose_winner(proposal: DisputeProposal, claimants: Sequence[Claimant], winner_id: Any) -> Claimant:
    """The manager's choice among the claimants, or the system's proposal when none is given."""
    if winner_id is None:
        return proposal.winner
    for claimant in claimants:
        if claimant.salesperson_id == winner_id:
            return claimant
    raise InvalidInput(
        "the winner must be the owner or one of the claimants", {"winner_id": ["not a claimant"]}
    )


# --- giving up a customer ----------------------------------------------------------------------


def check_abandon_alarm(alarm: Mapping[str, Any] | None, customer_id: int) -> None:
    """Raise AlarmRequired unless ``alarm`` is about this customer and a manager answered it."""
    if alarm is None:
        raise AlarmRequired("no such difficulty alarm: raise one about this customer first")
    if alarm.get("customer_id") != customer_id:
        raise AlarmRequired(
            "the difficulty alarm is about another customer",
            {"alarm_id": alarm.get("alarm_id"), "customer_id": alarm.get("customer_id")},
        )
    if not alarm.get("manager_answered"):
        raise AlarmRequired(
            "a manager has not answered the difficulty alarm yet", {"alarm_id": alarm.get("alarm_id")}
        )


def check_may_abandon(caller: Caller, owner_id: int | None, status: str, alarm_id: int | None) -> None:
    """Only the owner gives up an active customer, and only naming a difficulty alarm
    (which `check_abandon_alarm` then checks)."""
    if status == IN_POOL:
        raise CustomerInPool("the customer is already in the pool")
    if status != ACTIVE or owner_id != caller.user_id:
        raise NotYourCustomer("only the owner gives up a customer", {"owner_id": owner_id})
    if alarm_id is None:
        raise AlarmRequired("raise a difficulty alarm about this customer; a manager must answer it first")


def check_may_archive(caller: Caller) -> None:
    """Admins archive customers."""
    caller.require_role("admin")


def check_archivable(status: str) -> None:
    """A customer is archived once."""
    if status == ARCHIVED:
        raise CustomerArchived("the customer is already archived")


def check_may_override(caller: Caller) -> None:
    """A manager or an admin lets a duplicate entry through."""
    if not (caller.is_admin or caller.is_manager):
        raise Forbidden("only a manager or an admin lets a duplicate entry through")


def check_is_manager(caller: Caller, what: str) -> None:
    """Managers and admins only: Forbidden("``what`` are for managers") for anyone else."""
    if not (caller.is_admin or caller.is_manager):
        raise Forbidden(f"{what} are for managers")


def check_manages_either(caller: Caller, teams: Iterable[str | None], message: str) -> None:
    """Forbidden unless the caller manages one of ``teams`` (an admin manages all)."""
    if not any(caller.manages(team) for team in teams):
        raise Forbidden(message)


def check_may_own_import(caller: Caller) -> None:
    """A salesperson or manager imports for themself; anyone else names who the customers are for."""
    if caller.role not in ("sales", "manager"):
        raise InvalidInput("name the salesperson the customers are for", {"owner_id": ["required"]})


def pool_team(caller: Caller) -> tuple[bool, str | None]:
    """Whose pool the caller sees: (sees any, team — None for every team)."""
    if caller.is_admin:
        return True, None
    return caller.team is not None, caller.team


# --- the ownership state machine ---------------------------------------------------------------
#
#   active --abandon--> pool          (the owner, with an answered difficulty alarm)
#   active|pool --hand over--> active (transfer, resolved claim, confirmed duplicate, pool take)
#   active|pool --archive--> archived (an admin; the keys are released)
#
# Each move is a conditional update (the columns in ``expected`` must still hold: one of several
# workers moving a customer at once wins) plus one ownership change row, and — except a handover
# that settles the customer's own dispute — lapses its open dispute.

ABANDONED, ARCHIVE, HAND_OVER = "abandon", "archive", "hand_over"
MOVES: dict[str, tuple[tuple[str, ...], str]] = {
    ABANDONED: ((ACTIVE,), IN_POOL),
    HAND_OVER: ((ACTIVE, IN_POOL), ACTIVE),
    ARCHIVE: ((ACTIVE, IN_POOL), ARCHIVED),
}


@dataclass(frozen=True)
class Move:
    """One change of a customer's owner or status, as columns to write and history to keep."""

    reason: str  # the ownership change's reason: abandoned, archived, admin, claim, pool_take …
    from_owner_id: int | None
    from_status: str
    to_owner_id: int | None
    to_status: str
    expected: dict[str, Any]  # the columns that must still hold
    values: dict[str, Any]  # the customer's columns after the move
    lapses_dispute: bool = True


def _to_status(move: str, status: str) -> str:
    sources, target = MOVES[move]
    if status not in sources:
        raise ValueError(f"no {move} from {status}")
    return target


def abandon(owner_id: int, status: str, reason: str, now: datetime, cause: str = "abandoned") -> Move:
    """The owner gives the customer up to the team's pool (``cause``: abandoned, or released for
    退回公海 — the same rule)."""
    return Move(
        cause,
        owner_id,
        status,
        None,
        _to_status(ABANDONED, status),
        {"owner_id": owner_id, "status": status},
        {
            "owner_id": None,
            "owner_name": None,
            "owned_since": None,
            "status": IN_POOL,
            "pooled_at": now,
            "pooled_from": owner_id,
            "pool_reason": reason,
            "pool_cause": cause,
        },
    )


def hand_over(owner_id: int | None, status: str, owner: Owner, reason: str, now: datetime) -> Move:
    """``owner`` gets the customer (from its owner or the pool); a handover that settles the
    customer's own dispute (reason "claim") leaves that dispute to its resolution."""
    return Move(
        reason,
        owner_id,
        status,
        owner.user_id,
        _to_status(HAND_OVER, status),
        {"owner_id": owner_id, "status": status},
        {
            "owner_id": owner.user_id,
            "owner_name": owner.display_name,
            "team": owner.team,
            "owned_since": now,
            "status": ACTIVE,
            "pooled_at": None,
            "pooled_from": None,
            "pool_reason": None,
            "pool_cause": None,
            "return_warned_at": None,
        },
        lapses_dispute=reason != "claim",
    )


def archive(owner_id: int | None, status: str, now: datetime) -> Move:
    """An admin archives the customer: its owner stays on record, it leaves every list."""
    return Move(
        "archived",
        owner_id,
        status,
        owner_id,
        _to_status(ARCHIVE, status),
        {"status": status},
        {"status": ARCHIVED, "archived_at": now},
    )
