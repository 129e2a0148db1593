"""Password and PIN hashing with argon2, and random secrets."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

#: The hasher a dummy hash was made with, and that hash (see :func:`verify_in_constant_work`).
_dummy: tuple[PasswordHasher, str] | None = None


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def _dummy_hash() -> str:
    # Made on first use, not at import: hashing takes a noticeable fraction of a second and
    # every ``pss`` command imports this module. Remade if the hasher is replaced, so it always
    # costs what a real hash costs.
    global _dummy
    if _dummy is None or _dummy[0] is not _hasher:
        _dummy = (_hasher, _hasher.hash("not-a-real-secret"))
    return _dummy[1]


def verify_in_constant_work(stored_hash: str | None, secret: str) -> bool:
    """Like :func:`verify_secret`, but runs exactly one argon2 verification whether or not
    there is a hash to check against (an unknown name, an account without a password), so how
    long a login takes does not tell which names exist or have a password."""
    if not stored_hash:
        verify_secret(_dummy_hash(), secret)
        return False
    return verify_secret(stored_hash, secret)


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
