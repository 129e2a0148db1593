"""Idempotency keys in the service: a claimed key answers a repeat with the stored answer, the
same key for another request or still running is refused, keys of one scope never answer in
another, forgotten keys can be used again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core.errors import InvalidInput, Refused
from pss_core.models import IdempotencyKey, utcnow
from pss_core.services import idempotency as idem

FP = idem.fingerprint("POST", "/events/demo/players/101/sell", b'{"tickets":3}')


def test_fingerprint_tells_requests_apart() -> None:
    same = idem.fingerprint("post", "/events/demo/players/101/sell", b'{"tickets":3}')
    assert same == FP
    assert idem.fingerprint("POST", "/events/demo/players/101/sell", b'{"tickets":4}') != FP
    assert idem.fingerprint("POST", "/events/demo/players/102/sell", b'{"tickets":3}') != FP
    # Parts are length-prefixed: moving a byte from the path into the body is another request.
    assert idem.fingerprint("POST", "/a", b"b") != idem.fingerprint("POST", "/ab", b"")


def test_a_claimed_key_answers_again(dbsession: Session) -> None:
    row = idem.claim(dbsession, "session:1", "k1", FP)
    assert isinstance(row, IdempotencyKey)
    idem.remember(
        dbsession, row, idem.Answer(201, (("Content-Type", "application/json"),), '{"ok":true}')
    )
    again = idem.claim(dbsession, "session:1", "k1", FP)
    assert again == idem.Answer(201, (("Content-Type", "application/json"),), '{"ok":true}')
    assert len(dbsession.scalars(select(IdempotencyKey)).all()) == 1


def test_the_same_key_for_another_request_is_refused(dbsession: Session) -> None:
    row = idem.claim(dbsession, "session:1", "k1", FP)
    assert isinstance(row, IdempotencyKey)
    idem.remember(dbsession, row, idem.Answer(201, (), "{}"))
    other = idem.fingerprint("POST", "/events/demo/players/101/sell", b'{"tickets":9}')
    with pytest.raises(Refused) as info:
        idem.claim(dbsession, "session:1", "k1", other)
    assert info.value.code == "idempotency_key_reused"


def test_a_key_still_being_answered_is_refused(dbsession: Session) -> None:
    assert isinstance(idem.claim(dbsession, "session:1", "k1", FP), IdempotencyKey)
    with pytest.raises(Refused) as info:
        idem.claim(dbsession, "session:1", "k1", FP)
    assert info.value.code == "idempotency_in_progress"


def test_scopes_are_separate(dbsession: Session) -> None:
    row = idem.claim(dbsession, "session:1", "k1", FP)
    assert isinstance(row, IdempotencyKey)
    idem.remember(dbsession, row, idem.Answer(201, (), "{}"))
    assert isinstance(idem.claim(dbsession, "session:2", "k1", FP), IdempotencyKey)


def test_forgotten_keys_can_be_used_again(dbsession: Session) -> None:
    row = idem.claim(dbsession, "session:1", "k1", FP)
    assert isinstance(row, IdempotencyKey)
    idem.remember(dbsession, row, idem.Answer(201, (), "{}"))
    row.created_at = utcnow() - idem.KEEP - timedelta(minutes=1)
    dbsession.flush()
    fresh = idem.claim(dbsession, "session:1", "k1", FP)
    assert isinstance(fresh, IdempotencyKey)
    assert fresh.status is None


@pytest.mark.parametrize("key", ["", "x" * 201, "with space", "ключ"])
def test_unusable_keys_are_refused(dbsession: Session, key: str) -> None:
    with pytest.raises(InvalidInput) as info:
        idem.claim(dbsession, "session:1", key, FP)
    assert info.value.code == "invalid_idempotency_key"
