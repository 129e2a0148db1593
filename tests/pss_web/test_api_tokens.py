"""Personal API tokens over real HTTP: made by a staff member for one role, shown once, stored as
a digest, used as a bearer token without CSRF (a cookie request still needs it), limited to the
event and to what the maker holds, revocable, revoked with the maker's removal, rate-limited,
and audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.audit import Actor
from pss_core.models import ApiToken, AuditLog, Event, Role
from pss_core.services import admin, api_tokens, setup
from pss_testing.web import JSON, csrf_token, login_as, post_form, post_json

OWNER = Actor("owner")


def bearer(token: str) -> dict[str, str]:
    return {**JSON, "Authorization": f"Bearer {token}"}


def make_token(app: TestApp, role: str = "desk", label: str = "feed") -> str:
    answer = post_json(app, "/events/demo/tokens", {"label": label, "role": role}, status=201)
    token = answer.json["token"]
    assert token.startswith("pss_")
    return str(token)


def register(app: TestApp, token: str, *, status: int = 201, **headers: str) -> Any:
    return app.post_json(
        "/events/demo/desk",
        {"first_name": "Tok", "last_name": "En", "confirm_new": True},
        headers={**bearer(token), **headers},
        status=status,
    )


def test_a_desk_token_registers_players_without_csrf(
    webapp: TestApp, make_webapp: Any, dbsession: Session, demo_event: Event
) -> None:
    login_as(webapp, demo_event, "desk")
    token = make_token(webapp)
    # Stored as a digest only; the token itself is not in the table or the audit log.
    row = dbsession.scalars(select(ApiToken)).one()
    assert row.token_hash == api_tokens.token_digest(token)
    logged = [str(a.details) for a in dbsession.scalars(select(AuditLog))]
    assert not any(token in d for d in logged)
    listed = webapp.get("/events/demo/tokens", headers=JSON).json["tokens"]
    assert [t["label"] for t in listed] == ["feed"]
    assert token not in webapp.get("/events/demo/tokens").text

    script = make_webapp()  # no cookies at all: only the bearer token
    answer = register(script, token).json
    assert answer["player"]["name"] == "Tok En"
    actions = [a.action for a in dbsession.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert "api_token.create" in actions
    registered = dbsession.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
    assert registered is not None
    assert registered.actor == "desk-demo (token “feed”)"
    # Only its role: a desk token cannot manage tournaments.
    script.post_json(
        "/events/demo/tournaments/",
        {"name": "Side", "format": "herb"},
        headers=bearer(token),
        status=403,
    )


def test_a_cookie_request_still_needs_csrf(webapp: TestApp, demo_event: Event) -> None:
    login_as(webapp, demo_event, "desk")
    webapp.post_json(
        "/events/demo/desk", {"first_name": "No", "last_name": "Csrf"}, headers=JSON, status=403
    )
    post_json(webapp, "/events/demo/desk", {"first_name": "With", "last_name": "Csrf"}, status=201)


def test_a_bad_bearer_never_falls_back_to_the_cookie(webapp: TestApp, demo_event: Event) -> None:
    login_as(webapp, demo_event, "desk")
    headers = {**bearer("pss_not-a-token"), "X-CSRF-Token": csrf_token(webapp)}
    webapp.post_json(
        "/events/demo/desk", {"first_name": "A", "last_name": "B"}, headers=headers, status=401
    )


def test_a_token_for_one_event_gets_nothing_in_another(
    webapp: TestApp, make_webapp: Any, dbsession: Session, demo_event: Event
) -> None:
    owner = setup.user_by_name(dbsession, "owner")
    assert owner is not None
    other = setup.create_event(dbsession, owner, "Other Open", slug="other")
    setup.add_event_user(dbsession, other, "desk-demo", "x" * 10, [Role.DESK])
    login_as(webapp, demo_event, "desk")
    token = make_token(webapp)
    script = make_webapp()
    script.get("/events/other/desk", headers=bearer(token), status=401)
    script.post_json(
        "/events/other/desk",
        {"first_name": "A", "last_name": "B"},
        headers=bearer(token),
        status=401,
    )
    script.get("/events/demo/desk", headers=bearer(token), status=200)


def test_a_token_grants_at_most_the_makers_roles(webapp: TestApp, demo_event: Event) -> None:
    login_as(webapp, demo_event, "desk")
    refused = post_json(
        webapp, "/events/demo/tokens", {"label": "x", "role": "td"}, status=400
    ).json
    assert refused["error"] == "role_not_held"
    # A token cannot make tokens.
    token = make_token(webapp)
    webapp.post_json(
        "/events/demo/tokens", {"label": "y", "role": "desk"}, headers=bearer(token), status=403
    )


def test_revoked_and_removed_tokens_stop_working(
    webapp: TestApp, make_webapp: Any, dbsession: Session, demo_event: Event
) -> None:
    login_as(webapp, demo_event, "desk")
    first, second = make_token(webapp, label="one"), make_token(webapp, label="two")
    script = make_webapp()
    register(script, first)
    row = dbsession.scalars(select(ApiToken).where(ApiToken.label == "one")).one()
    post_json(webapp, "/events/demo/tokens-revoke", {"token": row.id})
    register(script, first, status=401)
    register(script, second)
    # Revoking through a form needs the CSRF token too.
    row2 = dbsession.scalars(select(ApiToken).where(ApiToken.label == "two")).one()
    post_form(webapp, "/events/demo/tokens-revoke", {"token": str(row2.id)}, csrf=False, status=403)

    eu = setup.event_user(dbsession, demo_event, "desk-demo")
    assert eu is not None
    admin.remove_event_user(dbsession, demo_event, eu, actor=OWNER)
    dbsession.flush()
    register(script, second, status=401)
    assert dbsession.get_one(ApiToken, row2.id).revoked_at is not None
    revokes = dbsession.scalars(select(AuditLog).where(AuditLog.action == "api_token.revoke")).all()
    assert len(revokes) == 2


def test_tokens_are_rate_limited(
    webapp: TestApp, make_webapp: Any, dbsession: Session, demo_event: Event, monkeypatch: Any
) -> None:
    monkeypatch.setattr(api_tokens, "RATE_LIMIT", 3)
    login_as(webapp, demo_event, "desk")
    token = make_token(webapp)
    script = make_webapp()
    for _ in range(3):
        script.get("/events/demo/desk", headers=bearer(token), status=200)
    refused = script.get("/events/demo/desk", headers=bearer(token), status=429)
    assert refused.json["error"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1


def test_the_page_shows_a_new_token_once(webapp: TestApp, demo_event: Event) -> None:
    login_as(webapp, demo_event, "scorekeeper")
    form = webapp.get("/events/demo/tokens").forms["token-form"]
    form["label"] = "scoreboard"
    form["role"] = "scorekeeper"
    shown = form.submit(status=201)
    token = shown.html.select_one("#token-value").get_text()
    assert token.startswith("pss_")
    assert shown.headers["Cache-Control"] == "no-store"
    again = webapp.get("/events/demo/tokens")
    assert "scoreboard" in again.text
    assert token not in again.text
