"""Use case of knowledge search: one ranked page of entries for what the caller typed."""

from __future__ import annotations

from typing import Any

from knowledge import domain
from knowledge.search import Filters
from knowledge.store import Store
from knowledge.usecases_entries import entry_view


def search_entries(store: Store, wanted: dict[str, Any]) -> dict[str, Any]:
    """``{q, terms, items, offset, limit, has_more}``: live entries having any term of ``q``,
    those with more of its terms first, the more useful first among equals, each with
    highlights; without ``q`` every live entry, the most useful first. Filters: kind, tag."""
    tags = domain.normalise_tags([wanted["tag"] or ""])
    filters = Filters(kind=wanted["kind"], tag=tags[0] if tags else None)
    page = store.search(wanted["q"], filters, wanted["offset"], wanted["limit"])
    return {
        "q": wanted["q"],
        "terms": page.terms,
        "items": [
            {**entry_view(item.entry), "relevance": item.relevance, "highlights": item.highlights}
            for item in page.items
        ],
        "offset": page.offset,
        "limit": page.limit,
        "has_more": page.has_more,
    }
