"""``Idempotency-Key`` on unsafe actions: the same key with the same request gets the first
answer again instead of doing the work twice; HTML forms carry a fresh key per rendered form
(the ``idempotency_key`` field of the ``csrf()`` macro), so a double click or a resent form
sells once. The rules live in :mod:`pss_core.services.idempotency`."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from pyramid.response import Response

from pss_core.services import idempotency
from pss_web.viewkit import FLASH_COOKIE

HEADER = "Idempotency-Key"
FORM_FIELD = "idempotency_key"
#: Headers that belong to one answer only and are never replayed.
_NOT_REPLAYED = {"content-length", "date", "server"}


def new_key() -> str:
    return secrets.token_urlsafe(18)


def key_of(request: Any) -> str | None:
    key = request.headers.get(HEADER)
    if key is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        key = request.POST.get(FORM_FIELD)
    return key or None


def scope_of(request: Any) -> str | None:
    """Whose keys these are: the login, else the browser (its CSRF cookie). A key of one login
    never answers for another."""
    identity = request.identity
    if identity is not None:
        return f"session:{identity.session_id}"
    token = request.cookies.get("csrf_token") or request.headers.get("X-CSRF-Token")
    if token:
        return "csrf:" + hashlib.sha256(token.encode()).hexdigest()[:40]
    return None


def _kept(name: str, value: str) -> bool:
    lower = name.lower()
    if lower == "set-cookie":
        # Only the one-time message ("take $9.00") is repeated; a login's cookie never is.
        return value.startswith(FLASH_COOKIE + "=")
    return lower not in _NOT_REPLAYED


def answer_of(response: Response) -> idempotency.Answer:
    return idempotency.Answer(
        status=response.status_code,
        headers=tuple((k, v) for k, v in response.headerlist if _kept(k, v)),
        body=response.body.decode("utf-8", "replace"),
    )


def replay(answer: idempotency.Answer) -> Response:
    response = Response(status=answer.status, body=answer.body.encode())
    response.headerlist = [(k, v) for k, v in answer.headers]
    response.content_length = len(response.body)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _idempotent(view: Any, info: Any) -> Any:
    if not info.options.get("atomic"):
        return view

    def idempotent(context: Any, request: Any) -> Any:
        key = key_of(request)
        scope = scope_of(request) if key else None
        if key is None or scope is None:
            return view(context, request)
        session = request.dbsession
        # One savepoint for the key and the work: a refusal leaves neither behind, so the same
        # key may be tried again once the cause is fixed.
        savepoint = session.begin_nested()
        try:
            claimed = idempotency.claim(
                session,
                scope,
                key,
                idempotency.fingerprint(request.method, request.path_qs, request.body),
            )
            if isinstance(claimed, idempotency.Answer):
                response = replay(claimed)
            else:
                response = view(context, request)
                idempotency.remember(session, claimed, answer_of(response))
        except BaseException:
            if savepoint.is_active:
                savepoint.rollback()
            raise
        savepoint.commit()
        return response

    return idempotent


def includeme(config: Any) -> None:
    config.add_view_deriver(_idempotent, "pss_idempotent", under="pss_live", over="pss_atomic")
