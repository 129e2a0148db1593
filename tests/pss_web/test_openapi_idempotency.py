"""The OpenAPI document says which operations take an ``Idempotency-Key``: every ``@action``
(a desk sale, a score, a correction), not the payment endpoints that settle with the provider
under keys of their own; and a documented operation really answers a repeated key with the
first answer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.audit import Actor
from pss_core.models import AuditLog, Event
from pss_core.plugins import Pss
from pss_core.services import setup, tickets
from pss_testing.web import JSON, csrf_token, login_as

#: Unsafe operations that must not take the key (docs/web.rst, "Sending a request twice").
NOT_IDEMPOTENT = {
    ("post", "/events/{event}/purchases/{purchase}/intent"),
    ("post", "/events/{event}/purchases/{purchase}/refund"),
    ("post", "/events/{event}/purchases/{purchase}/status"),
    ("post", "/events/{event}/{provider}/webhook"),
}


def _key_parameter(op: dict[str, Any]) -> dict[str, Any] | None:
    return next((p for p in op["parameters"] if p["name"] == "Idempotency-Key"), None)


def test_the_document_says_which_operations_take_the_key(webapp: TestApp) -> None:
    doc = webapp.get("/api/openapi.json").json
    unsafe = {
        (method, path): op
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if method != "get"
    }
    assert set(unsafe) >= NOT_IDEMPOTENT
    for (method, path), op in unsafe.items():
        param = _key_parameter(op)
        if (method, path) in NOT_IDEMPOTENT:
            assert param is None, path
            continue
        assert param is not None, f"{method} {path} does not document Idempotency-Key"
        assert (param["in"], param["required"]) == ("header", False)
        assert param["schema"]["maxLength"] == 200
        assert "Idempotent-Replayed" in op["responses"]["200"]["headers"]
        assert "idempotency_key_reused" in op["responses"]["409"]["description"]
    # The desk's sale, the scorekeeper's score and a correction are among them.
    for path in (
        "/events/{event}/players/{number}/sell",
        "/events/{event}/machines/{machine}/score",
        "/events/{event}/machines/{machine}/add-score",
    ):
        assert _key_parameter(unsafe[("post", path)]) is not None
    # GET pages take no key.
    assert _key_parameter(doc["paths"]["/events/{event}/"]["get"]) is None


def test_a_documented_operation_answers_a_repeated_key_once(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event
) -> None:
    """What the document promises for a correction: the same key twice adds one score."""
    ep = setup.player_by_number(dbsession, demo_event.id, 101)
    main = demo_event.tournaments[0]
    tickets.sell_tickets(dbsession, pss, player=ep, count=2, tournament=main, actor=Actor("desk"))
    dbsession.flush()
    login_as(webapp, demo_event, "td")
    url = f"/events/demo/machines/{main.machines[0].id}/add-score"
    headers = {**JSON, "X-CSRF-Token": csrf_token(webapp), "Idempotency-Key": "add-101-once"}
    body = {"player": 101, "score": "4,000", "confirm": True}
    first = webapp.post_json(url, body, headers=headers, status=201)
    again = webapp.post_json(url, body, headers=headers, status=201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    added = select(func.count(AuditLog.id)).where(AuditLog.action == "score.add_missing")
    assert dbsession.scalar(added) == 1
    other = webapp.post_json(url, {**body, "score": "5,000"}, headers=headers, status=409)
    assert other.json["error"] == "idempotency_key_reused"
