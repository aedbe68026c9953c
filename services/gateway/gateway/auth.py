"""Bearer tokens: JWTs signed with the secret in CRM_JWT_SECRET."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

import jwt
from nameko.extensions import DependencyProvider

from crm_common.caller import Caller
from crm_common.clock import utcnow
from crm_common.errors import Unauthenticated

log = logging.getLogger(__name__)

ALGORITHM = "HS256"
DEV_SECRET = "dev-only-secret-set-CRM_JWT_SECRET-in-production"


class InvalidToken(Unauthenticated):
    code = "invalid_token"


class Tokens:
    def __init__(self, secret: str, ttl: timedelta) -> None:
        self.secret = secret
        self.ttl = ttl

    def issue(self, user: dict[str, Any]) -> dict[str, Any]:
        """A token response for an authenticated ``user`` (a dict from accounts)."""
        now = utcnow()
        claims = {
            "sub": str(user["id"]),
            "username": user["username"],
            "role": user["role"],
            "team": user.get("team"),
            "name": user.get("display_name"),
            "iat": now,
            "exp": now + self.ttl,
        }
        token = jwt.encode(claims, self.secret, algorithm=ALGORITHM)
        return {"access_token": token, "token_type": "bearer", "expires_in": int(self.ttl.total_seconds())}

    def verify(self, authorization: str | None) -> Caller:
        """The caller named by an ``Authorization: Bearer …`` header; Unauthenticated otherwise."""
        if not authorization:
            raise Unauthenticated("log in first: send Authorization: Bearer <token>")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidToken("the Authorization header must be 'Bearer <token>'")
        try:
            claims = jwt.decode(
                token.strip(), self.secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("the token has expired; log in again") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("the token is not valid") from exc
        return Caller(
            user_id=int(claims["sub"]),
            username=claims.get("username", ""),
            role=claims.get("role", ""),
            team=claims.get("team"),
            display_name=claims.get("name"),
        )


class TokenAuthority(DependencyProvider):
    """Injects Tokens; the secret comes only from the environment."""

    def setup(self) -> None:
        secret = os.environ.get("CRM_JWT_SECRET")
        if not secret:
            log.warning("CRM_JWT_SECRET is not set: using the development secret")
            secret = DEV_SECRET
        ttl = int(self.container.config.get("JWT_TTL_SECONDS") or 3600)
        self.tokens = Tokens(secret, timedelta(seconds=ttl))

    def get_dependency(self, worker_ctx: Any) -> Tokens:
        return self.tokens
