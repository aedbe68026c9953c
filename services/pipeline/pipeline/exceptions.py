"""Errors the pipeline service raises to its callers."""

from crm_common.errors import Conflict, Forbidden, InvalidInput, NotFound


class InvalidStageSet(InvalidInput):
    """A submitted stage set breaks a rule; details map ``stages[i].field`` to the problems."""

    code = "invalid_stage_set"


class UnknownStage(InvalidInput):
    """The stage key is not in the deal's team's stage set."""

    code = "unknown_stage"


class UnknownOwner(InvalidInput):
    """A target names a user who does not exist."""

    code = "unknown_owner"


class NotYourCustomer(Forbidden):
    """A deal can only be opened on a customer the caller owns."""

    code = "not_your_customer"


class OpportunityNotFound(NotFound):
    code = "opportunity_not_found"


class OpportunityClosed(Conflict):
    """The deal is won or lost: it no longer moves."""

    code = "opportunity_closed"


class AlreadyInStage(Conflict):
    code = "already_in_stage"


class ReasonRequired(Conflict):
    """Moving to the won stage wins the deal, which needs a reason: POST …/won."""

    code = "reason_required"


class StageInUse(Conflict):
    """A stage set edit would drop stages that open deals sit in; details: {stage key: [how many]}."""

    code = "stage_in_use"


class ConcurrentChange(Conflict):
    """Someone else changed the same deal at the same moment; read it again and retry."""

    code = "concurrent_change"
