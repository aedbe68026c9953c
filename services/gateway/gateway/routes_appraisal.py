"""Routes of the appraisal area (绩效考核): team schemes, scorecards and their states, evidence."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from appraisal.schemas import (
    ComputeSchema,
    DisputeSchema,
    EvidenceQuerySchema,
    EvidenceSchema,
    MyCardsQuerySchema,
    NoteSchema,
    ReviewSchema,
    SchemeInputSchema,
    SchemeSchema,
    ScorecardSchema,
    ScoresSchema,
    TeamCardsQuerySchema,
    TeamQuerySchema,
)
from gateway.api import given, route


class AppraisalRoutes:
    appraisal: Any
    caller: Any

    @route(
        "GET",
        "/appraisal/scheme",
        summary="A team's appraisal scheme: indicators, weights, metrics, manager share, rating bands",
        tag="appraisal",
        query=TeamQuerySchema,
        response=SchemeSchema,
        errors=(403,),
    )
    def get_appraisal_scheme(self, request: Request, query: dict) -> dict:
        return self.appraisal.get_scheme(given(query))

    @route(
        "PUT",
        "/appraisal/scheme",
        summary="Set a team's scheme (its manager, an admin); weights must sum to 100",
        tag="appraisal",
        body=SchemeInputSchema,
        response=SchemeSchema,
        errors=(403,),
    )
    def set_appraisal_scheme(self, request: Request, body: dict) -> dict:
        return self.appraisal.set_scheme(body)

    @route(
        "POST",
        "/appraisal/scorecards/compute",
        summary="Compute or refresh the team's draft scorecards for a quarter or year",
        tag="appraisal",
        body=ComputeSchema,
        response=ScorecardSchema,
        many=True,
        errors=(403,),
    )
    def compute_scorecards(self, request: Request, body: dict) -> list:
        return self.appraisal.compute_scorecards(body)

    @route(
        "GET",
        "/appraisal/scorecards",
        summary="The team's scorecards of a period, ranked (its manager, an admin)",
        tag="appraisal",
        query=TeamCardsQuerySchema,
        response=ScorecardSchema,
        many=True,
        errors=(403,),
    )
    def team_scorecards(self, request: Request, query: dict) -> list:
        return self.appraisal.team_scorecards(given(query))

    @route(
        "GET",
        "/appraisal/scorecards/mine",
        summary="The caller's own published scorecards",
        tag="appraisal",
        query=MyCardsQuerySchema,
        response=ScorecardSchema,
        many=True,
    )
    def my_scorecards(self, request: Request, query: dict) -> list:
        return self.appraisal.my_scorecards(given(query))

    @route(
        "GET",
        "/appraisal/scorecards/<int:scorecard_id>",
        summary="One scorecard with its interview notes",
        tag="appraisal",
        response=ScorecardSchema,
        errors=(404,),
    )
    def get_scorecard(self, request: Request, scorecard_id: int) -> dict:
        return self.appraisal.get_scorecard(scorecard_id)

    @route(
        "GET",
        "/appraisal/scorecards/<int:scorecard_id>/evidence",
        summary="The evidence behind a scorecard or one of its metrics (deals, answers, entries …)",
        tag="appraisal",
        query=EvidenceQuerySchema,
        response=EvidenceSchema,
        many=True,
        errors=(404,),
    )
    def scorecard_evidence(self, request: Request, scorecard_id: int, query: dict) -> list:
        return self.appraisal.scorecard_evidence(scorecard_id, given(query))

    @route(
        "PUT",
        "/appraisal/scorecards/<int:scorecard_id>/scores",
        summary="The manager's scores (0–100) with comments for a draft's indicators",
        tag="appraisal",
        body=ScoresSchema,
        response=ScorecardSchema,
        errors=(403, 404, 409),
    )
    def set_manager_scores(self, request: Request, scorecard_id: int, body: dict) -> dict:
        return self.appraisal.set_manager_scores(scorecard_id, body)

    @route(
        "POST",
        "/appraisal/scorecards/<int:scorecard_id>/publish",
        summary="Publish a scored draft to its employee",
        tag="appraisal",
        response=ScorecardSchema,
        errors=(403, 404, 409),
    )
    def publish_scorecard(self, request: Request, scorecard_id: int) -> dict:
        return self.appraisal.publish_scorecard(scorecard_id)

    @route(
        "POST",
        "/appraisal/scorecards/<int:scorecard_id>/acknowledge",
        summary="The employee accepts their published scorecard",
        tag="appraisal",
        response=ScorecardSchema,
        errors=(403, 404, 409),
    )
    def acknowledge_scorecard(self, request: Request, scorecard_id: int) -> dict:
        return self.appraisal.acknowledge_scorecard(scorecard_id)

    @route(
        "POST",
        "/appraisal/scorecards/<int:scorecard_id>/dispute",
        summary="The employee disputes their published scorecard with a reason",
        tag="appraisal",
        body=DisputeSchema,
        response=ScorecardSchema,
        errors=(403, 404, 409),
    )
    def dispute_scorecard(self, request: Request, scorecard_id: int, body: dict) -> dict:
        return self.appraisal.dispute_scorecard(scorecard_id, body)

    @route(
        "POST",
        "/appraisal/scorecards/<int:scorecard_id>/review",
        summary="Settle a dispute (the scorer's manager or an admin), optionally changing scores",
        tag="appraisal",
        body=ReviewSchema,
        response=ScorecardSchema,
        errors=(403, 404, 409),
    )
    def review_scorecard(self, request: Request, scorecard_id: int, body: dict) -> dict:
        return self.appraisal.review_scorecard(scorecard_id, body)

    @route(
        "POST",
        "/appraisal/scorecards/<int:scorecard_id>/notes",
        summary="Add the appraisal interview's (面谈) notes to a published scorecard",
        tag="appraisal",
        body=NoteSchema,
        response=ScorecardSchema,
        status=201,
        errors=(403, 404, 409),
    )
    def add_interview_note(self, request: Request, scorecard_id: int, body: dict) -> dict:
        return self.appraisal.add_interview_note(scorecard_id, body)
