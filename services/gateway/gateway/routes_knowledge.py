"""Routes of the knowledge area: entries and their search, onboarding, difficulty alarms."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from gateway.api import given, route
from knowledge.schemas import (
    AlarmDetailSchema,
    AlarmListQuerySchema,
    AlarmSchema,
    AnswerSchema,
    ArchiveSchema,
    EntryEditSchema,
    EntrySchema,
    EntryVersionSchema,
    NewAlarmSchema,
    NewAnswerSchema,
    NewEntrySchema,
    OnboardingQuerySchema,
    OnboardingSchema,
    PinSchema,
    ResolvedAlarmSchema,
    ResolveSchema,
    SearchQuerySchema,
    SearchResultSchema,
    StaleQuerySchema,
)


class KnowledgeRoutes:
    knowledge: Any
    caller: Any

    # --- entries

    @route(
        "POST",
        "/knowledge",
        summary="Write a knowledge entry (solution, success_story or faq)",
        tag="knowledge",
        body=NewEntrySchema,
        response=EntrySchema,
        status=201,
        errors=(403, 404),  # customer_id: a customer the caller may not read, or none
    )
    def create_entry(self, request: Request, body: dict) -> dict:
        return self.knowledge.create_entry(body)

    @route(
        "GET",
        "/knowledge",
        summary="Search entries (Chinese or English): more query terms first, then the most useful; "
        "filters kind and tag; without q, every entry, the most useful first",
        tag="knowledge",
        query=SearchQuerySchema,
        response=SearchResultSchema,
    )
    def search_entries(self, request: Request, query: dict) -> dict:
        return self.knowledge.search_entries(given(query))

    @route(
        "GET",
        "/knowledge/onboarding",
        summary="What a newcomer reads first: pinned entries, then the most useful per tag",
        tag="knowledge",
        query=OnboardingQuerySchema,
        response=OnboardingSchema,
    )
    def onboarding(self, request: Request, query: dict) -> dict:
        return self.knowledge.onboarding(given(query))

    @route(
        "GET",
        "/knowledge/<int:entry_id>",
        summary="One entry (counted as a view)",
        tag="knowledge",
        response=EntrySchema,
        errors=(404,),
    )
    def get_entry(self, request: Request, entry_id: int) -> dict:
        return self.knowledge.get_entry(entry_id)

    @route(
        "PATCH",
        "/knowledge/<int:entry_id>",
        summary="The author edits an entry into a new version (every version is kept)",
        tag="knowledge",
        body=EntryEditSchema,
        response=EntrySchema,
        errors=(403, 404),
    )
    def edit_entry(self, request: Request, entry_id: int, body: dict) -> dict:
        return self.knowledge.edit_entry(entry_id, body)

    @route(
        "GET",
        "/knowledge/<int:entry_id>/versions",
        summary="Every version of an entry, the first one first",
        tag="knowledge",
        response=EntryVersionSchema,
        many=True,
        errors=(404,),
    )
    def entry_versions(self, request: Request, entry_id: int) -> list:
        return self.knowledge.entry_versions(entry_id)

    @route(
        "POST",
        "/knowledge/<int:entry_id>/vote",
        summary="Mark an entry useful (once per person; not one's own)",
        tag="knowledge",
        response=EntrySchema,
        errors=(403, 404, 409),
    )
    def vote_entry(self, request: Request, entry_id: int) -> dict:
        return self.knowledge.vote_entry(entry_id)

    @route(
        "POST",
        "/knowledge/<int:entry_id>/pin",
        summary="Pin an entry for onboarding, or unpin it with {pinned: false} (managers)",
        tag="knowledge",
        body=PinSchema,
        response=EntrySchema,
        errors=(403, 404),
    )
    def pin_entry(self, request: Request, entry_id: int, body: dict) -> dict:
        return self.knowledge.pin_entry(entry_id, body)

    @route(
        "POST",
        "/knowledge/<int:entry_id>/archive",
        summary="Archive a stale entry, or bring it back with {archived: false} (managers)",
        tag="knowledge",
        body=ArchiveSchema,
        response=EntrySchema,
        errors=(403, 404),
    )
    def archive_entry(self, request: Request, entry_id: int, body: dict) -> dict:
        return self.knowledge.archive_entry(entry_id, body)

    # --- difficulty alarms

    @route(
        "POST",
        "/alarms",
        summary="Raise a difficulty alarm (困难报警) to the team; answers with similar entries "
        "and similar past alarms",
        tag="alarms",
        body=NewAlarmSchema,
        response=AlarmDetailSchema,
        status=201,
        errors=(403, 404),
    )
    def raise_alarm(self, request: Request, body: dict) -> dict:
        return self.knowledge.raise_alarm(body)

    @route(
        "GET",
        "/alarms",
        summary="Alarms: a salesperson's own (scope=team: the team's), a manager's team's",
        tag="alarms",
        query=AlarmListQuerySchema,
        response=AlarmSchema,
        many=True,
    )
    def list_alarms(self, request: Request, query: dict) -> list:
        return self.knowledge.list_alarms(given(query))

    @route(
        "GET",
        "/alarms/stale",
        summary="The team's alarms unresolved for days (managers)",
        tag="alarms",
        query=StaleQuerySchema,
        response=AlarmSchema,
        many=True,
        errors=(403,),
    )
    def stale_alarms(self, request: Request, query: dict) -> list:
        return self.knowledge.stale_alarms(given(query))

    @route(
        "GET",
        "/alarms/<int:alarm_id>",
        summary="An alarm with its answers, similar entries and similar past alarms",
        tag="alarms",
        response=AlarmDetailSchema,
        errors=(404,),
    )
    def get_alarm(self, request: Request, alarm_id: int) -> dict:
        return self.knowledge.get_alarm(alarm_id)

    @route(
        "POST",
        "/alarms/<int:alarm_id>/answers",
        summary="Answer a team member's alarm",
        tag="alarms",
        body=NewAnswerSchema,
        response=AnswerSchema,
        status=201,
        errors=(403, 404, 409),
    )
    def answer_alarm(self, request: Request, alarm_id: int, body: dict) -> dict:
        return self.knowledge.answer_alarm(alarm_id, body)

    @route(
        "POST",
        "/alarms/<int:alarm_id>/resolve",
        summary="The raiser accepts an answer and may publish it as a knowledge entry",
        tag="alarms",
        body=ResolveSchema,
        response=ResolvedAlarmSchema,
        errors=(403, 404, 409),
    )
    def resolve_alarm(self, request: Request, alarm_id: int, body: dict) -> dict:
        return self.knowledge.resolve_alarm(alarm_id, body)
