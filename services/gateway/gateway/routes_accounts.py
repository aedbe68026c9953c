"""Routes of the accounts area: log in, who am I, users."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from accounts.schemas import NewUserSchema, SettingsSchema, UserSchema
from gateway.api import route
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
    )
    def issue_token(self, request: Request, body: dict) -> dict:
        user = self.accounts.authenticate(body["username"], body["password"])
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
