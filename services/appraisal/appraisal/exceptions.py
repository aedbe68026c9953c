"""Errors the appraisal service raises to its callers. A leaf module: it imports only
``crm_common.errors``, so the gateway may import it to receive these errors as themselves."""

from __future__ import annotations

from crm_common.errors import Conflict, Forbidden, InvalidInput, NotFound


class InvalidScheme(InvalidInput):
    """Weights not summing to 100, an unknown metric, a share outside 0–100 … (details name each)."""

    code = "invalid_scheme"


class InvalidPeriod(InvalidInput):
    code = "invalid_period"


class PeriodInFuture(InvalidInput):
    code = "period_in_future"


class InvalidScore(InvalidInput):
    code = "invalid_score"


class NotManager(Forbidden):
    code = "not_manager"


class NotReviewer(Forbidden):
    code = "not_reviewer"


class ScorecardNotFound(NotFound):
    code = "scorecard_not_found"


class WrongState(Conflict):
    """The scorecard is not in a state that allows this (details: state, allowed)."""

    code = "wrong_state"


class ScoresMissing(Conflict):
    """Publishing needs the manager's score of every indicator that has a manager part."""

    code = "scores_missing"
