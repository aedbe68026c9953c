"""Business rules of the knowledge service: entries, search ranking, difficulty alarms.

Plain Python: no nameko, no SQLAlchemy, no clock (``now`` is always passed in).
Every refusal is a :class:`KnowledgeRuleError` (a ``ValueError``) with a stable ``code``
the gateway maps to an HTTP status.
"""

from __future__ import annotations

import dataclasses
import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Literal, NamedTuple, Protocol, TypeVar

UserId = int | str
EntityId = int | str

MAX_TAGS = 10
MAX_TAG_LENGTH = 30
MAX_TITLE_LENGTH = 200

ABANDON_RULE = (
    "A customer may be given up only if a difficulty alarm about that customer exists "
    "and a manager of the team has answered it. "
    "放弃客户前必须就该客户发起困难报警，并由本团队经理答复。"
)


# --- errors -------------------------------------------------------------------------


class KnowledgeRuleError(ValueError):
    """A business rule refused the request; ``code`` is stable, ``details`` JSON-safe."""

    code: ClassVar[str] = "knowledge_rule"

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})


class InvalidKind(KnowledgeRuleError):
    code = "invalid_kind"


class InvalidTags(KnowledgeRuleError):
    code = "invalid_tags"


class BlankField(KnowledgeRuleError):
    code = "blank_field"


class NotAuthor(KnowledgeRuleError):
    code = "not_author"


class NotManager(KnowledgeRuleError):
    code = "not_manager"


class NotInTeam(KnowledgeRuleError):
    code = "not_in_team"


class OwnEntry(KnowledgeRuleError):
    code = "own_entry"


class AlarmNotOpen(KnowledgeRuleError):
    code = "alarm_not_open"


class AnswerNotOfAlarm(KnowledgeRuleError):
    code = "answer_not_of_alarm"


class NotRaiser(KnowledgeRuleError):
    code = "not_raiser"


class AlarmRequired(KnowledgeRuleError):
    code = "alarm_required"


# --- who is asking ------------------------------------------------------------------


class Role(StrEnum):
    SALES = "sales"
    MANAGER = "manager"
    ADMIN = "admin"


class Caller(Protocol):
    """Who makes the request; ``crm_common.caller.Caller`` fits."""

    @property
    def user_id(self) -> UserId: ...

    @property
    def role(self) -> str: ...

    @property
    def team(self) -> str | None: ...


def _is_manager(caller: Caller) -> bool:
    return caller.role in (Role.MANAGER, Role.ADMIN)


# --- entries ------------------------------------------------------------------------


class EntryKind(StrEnum):
    SOLUTION = "solution"
    SUCCESS_STORY = "success_story"
    FAQ = "faq"


@dataclass
class Entry:
    """A piece of team knowledge: a problem and how it was solved, or a success story."""

    kind: EntryKind
    title: str
    problem: str
    solution: str
    author_id: UserId
    team: str | None = None
    tags: tuple[str, ...] = ()
    entry_id: EntityId | None = None
    customer_id: EntityId | None = None
    industry: str | None = None
    source_alarm_id: EntityId | None = None
    views: int = 0
    useful_votes: int = 0
    pinned: bool = False
    archived: bool = False

    def searchable_text(self) -> str:
        """Title, problem, solution, tags and industry: what the search index covers."""
        parts = [self.title, self.problem, self.solution, " ".join(self.tags)]
        return "\n".join(part for part in [*parts, self.industry or ""] if part)


def parse_kind(value: str) -> EntryKind:
    """The :class:`EntryKind` named ``value``; raises :class:`InvalidKind` otherwise."""
    try:
        return EntryKind(value)
    except ValueError:
        allowed = [kind.value for kind in EntryKind]
        raise InvalidKind(f"unknown entry kind {value!r}", {"kind": value, "allowed": allowed}) from None


def normalise_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Tags stripped, NFKC-normalised, casefolded, blank ones dropped, deduplicated.

    Order of first appearance is kept. Raises :class:`InvalidTags` for a bare string,
    more than :data:`MAX_TAGS` tags or a tag longer than :data:`MAX_TAG_LENGTH`.
    """
    if isinstance(tags, str):
        raise InvalidTags("tags must be a list of strings", {"tags": tags})
    cleaned: dict[str, None] = {}
    for tag in tags:
        if not isinstance(tag, str):
            raise InvalidTags("tags must be strings", {"tag": repr(tag)})
        tag = " ".join(unicodedata.normalize("NFKC", tag).split()).casefold()
        if tag:
            cleaned[tag] = None
    too_long = [tag for tag in cleaned if len(tag) > MAX_TAG_LENGTH]
    if too_long:
        raise InvalidTags(
            f"a tag may have at most {MAX_TAG_LENGTH} characters",
            {"too_long": too_long},
        )
    if len(cleaned) > MAX_TAGS:
        raise InvalidTags(f"at most {MAX_TAGS} tags", {"count": len(cleaned), "max": MAX_TAGS})
    return tuple(cleaned)


def new_entry(
    author: Caller,
    kind: str,
    title: str,
    problem: str,
    solution: str,
    tags: Iterable[str] = (),
    customer_id: EntityId | None = None,
    industry: str | None = None,
) -> Entry:
    """A validated entry written by ``author`` in the author's team.

    Raises :class:`InvalidKind`, :class:`InvalidTags`, or :class:`BlankField` when the
    title or the solution is blank or the title is longer than 200 characters.
    """
    return Entry(
        kind=parse_kind(kind),
        title=_title(title),
        problem=problem.strip(),
        solution=_required("solution", solution),
        author_id=author.user_id,
        team=author.team,
        tags=normalise_tags(tags),
        customer_id=customer_id,
        industry=(industry or "").strip() or None,
    )


def revise_entry(
    entry: Entry,
    editor: Caller,
    *,
    title: str | None = None,
    problem: str | None = None,
    solution: str | None = None,
    tags: Iterable[str] | None = None,
) -> Entry:
    """The next version of ``entry`` (a new object; the caller keeps the old one).

    Only the author may edit: raises :class:`NotAuthor`; also the validation errors
    of :func:`new_entry` for the fields given.
    """
    if editor.user_id != entry.author_id:
        raise NotAuthor(
            "only the author may edit an entry",
            {"entry_id": entry.entry_id, "author_id": entry.author_id},
        )
    changes: dict[str, Any] = {}
    if title is not None:
        changes["title"] = _title(title)
    if problem is not None:
        changes["problem"] = problem.strip()
    if solution is not None:
        changes["solution"] = _required("solution", solution)
    if tags is not None:
        changes["tags"] = normalise_tags(tags)
    return dataclasses.replace(entry, **changes)


def ensure_may_curate(caller: Caller) -> None:
    """Pinning and archiving are for managers; raises :class:`NotManager` otherwise."""
    if not _is_manager(caller):
        raise NotManager("only a manager may pin or archive entries")


def ensure_may_vote(entry: Entry, voter: Caller) -> None:
    """A "useful" vote is a reader's verdict: raises :class:`OwnEntry` for the author's own entry."""
    if voter.user_id == entry.author_id:
        raise OwnEntry("authors may not vote for their own entry", {"entry_id": entry.entry_id})


def _required(name: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise BlankField(f"{name} must not be blank", {"field": name})
    return value


def _title(title: str) -> str:
    title = _required("title", title)
    if len(title) > MAX_TITLE_LENGTH:
        raise BlankField(
            f"title may have at most {MAX_TITLE_LENGTH} characters",
            {"field": "title", "max": MAX_TITLE_LENGTH},
        )
    return title


# --- search ranking -----------------------------------------------------------------


def relevance(query_terms: Iterable[str], entry_terms: Iterable[str] | str) -> int:
    """How many distinct query terms the entry has: the match rule's relevance.

    ``entry_terms`` is a set of terms or the stored space-joined index column.
    An entry matches a query when this is at least 1 (OR over query terms).
    """
    if isinstance(entry_terms, str):
        entry_terms = entry_terms.split()
    return len(set(query_terms) & set(entry_terms))


class Rankable(Protocol):
    @property
    def relevance(self) -> float: ...

    @property
    def useful_votes(self) -> int: ...


RankableT = TypeVar("RankableT", bound=Rankable)


@dataclass(frozen=True)
class SearchRow:
    """One search hit; any object with ``relevance`` and ``useful_votes`` will do."""

    entry_id: EntityId
    relevance: float
    useful_votes: int = 0


def rank(rows: Iterable[RankableT]) -> list[RankableT]:
    """Rows ordered by relevance (higher first), then useful votes; else input order.

    Relevance must grow with the match: matched-term count, ``ts_rank``, or FTS5's
    ``-bm25()`` (bm25 itself is lower-is-better).
    """
    return sorted(rows, key=lambda row: (-row.relevance, -row.useful_votes))


class Candidate(NamedTuple):
    """Something a new alarm may resemble: an entry or a past alarm."""

    candidate_id: EntityId
    terms: frozenset[str] | set[str]
    usefulness: int = 0


@dataclass(frozen=True)
class Suggestion:
    candidate_id: EntityId
    score: float
    matched_terms: tuple[str, ...]
    usefulness: int


_BM25_K1 = 1.2
_BM25_B = 0.75


def similar(
    query_terms: Iterable[str],
    candidates: Sequence[Candidate | tuple[EntityId, Iterable[str], int]],
    limit: int = 5,
) -> list[Suggestion]:
    """The ``limit`` candidates most like the query, best first; none without overlap.

    Score: BM25 with each term counted once ("BM25-lite"): rare shared terms weigh
    more than common ones (嫌贵 beats 客户), long candidates are damped. Equal scores
    go to the more useful candidate, then to the earlier one.
    """
    wanted = set(query_terms)
    pool = [Candidate(cid, frozenset(terms), usefulness) for cid, terms, usefulness in candidates]
    if not wanted or not pool or limit <= 0:
        return []
    average_length = sum(len(c.terms) for c in pool) / len(pool) or 1.0
    containing = {term: sum(term in c.terms for c in pool) for term in wanted}
    idf = {term: math.log(1 + (len(pool) - n + 0.5) / (n + 0.5)) for term, n in containing.items()}
    ordered_query = list(dict.fromkeys(query_terms))
    suggestions = []
    for candidate in pool:
        matched = tuple(term for term in ordered_query if term in candidate.terms)
        if not matched:
            continue
        damping = 1 - _BM25_B + _BM25_B * len(candidate.terms) / average_length
        weight = (_BM25_K1 + 1) / (1 + _BM25_K1 * damping)
        score = sum(idf[term] for term in matched) * weight
        suggestions.append(Suggestion(candidate.candidate_id, round(score, 6), matched, candidate.usefulness))
    suggestions.sort(key=lambda s: (-s.score, -s.usefulness))
    return suggestions[:limit]


# --- difficulty alarms --------------------------------------------------------------


class AlarmStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Answer:
    """An answer to an alarm; ``answer_id`` is None until stored."""

    author_id: UserId
    body: str
    by_manager: bool
    answered_at: datetime
    answer_id: EntityId | None = None


@dataclass
class Alarm:
    """A difficulty alarm (困难报警): open → answered → resolved."""

    raiser_id: UserId
    team: str | None
    title: str
    problem: str
    raised_at: datetime
    customer_id: EntityId | None = None
    alarm_id: EntityId | None = None
    status: AlarmStatus = AlarmStatus.OPEN
    answers: list[Answer] = field(default_factory=list)
    accepted_answer_id: EntityId | None = None
    resolved_at: datetime | None = None

    @property
    def manager_answered(self) -> bool:
        """Whether a manager of the alarm's team has answered."""
        return any(answer.by_manager for answer in self.answers)

    def answer(self, caller: Caller, body: str, now: datetime, answer_id: EntityId | None = None) -> Answer:
        """Record an answer from a member of the alarm's team; the alarm becomes answered.

        The answer is flagged ``by_manager`` when a manager gives it. Raises
        :class:`AlarmNotOpen` once resolved, :class:`NotInTeam` for anyone outside the
        team, :class:`BlankField` for a blank body.
        """
        if self.status is AlarmStatus.RESOLVED:
            raise AlarmNotOpen("the alarm is resolved", {"alarm_id": self.alarm_id})
        if caller.team is None or caller.team != self.team:
            raise NotInTeam(
                "only members of the alarm's team may answer",
                {"alarm_id": self.alarm_id, "team": self.team},
            )
        answer = Answer(
            author_id=caller.user_id,
            body=_required("body", body),
            by_manager=caller.role == Role.MANAGER,
            answered_at=now,
            answer_id=answer_id,
        )
        self.answers.append(answer)
        self.status = AlarmStatus.ANSWERED
        return answer

    def resolve(self, caller: Caller, answer_id: EntityId, now: datetime) -> Answer:
        """Close the alarm with one of its answers, which is returned as accepted.

        Raises, in this order: :class:`NotRaiser` unless the caller raised the alarm,
        :class:`AlarmNotOpen` if already resolved, :class:`AnswerNotOfAlarm` if
        ``answer_id`` is not an answer to this alarm (an unanswered alarm has none).
        """
        if caller.user_id != self.raiser_id:
            raise NotRaiser(
                "only the salesperson who raised the alarm may resolve it",
                {"alarm_id": self.alarm_id, "raiser_id": self.raiser_id},
            )
        if self.status is AlarmStatus.RESOLVED:
            raise AlarmNotOpen("the alarm is already resolved", {"alarm_id": self.alarm_id})
        accepted = next((a for a in self.answers if a.answer_id == answer_id), None)
        if accepted is None or answer_id is None:
            raise AnswerNotOfAlarm(
                "the accepted answer must be one of this alarm's answers",
                {"alarm_id": self.alarm_id, "answer_id": answer_id},
            )
        self.status = AlarmStatus.RESOLVED
        self.accepted_answer_id = answer_id
        self.resolved_at = now
        return accepted

    def permits_abandon(self, customer_id: EntityId) -> bool:
        """Whether this alarm lets its customer ``customer_id`` be given up."""
        return may_abandon(
            self.customer_id is not None and self.customer_id == customer_id,
            self.manager_answered,
        )


def alarm_visible_to(alarm: Alarm, caller: Caller) -> bool:
    """The raiser, every member of the alarm's team (they may answer) and admins see an alarm."""
    if caller.user_id == alarm.raiser_id or caller.role == Role.ADMIN:
        return True
    return caller.team is not None and caller.team == alarm.team


@dataclass(frozen=True)
class AlarmScope:
    """Which alarms a listing covers: those raised by ``raised_by`` and/or of ``team``;
    both None is every alarm (admins)."""

    raised_by: UserId | None = None
    team: str | None = None


def alarm_scope(caller: Caller, wanted: Literal["mine", "team"] | None = None) -> AlarmScope:
    """The alarms a caller lists: by default a salesperson their own, a manager the team's,
    an admin all; ``wanted`` picks "mine" or "team" (any member may look at the team's,
    to help). A caller without a team only ever gets their own."""
    if wanted is None:
        wanted = "mine" if caller.role == Role.SALES else "team"
    if wanted == "team":
        if caller.team is not None:
            return AlarmScope(team=caller.team)
        if caller.role == Role.ADMIN:
            return AlarmScope()
    return AlarmScope(raised_by=caller.user_id)


def stale_scope(caller: Caller) -> AlarmScope:
    """Whose stale alarms a caller may list: a manager the team's, an admin all; raises
    :class:`NotManager` for anyone else."""
    if caller.role == Role.ADMIN:
        return AlarmScope(team=caller.team) if caller.team else AlarmScope()
    if caller.role == Role.MANAGER and caller.team is not None:
        return AlarmScope(team=caller.team)
    raise NotManager("only a manager lists the team's stale alarms")


def raise_alarm(
    raiser: Caller,
    title: str,
    problem: str,
    now: datetime,
    customer_id: EntityId | None = None,
) -> Alarm:
    """A new open alarm of ``raiser``'s team; :class:`BlankField` for a blank title/problem."""
    if raiser.team is None:
        raise NotInTeam("only a member of a team may raise an alarm", {"team": None})
    return Alarm(
        raiser_id=raiser.user_id,
        team=raiser.team,
        title=_title(title),
        problem=_required("problem", problem),
        raised_at=now,
        customer_id=customer_id,
    )


def entry_from_answer(alarm: Alarm, answer: Answer, tags: Iterable[str] = ()) -> Entry:
    """The knowledge entry published from an alarm's accepted answer.

    Credited to the answer's author and linked to the alarm; raises
    :class:`AnswerNotOfAlarm` if the answer is not the accepted one.
    """
    if alarm.accepted_answer_id is None or answer.answer_id != alarm.accepted_answer_id:
        raise AnswerNotOfAlarm(
            "only the accepted answer is published",
            {"alarm_id": alarm.alarm_id, "answer_id": answer.answer_id},
        )
    return Entry(
        kind=EntryKind.SOLUTION,
        title=alarm.title,
        problem=alarm.problem,
        solution=answer.body,
        author_id=answer.author_id,
        team=alarm.team,
        tags=normalise_tags(tags),
        customer_id=alarm.customer_id,
        source_alarm_id=alarm.alarm_id,
    )


def may_abandon(alarm_about_customer: bool, manager_answered: bool) -> bool:
    """The abandon rule (:data:`ABANDON_RULE`): an alarm about the customer exists and
    a manager of the team answered it."""
    return alarm_about_customer and manager_answered


def ensure_may_abandon(alarm: Alarm | None, customer_id: EntityId) -> None:
    """Raises :class:`AlarmRequired` (code ``alarm_required``) unless ``alarm`` permits
    giving up ``customer_id``."""
    if alarm is None or not alarm.permits_abandon(customer_id):
        raise AlarmRequired(
            ABANDON_RULE,
            {
                "customer_id": customer_id,
                "alarm_id": alarm.alarm_id if alarm else None,
                "alarm_about_customer": bool(alarm and alarm.customer_id == customer_id),
                "manager_answered": bool(alarm and alarm.manager_answered),
            },
        )


def stale_alarms(alarms: Iterable[Alarm], now: datetime, days: int = 3) -> list[Alarm]:
    """Unresolved alarms raised at least ``days`` days before ``now``, oldest first.

    ``now`` and ``raised_at`` must both be aware (or both naive); ValueError if days < 0.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    cutoff = now - timedelta(days=days)
    stale = [
        alarm for alarm in alarms if alarm.status is not AlarmStatus.RESOLVED and alarm.raised_at <= cutoff
    ]
    return sorted(stale, key=lambda alarm: alarm.raised_at)


# --- onboarding ---------------------------------------------------------------------


@dataclass(frozen=True)
class OnboardingItem:
    entry: Entry
    reason: Literal["pinned", "most_useful"]
    tag: str | None = None


def onboarding(entries: Iterable[Entry], per_tag: int = 1) -> list[OnboardingItem]:
    """What a newcomer reads first: pinned entries, then the most useful per tag.

    Archived entries are left out and each entry appears once. Pinned entries come
    by useful votes; then, tag by tag (the tag whose best entry is most useful first,
    ties by tag name), the ``per_tag`` most useful entries not listed yet.
    """
    live = [entry for entry in entries if not entry.archived]
    by_merit = sorted(live, key=lambda e: (-e.useful_votes, -e.views))
    items = [OnboardingItem(entry, "pinned") for entry in by_merit if entry.pinned]
    listed = {id(item.entry) for item in items}

    by_tag: dict[str, list[Entry]] = {}
    for entry in by_merit:
        for tag in entry.tags:
            by_tag.setdefault(tag, []).append(entry)
    tag_order = sorted(by_tag, key=lambda tag: (-by_tag[tag][0].useful_votes, tag))
    for tag in tag_order:
        picked = [entry for entry in by_tag[tag] if id(entry) not in listed][:per_tag]
        for entry in picked:
            items.append(OnboardingItem(entry, "most_useful", tag))
            listed.add(id(entry))
    return items
