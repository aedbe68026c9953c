"""Caller identity for RPC tests: context data as the gateway would send it."""

from crm_common.caller import Caller


def as_caller(user_id, role, team=None, username=None):
    """Context data that makes an RPC look as if the gateway made it for this user."""
    return Caller(user_id=user_id, username=username or f"user{user_id}", role=role, team=team).to_context()
