"""Business rules of the knowledge service: entries (writing, editing, curating, voting) and
what a newcomer reads first. Search ranking is in :mod:`knowledge.domain_search`, difficulty
alarms in :mod:`knowledge.domain_alarms`.

Plain Python: no nameko, no SQLAlchemy, no clock (``now`` is always passed in). A refusal is
one of :mod:`knowledge.exceptions`' typed errors, raised here and carried to the caller as is.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from knowledge.constants import MAX_TAG_LENGTH, MAX_TAGS, MAX_TITLE_LENGTH, EntryKind, Role
from knowledge.exceptions import BlankField, InvalidKind, InvalidTags, NotAuthor, NotManager, OwnEntry

UserId = int | str
EntityId = int | str


# --- who is asking ------------------------------------------------------------------


class Caller(Protocol):
    """Who makes the request; ``crm_common.caller.Caller`` fits."""

    @property
    def user_id(self) -> UserId: ...

    @property
    def role(self) -> str: ...

    @property
    def team(self) -> str | None: ...


def is_manager(caller: Caller) -> bool:
    return caller.role in (Role.MANAGER, Role.ADMIN)


# --- entries ------------------------------------------------------------------------


@dataclass
class Entry:
    """A piece of team knowledge: a problem and how it was solved, or a success story.

    ``entry_id``, ``version`` and the timestamps are None/0 until the entry is stored."""

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
    author_name: str = ""
    version: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None

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
        title=checked_title(title),
        problem=problem.strip(),
        solution=required_text("solution", solution),
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
        changes["title"] = checked_title(title)
    if problem is not None:
        changes["problem"] = problem.strip()
    if solution is not None:
        changes["solution"] = required_text("solution", solution)
    if tags is not None:
        changes["tags"] = normalise_tags(tags)
    return dataclasses.replace(entry, **changes)


def ensure_may_curate(caller: Caller) -> None:
    """Pinning and archiving are for managers; raises :class:`NotManager` otherwise."""
    if not is_manager(caller):
        raise NotManager("only a manager may pin or archive entries", {})


def ensure_may_vote(entry: Entry, voter: Caller) -> None:
    """A "useful" vote is a reader's verdict: raises :class:`OwnEntry` for the author's own entry."""
    if voter.user_id == entry.author_id:
        raise OwnEntry("authors may not vote for their own entry", {"entry_id": entry.entry_id})


def required_text(name: str, value: str) -> str:
    """``value`` stripped; :class:`BlankField` if nothing is left."""
    value = value.strip()
    if not value:
        raise BlankField(f"{name} must not be blank", {"field": name})
    return value


def checked_title(title: str) -> str:
    """A title: not blank, at most :data:`MAX_TITLE_LENGTH` characters (:class:`BlankField`)."""
    title = required_text("title", title)
    if len(title) > MAX_TITLE_LENGTH:
        raise BlankField(
            f"title may have at most {MAX_TITLE_LENGTH} characters",
            {"field": "title", "max": MAX_TITLE_LENGTH},
        )
    return title


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
