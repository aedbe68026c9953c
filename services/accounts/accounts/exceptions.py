"""Errors the accounts service raises to its callers."""

from crm_common.errors import Conflict, InvalidInput, Unauthenticated


class BadCredentials(Unauthenticated):
    code = "bad_credentials"


class UsernameTaken(Conflict):
    code = "username_taken"


class UnknownManager(InvalidInput):
    code = "unknown_manager"
