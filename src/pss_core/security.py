"""Password and PIN hashing with argon2, and random secrets."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """True when ``secret`` matches; a missing or malformed hash never matches."""
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Only the digest of a session token is stored, so a leaked table opens no sessions."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_pin() -> str:
    return f"{secrets.randbelow(10_000):04d}"
