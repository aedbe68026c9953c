"""How passwords are kept: argon2id hashes, and a check that costs the same for unknown users."""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted; safe to store)."""
    return _hasher.hash(password)


@functools.cache
def stand_in_hash() -> str:
    """A hash of a random password, made with the same parameters as every user's."""
    return _hasher.hash(secrets.token_urlsafe(24))


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``. With no hash (an unknown or unusable
    user) a stand-in hash is checked, so that the answer takes as long as for a real user."""
    try:
        return _hasher.verify(password_hash or stand_in_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
