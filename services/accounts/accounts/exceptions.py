"""Errors the accounts service raises to its callers."""

from crm_common.errors import Conflict, InvalidInput, TooManyRequests, Unauthenticated


class BadCredentials(Unauthenticated):
    code = "bad_credentials"


class UsernameTaken(Conflict):
    code = "username_taken"


class UnknownManager(InvalidInput):
    code = "unknown_manager"


class TooManyAttempts(TooManyRequests):
    """Too many login attempts for this username or from this client; ``details["retry_after"]``."""

    code = "too_many_attempts"


class CannotDeactivateSelf(Conflict):
    code = "cannot_deactivate_self"


class UnknownColleague(InvalidInput):
    """The hand-over colleague of a deactivation does not exist."""

    code = "unknown_colleague"


class ColleagueNotEligible(Conflict):
    """The hand-over colleague cannot take the customers: inactive, of another team, the leaving
    user themself, or an admin (``details["reason"]``: inactive, other_team, same_user, role)."""

    code = "colleague_not_eligible"
