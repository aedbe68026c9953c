"""Bearer tokens: JWTs signed with the secret in CRM_JWT_SECRET (or the file CRM_JWT_SECRET_FILE)."""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
from nameko.extensions import DependencyProvider

from crm_common.caller import Caller
from crm_common.clock import utcnow
from crm_common.errors import Unauthenticated

log = logging.getLogger(__name__)

ALGORITHM = "HS256"
MAX_USER_ID = 2**31 - 1  # ids are 32-bit integer columns


class InvalidToken(Unauthenticated):
    code = "invalid_token"


class UserInactive(Unauthenticated):
    code = "user_inactive"


class MissingSecret(RuntimeError):
    """The gateway has no secret to sign tokens with: it refuses to start."""


def configured_secret(environ: Mapping[str, str]) -> str:
    """CRM_JWT_SECRET, else the contents of the owner-only file CRM_JWT_SECRET_FILE; else MissingSecret."""
    secret = environ.get("CRM_JWT_SECRET", "").strip()
    if secret:
        return secret
    file_name = environ.get("CRM_JWT_SECRET_FILE", "").strip()
    if not file_name:
        raise MissingSecret(
            "no token secret: set CRM_JWT_SECRET to a long random string (or CRM_JWT_SECRET_FILE "
            "to a file holding one); `make run` creates var/jwt_secret for you"
        )
    path = Path(file_name)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise MissingSecret(f"CRM_JWT_SECRET_FILE={file_name}: cannot read it ({exc})") from exc
    if mode & 0o077:
        raise MissingSecret(f"CRM_JWT_SECRET_FILE={file_name} is readable by others: chmod 0600 it")
    if not secret:
        raise MissingSecret(f"CRM_JWT_SECRET_FILE={file_name} is empty")
    return secret


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
        return caller_from_claims(claims)


def caller_from_claims(claims: dict[str, Any]) -> Caller:
    """The caller a validly signed token names; InvalidToken unless its claims have our shapes
    (``sub`` a user id 1…2³¹−1 in decimal digits, the other claims text)."""
    subject = claims.get("sub")
    if not (isinstance(subject, str) and subject.isascii() and subject.isdigit() and len(subject) <= 10):
        raise InvalidToken("the token is not valid")
    user_id = int(subject)
    if not 0 < user_id <= MAX_USER_ID:
        raise InvalidToken("the token is not valid")
    text = {name: claims.get(name) for name in ("username", "role", "team", "name")}
    if any(value is not None and not isinstance(value, str) for value in text.values()):
        raise InvalidToken("the token is not valid")
    return Caller(
        user_id=user_id,
        username=text["username"] or "",
        role=text["role"] or "",
        team=text["team"],
        display_name=text["name"],
    )


class TokenAuthority(DependencyProvider):
    """Injects Tokens; the secret comes only from the environment (the gateway won't start without)."""

    def setup(self) -> None:
        try:
            secret = configured_secret(os.environ)
        except MissingSecret as exc:
            log.critical("the gateway cannot start: %s", exc)
            raise
        ttl = int(self.container.config.get("JWT_TTL_SECONDS") or 3600)
        self.tokens = Tokens(secret, timedelta(seconds=ttl))

    def get_dependency(self, worker_ctx: Any) -> Tokens:
        return self.tokens


class UserStatus:
    """Whether token holders are still active users, asked of accounts and remembered for
    ``ttl`` seconds (a deactivated user's token stops working within that time)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._known: dict[int, tuple[str, float]] = {}

    def require(self, user_id: int, accounts: Any) -> None:
        """Nothing for an active user; UserInactive or InvalidToken (no such user) otherwise."""
        state, until = self._known.get(user_id, ("", 0.0))
        if time.monotonic() >= until:
            user = accounts.get_users([user_id]).get(str(user_id))
            state = "missing" if user is None else "active" if user.get("active") is True else "inactive"
            self._known[user_id] = (state, time.monotonic() + self.ttl)
        if state == "missing":
            raise InvalidToken("the user of this token no longer exists")
        if state == "inactive":
            raise UserInactive("this user has been deactivated")


class ActiveUsers(DependencyProvider):
    """Injects the gateway's UserStatus (one cache per gateway process)."""

    def setup(self) -> None:
        self.status = UserStatus(float(self.container.config.get("USER_CHECK_SECONDS") or 5))

    def get_dependency(self, worker_ctx: Any) -> UserStatus:
        return self.status
