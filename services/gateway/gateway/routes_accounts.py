"""Routes of the accounts area: log in, who am I, users."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from accounts.schemas import DeactivateSchema, NewUserSchema, SettingsSchema, UserSchema
from gateway.api import optional_body, route
from gateway.schemas import TokenRequestSchema, TokenSchema


class AccountsRoutes:
    accounts: Any
    tokens: Any
    caller: Any

    @route(
        "POST",
        "/auth/token",
        summary="Log in: a bearer token for a username and password",
        tag="auth",
        body=TokenRequestSchema,
        response=TokenSchema,
        auth=False,
        errors=(401, 429),
    )
    def issue_token(self, request: Request, body: dict) -> dict:
        # the client's address: attempts are limited per username and per address
        user = self.accounts.authenticate(body["username"], body["password"], request.remote_addr)
        return self.tokens.issue(user)

    @route("GET", "/me", summary="The logged-in user", tag="users", response=UserSchema, errors=(404,))
    def me(self, request: Request) -> dict:
        return self.accounts.get_user(self.caller.require().user_id)

    @route(
        "PUT",
        "/me/settings",
        summary="Change my escalation minutes (reminder → SMS) and phone",
        tag="users",
        body=SettingsSchema,
        response=UserSchema,
    )
    def update_my_settings(self, request: Request, body: dict) -> dict:
        return self.accounts.update_settings(body)

    @route(
        "POST",
        "/users",
        summary="Create a user (admin; a manager for their own team's salespeople)",
        tag="users",
        body=NewUserSchema,
        response=UserSchema,
        status=201,
        errors=(403, 409),
    )
    def create_user(self, request: Request, body: dict) -> dict:
        return self.accounts.create_user(body)

    @route(
        "GET",
        "/users",
        summary="Users the caller may see: all, the team, or themself",
        tag="users",
        response=UserSchema,
        many=True,
    )
    def list_users(self, request: Request) -> list:
        return self.accounts.list_users()

    @route(
        "POST",
        "/users/<int:user_id>/deactivate",
        summary=(
            "Deactivate a user (admin; a manager for their team's salespeople): no more logins, tokens"
            " refused; body {hand_over_to} (a colleague of the team) or {to_pool: true} (default):"
            " where their customers go"
        ),
        tag="users",
        response=UserSchema,
        errors=(400, 403, 404, 409),
    )
    def deactivate_user(self, request: Request, user_id: int) -> dict:
        # body optional: {"hand_over_to": user id} or {"to_pool": true}; none means the team pool
        return self.accounts.deactivate_user(user_id, optional_body(request, DeactivateSchema))

    @route(
        "POST",
        "/users/<int:user_id>/reactivate",
        summary="Make a deactivated user active again",
        tag="users",
        response=UserSchema,
        errors=(403, 404),
    )
    def reactivate_user(self, request: Request, user_id: int) -> dict:
        return self.accounts.reactivate_user(user_id)
