"""Idempotency keys: an unsafe request sent twice with the same key (a desk sale whose answer
was lost on the venue Wi-Fi, a double click) is done once, and the repeat gets the first answer.

The key's row is written in the same transaction as the work it guards, so it exists exactly
when the work was done. A second request with the key waits on the first one's row (PostgreSQL
holds a conflicting insert until the first transaction ends) and then finds its answer.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import attrs
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pss_core.errors import InvalidInput, Refused
from pss_core.models import IdempotencyKey, utcnow

#: How long a key is remembered; a retry comes within seconds, so a day is generous.
KEEP = timedelta(hours=24)
MAX_KEY_LENGTH = 200


@attrs.frozen
class Answer:
    """The stored answer to the first request sent with a key."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: str


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same request": the method, the path with its query, the
    body, byte for byte."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def check_key(key: str) -> str:
    if not (0 < len(key) <= MAX_KEY_LENGTH) or not all(33 <= ord(c) < 127 for c in key):
        raise InvalidInput(
            f"The Idempotency-Key must be 1 to {MAX_KEY_LENGTH} visible ASCII characters.",
            code="invalid_idempotency_key",
        )
    return key


def _find(session: Session, scope: str, key: str) -> IdempotencyKey | None:
    return session.scalars(
        select(IdempotencyKey)
        .where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
        .execution_options(populate_existing=True)
    ).one_or_none()


def claim(
    session: Session, scope: str, key: str, request_fingerprint: str
) -> IdempotencyKey | Answer:
    """Claim ``key`` in ``scope`` for a request: the new row (do the work, then
    :func:`remember` its answer in the same transaction), or the first request's answer when
    the key was used before for the same request.

    Refuses the key used for another request (``idempotency_key_reused``) and a key whose first
    request has not finished (``idempotency_in_progress``)."""
    check_key(key)
    # Forgotten keys of this scope only: a purge across scopes would make every keyed request
    # wait on every other one.
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.scope == scope, IdempotencyKey.created_at < utcnow() - KEEP
        )
    )
    existing = _find(session, scope, key)
    if existing is None:
        row = IdempotencyKey(scope=scope, key=key, fingerprint=request_fingerprint)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
            return row
        except IntegrityError:
            # Another request with this key committed first (we waited for it, or it won).
            existing = _find(session, scope, key)
            if existing is None:  # pragma: no cover - the conflicting row cannot vanish
                raise
    if existing.fingerprint != request_fingerprint:
        raise Refused(
            "This Idempotency-Key was already used for a different request; send a "
            "new key with each new request.",
            code="idempotency_key_reused",
        )
    if existing.status is None:
        raise Refused(
            "The first request with this Idempotency-Key is still being answered; "
            "try again in a moment.",
            code="idempotency_in_progress",
        )
    return Answer(
        status=existing.status,
        headers=tuple((str(k), str(v)) for k, v in existing.headers),
        body=existing.body,
    )


def remember(session: Session, row: IdempotencyKey, answer: Answer) -> None:
    """Store the answer to a claimed key's request (in the transaction of its work)."""
    row.status = answer.status
    row.headers = [list(h) for h in answer.headers]
    row.body = answer.body
    session.flush()
