"""Use cases of knowledge entries: write, read, edit, vote, pin, archive, onboarding.

Plain functions: each takes the store, the caller and what the request asked (already loaded by
its schema), plus what it needs from outside (the clock, accounts' people, customers); each
answers with plain dicts that the service dumps. Refusals are :mod:`knowledge.exceptions`."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Protocol

from crm_common.caller import Caller
from knowledge import domain
from knowledge.domain import Entry
from knowledge.schemas import (
    EntryPublishedSchema,
    EntryReadRowSchema,
    EntryReadSchema,
    EntryVotedSchema,
    EntryWrittenSchema,
)
from knowledge.store import Store


class Clock(Protocol):
    def now(self) -> datetime: ...


class People(Protocol):
    """Accounts' names (``crm_common.directory.People`` fits)."""

    def name_of(self, caller: Caller) -> str: ...


class CustomerNames(Protocol):
    """Customers as the caller may see them (``knowledge.dependencies.CustomerBook`` fits)."""

    def name_of(self, customer_id: int) -> str: ...


def create_entry(
    store: Store,
    caller: Caller,
    data: dict[str, Any],
    *,
    clock: Clock,
    people: People,
    customers: CustomerNames,
) -> dict[str, Any]:
    """Write an entry as the caller (version 1) and publish ``entry_published``. A customer it
    refers to must be one the caller may read: asked before anything is written."""
    entry = domain.new_entry(caller, **data)
    if entry.customer_id is not None:
        customers.name_of(int(entry.customer_id))
    stored = store.add_entry(dataclasses.replace(entry, author_name=people.name_of(caller)), clock.now())
    publish_entry(store, stored)
    return entry_view(stored)


def read_entry(store: Store, entry_id: int, reader: Caller | None = None) -> dict[str, Any]:
    """An entry, counted as a view; read by someone other than its author, ``entry_read`` (the
    appraisal's "onboarding read": ``pinned`` entries are the ones set for newcomers)."""
    view = entry_view(store.count_view(entry_id))
    if reader is not None and reader.user_id != view["author_id"]:
        event = EntryReadSchema().dump({**view, "reader_id": reader.user_id})
        store.record_read(view["id"], reader.user_id, event)
    return view


def edit_entry(
    store: Store, caller: Caller, entry_id: int, changes: dict[str, Any], *, clock: Clock
) -> dict[str, Any]:
    """The author's next version of an entry (every version kept)."""
    revised = domain.revise_entry(store.entry(entry_id, lock=True), caller, **changes)
    return entry_view(store.revise_entry(revised, caller.user_id, clock.now()))


def entry_versions(store: Store, entry_id: int) -> list[dict[str, Any]]:
    return store.versions(entry_id)


def vote_entry(store: Store, caller: Caller, entry_id: int, *, clock: Clock) -> dict[str, Any]:
    """The caller finds the entry useful: once per person, never the author."""
    domain.ensure_may_vote(store.entry(entry_id, lock=True), caller)
    now = clock.now()
    view = entry_view(store.vote(entry_id, caller.user_id, now))
    store.emit("entry_voted", EntryVotedSchema().dump(vote_view(view, caller.user_id, now)))
    return view


def vote_view(entry: dict[str, Any], voter_id: int, voted_at: datetime) -> dict[str, Any]:
    """One useful vote as ``entry_voted`` and ``votes_since`` give it."""
    return {
        "entry_id": entry["id"],
        "title": entry["title"],
        "author_id": entry["author_id"],
        "voter_id": voter_id,
        "team": entry["team"],
        "voted_at": voted_at,
    }


def _system_or_admin(caller: Caller | None) -> None:
    """Another service (no user), or an admin: everyone's votes and entries."""
    if caller is not None:
        caller.require_role("admin")


def votes_since(store: Store, caller: Caller | None, page: dict[str, Any]) -> list[dict[str, Any]]:
    """Every useful vote from ``page["since"]`` on, oldest first (for the appraisal's replay):
    what each ``entry_voted`` said."""
    _system_or_admin(caller)
    found = store.votes_since(page["since"], page["offset"], page["limit"])
    return [
        EntryVotedSchema().dump(vote_view(entry_view(entry), voter_id, voted_at))
        for entry, voter_id, voted_at in found
    ]


def reads_since(store: Store, caller: Caller | None, page: dict[str, Any]) -> list[dict[str, Any]]:
    """Every read of an entry by someone other than its author from ``page["since"]`` on, oldest
    first (for the appraisal's replay): what each ``entry_read`` said, with its ``event_id`` and
    ``read_at`` (the event's ``occurred_at``)."""
    _system_or_admin(caller)
    found = store.reads_since(page["since"], page["offset"], page["limit"])
    return [
        EntryReadRowSchema().dump(
            {**entry_view(entry), "reader_id": reader_id, "read_at": at, "event_id": event_id}
        )
        for entry, reader_id, at, event_id in found
    ]


def entries_since(store: Store, caller: Caller | None, page: dict[str, Any]) -> list[dict[str, Any]]:
    """Every entry written from ``page["since"]`` on, archived ones too, oldest first (for the
    appraisal's replay): what each ``entry_published`` said, and whether it is archived now."""
    _system_or_admin(caller)
    found = store.entries_since(page["since"], page["offset"], page["limit"])
    return [EntryWrittenSchema().dump(entry_view(entry)) for entry in found]


def pin_entry(store: Store, caller: Caller, entry_id: int, pinned: bool) -> dict[str, Any]:
    """A manager pins an entry for newcomers (or unpins it)."""
    domain.ensure_may_curate(caller)
    return entry_view(store.set_pinned(entry_id, pinned))


def archive_entry(
    store: Store, caller: Caller, entry_id: int, archived: bool, *, clock: Clock
) -> dict[str, Any]:
    """A manager archives a stale entry (out of search and onboarding) or brings it back."""
    domain.ensure_may_curate(caller)
    return entry_view(store.set_archived(entry_id, archived, clock.now()))


def onboarding(store: Store, per_tag: int) -> dict[str, Any]:
    """``{items: [{reason, tag, entry}]}``: pinned entries, then the most useful of each tag."""
    items = domain.onboarding(store.onboarding_candidates(per_tag), per_tag=per_tag)
    return {
        "items": [{"reason": item.reason, "tag": item.tag, "entry": entry_view(item.entry)} for item in items]
    }


def publish_entry(store: Store, entry: Entry) -> None:
    store.emit("entry_published", EntryPublishedSchema().dump(entry_view(entry)))


def entry_view(entry: Entry) -> dict[str, Any]:
    """What :class:`knowledge.schemas.EntrySchema` dumps."""
    return {
        "id": entry.entry_id,
        "kind": entry.kind.value,
        "title": entry.title,
        "problem": entry.problem,
        "solution": entry.solution,
        "tags": list(entry.tags),
        "author_id": entry.author_id,
        "author_name": entry.author_name,
        "team": entry.team,
        "customer_id": entry.customer_id,
        "industry": entry.industry,
        "alarm_id": entry.source_alarm_id,
        "version": entry.version,
        "views": entry.views,
        "useful_votes": entry.useful_votes,
        "pinned": entry.pinned,
        "archived": entry.archived,
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
    }
