"""Staff passwords as argon2 hashes (argon2-cffi). `hall staff-password` makes a hash for the
config; the server checks a login's password against it and never stores or logs the password."""
from __future__ import annotations

import secrets

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def dummy_hash(like: str | None = None) -> str:
    """The hash of a random password nobody knows, made with the parameters of `like` (a
    configured hash) when it has readable ones: checking a login of an unknown account against
    it takes as long as checking a real one, so the time of the answer does not tell whether
    the account exists."""
    hasher = _hasher
    if like:
        try:
            hasher = PasswordHasher.from_parameters(extract_parameters(like))
        except (InvalidHashError, ValueError):
            hasher = _hasher
    return hasher.hash(secrets.token_urlsafe(24))
