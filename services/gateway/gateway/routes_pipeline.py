"""Routes of the pipeline area: stages, opportunities, targets, forecast, funnel, calibration."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from gateway.api import route
from pipeline.schemas import (
    CalibrationQuerySchema,
    CalibrationSchema,
    CloseSchema,
    ForecastSchema,
    FunnelSchema,
    MoveSchema,
    NewOpportunitySchema,
    OpportunitiesQuerySchema,
    OpportunitySchema,
    ReportQuerySchema,
    StageSetInputSchema,
    StageSetSchema,
    StagesQuerySchema,
    TargetInputSchema,
    TargetSchema,
    TargetsQuerySchema,
)


class PipelineRoutes:
    pipeline: Any
    caller: Any

    @route(
        "GET",
        "/stages",
        summary="The team's current stage set (or an older version)",
        tag="pipeline",
        query=StagesQuerySchema,
        response=StageSetSchema,
        errors=(403, 404),
    )
    def get_stages(self, request: Request, query: dict) -> dict:
        return self.pipeline.get_stages(query)

    @route(
        "PUT",
        "/stages",
        summary="Edit the team's stages: a new version (managers, admins)",
        tag="pipeline",
        body=StageSetInputSchema,
        response=StageSetSchema,
        errors=(403, 409),
    )
    def set_stages(self, request: Request, body: dict) -> dict:
        return self.pipeline.set_stages(body)

    @route(
        "GET",
        "/stages/calibration",
        summary="Configured stage probabilities against what happened, and a backtest (managers)",
        tag="pipeline",
        query=CalibrationQuerySchema,
        response=CalibrationSchema,
        errors=(403,),
    )
    def get_calibration(self, request: Request, query: dict) -> dict:
        return self.pipeline.get_calibration(query)

    @route(
        "POST",
        "/opportunities",
        summary="Open a deal on one of your customers",
        tag="pipeline",
        body=NewOpportunitySchema,
        response=OpportunitySchema,
        status=201,
        errors=(403, 404),
    )
    def create_opportunity(self, request: Request, body: dict) -> dict:
        return self.pipeline.create_opportunity(body)

    @route(
        "GET",
        "/opportunities",
        summary="Deals you may see, newest first",
        tag="pipeline",
        query=OpportunitiesQuerySchema,
        response=OpportunitySchema,
        many=True,
        errors=(403,),
    )
    def list_opportunities(self, request: Request, query: dict) -> list:
        return self.pipeline.list_opportunities(query)

    @route(
        "GET",
        "/opportunities/<int:opportunity_id>",
        summary="One deal with its stage history",
        tag="pipeline",
        response=OpportunitySchema,
        errors=(404,),
    )
    def get_opportunity(self, request: Request, opportunity_id: int) -> dict:
        return self.pipeline.get_opportunity(opportunity_id)

    @route(
        "POST",
        "/opportunities/<int:opportunity_id>/stage",
        summary="Move a deal to another stage, forward or back",
        tag="pipeline",
        body=MoveSchema,
        response=OpportunitySchema,
        errors=(404, 409),
    )
    def move_opportunity(self, request: Request, opportunity_id: int, body: dict) -> dict:
        return self.pipeline.move_opportunity(opportunity_id, body)

    @route(
        "POST",
        "/opportunities/<int:opportunity_id>/won",
        summary="Win a deal, with a reason",
        tag="pipeline",
        body=CloseSchema,
        response=OpportunitySchema,
        errors=(404, 409),
    )
    def win_opportunity(self, request: Request, opportunity_id: int, body: dict) -> dict:
        return self.pipeline.win_opportunity(opportunity_id, body)

    @route(
        "POST",
        "/opportunities/<int:opportunity_id>/lost",
        summary="Lose a deal, with a reason",
        tag="pipeline",
        body=CloseSchema,
        response=OpportunitySchema,
        errors=(404, 409),
    )
    def lose_opportunity(self, request: Request, opportunity_id: int, body: dict) -> dict:
        return self.pipeline.lose_opportunity(opportunity_id, body)

    @route(
        "PUT",
        "/targets",
        summary="Set a salesperson's or a team's target for a month or quarter (managers)",
        tag="pipeline",
        body=TargetInputSchema,
        response=TargetSchema,
        errors=(403, 409),
    )
    def set_target(self, request: Request, body: dict) -> dict:
        return self.pipeline.set_target(body)

    @route(
        "GET",
        "/targets",
        summary="Targets you may see",
        tag="pipeline",
        query=TargetsQuerySchema,
        response=TargetSchema,
        many=True,
        errors=(403,),
    )
    def list_targets(self, request: Request, query: dict) -> list:
        return self.pipeline.list_targets(query)

    @route(
        "GET",
        "/forecast",
        summary="Weighted forecast with its interval, target and gap (a team roll-up for managers)",
        tag="pipeline",
        query=ReportQuerySchema,
        response=ForecastSchema,
        errors=(403, 404),
    )
    def get_forecast(self, request: Request, query: dict) -> dict:
        return self.pipeline.get_forecast(query)

    @route(
        "GET",
        "/funnel",
        summary="Deals per stage with advice (a team comparison for managers)",
        tag="pipeline",
        query=ReportQuerySchema,
        response=FunnelSchema,
        errors=(403, 404),
    )
    def get_funnel(self, request: Request, query: dict) -> dict:
        return self.pipeline.get_funnel(query)
