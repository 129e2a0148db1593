"""The three logins through the web: forms and JSON, CSRF on every unsafe request, the PIN lockout,
logout revoking the session, and where a login sends you next."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.models import AuditLog, Event, LoginSession
from pss_core.security import token_digest
from pss_testing.web import (
    JSON,
    csrf_token,
    login_admin,
    login_as,
    login_player,
    logout,
    post_form,
    post_json,
)


def test_player_logs_in_with_a_form_and_lands_on_their_page(
    webapp: TestApp, demo_event: Event
) -> None:
    form = webapp.get("/events/demo/player-login").forms[0]
    form["number"] = "101"
    form["pin"] = "4321"
    res = form.submit(status=303)
    assert res.location == "http://localhost/events/demo/players/101/play"
    page = res.follow()
    assert "Logged in as Ada Flipper (#101)" in page.text
    assert "Log out" in page.text


def test_wrong_pin_rerenders_the_form_with_the_message(webapp: TestApp, demo_event: Event) -> None:
    form = webapp.get("/events/demo/player-login").forms[0]
    form["number"] = "101"
    form["pin"] = "0000"
    res = form.submit(status=403)
    assert "Wrong player number or PIN" in res.text
    # What was typed comes back, except the PIN.
    assert res.forms[0]["number"].value == "101"
    assert res.forms[0]["pin"].value == ""


def test_pin_lockout_through_the_web(
    webapp: TestApp, dbsession: Session, make_webapp: Callable[..., TestApp], demo_event: Event
) -> None:
    for _ in range(4):
        res = login_player(webapp, demo_event, 102, "1111", status=403)
        assert res.json["error"] == "login_failed"
    res = login_player(webapp, demo_event, 102, "2222", status=429)
    assert res.json["error"] == "locked_out"
    assert int(res.headers["Retry-After"]) > 14 * 60
    assert "Ask the desk" in res.json["message"]
    # The right PIN, even from another device, waits out the lockout.
    phone = make_webapp(REMOTE_ADDR="203.0.113.5")
    assert login_player(phone, demo_event, 102, "4321", status=429).json["error"] == "locked_out"
    # The failures were committed even though each request was refused.
    assert (
        dbsession.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "login.failed"))
        == 5
    )
    assert (
        dbsession.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "login.locked"))
        == 1
    )
    assert dbsession.scalar(select(func.count(LoginSession.id))) == 0


def test_one_device_guessing_many_players_is_locked(
    webapp: TestApp, make_webapp: Callable[..., TestApp], demo_event: Event
) -> None:
    # An address may be a venue's shared Wi-Fi: its cap is well above one number's.
    statuses = [
        login_player(webapp, demo_event, n, "1111", status="*").status_int for n in range(101, 122)
    ]
    assert statuses == [403] * 19 + [429, 429]
    # Another device is not affected.
    login_player(make_webapp(REMOTE_ADDR="203.0.113.9"), demo_event, 106, "4321")


def test_staff_and_admin_logins(webapp: TestApp, demo_event: Event) -> None:
    res = login_as(webapp, demo_event, "desk", username="desk", password="desk-pass")
    assert res.json["identity"]["roles"] == ["desk"]
    assert res.json["identity"]["kind"] == "staff"
    assert (
        login_as(webapp, demo_event, "desk", username="desk", password="nope", status=403).json[
            "error"
        ]
        == "login_failed"
    )
    res = login_admin(webapp)
    assert res.json["identity"]["kind"] == "admin"
    assert login_admin(webapp, "desk", "desk-pass", status=403).json["error"] == "login_failed"


def test_missing_fields_are_invalid_input(webapp: TestApp, demo_event: Event) -> None:
    res = post_json(webapp, "/events/demo/login", {"username": "desk"}, status=400)
    assert res.json == {
        "error": "missing_field",
        "message": "Password is required.",
        "field": "password",
    }
    res = post_json(webapp, "/events/demo/player-login", {"number": "abc", "pin": "1"}, status=400)
    assert res.json["field"] == "number"
    res = webapp.post(
        "/events/demo/login",
        "{not json",
        headers={**JSON, "Content-Type": "application/json", "X-CSRF-Token": csrf_token(webapp)},
        status=400,
    )
    assert res.json["error"] == "invalid_json"


def test_logout_revokes_the_session(webapp: TestApp, demo_event: Event) -> None:
    login_as(webapp, demo_event, "scorekeeper", username="scorekeeper", password="scorekeeper-pass")
    token = webapp.cookies[f"pss_event_{demo_event.id}"]
    assert webapp.get("/events/demo/", headers=JSON).status_int == 200
    logout(webapp, demo_event)
    assert f"pss_event_{demo_event.id}" not in webapp.cookies
    # Replaying the old cookie does not bring the login back: it was revoked on the server.
    webapp.set_cookie(f"pss_event_{demo_event.id}", token)
    res = webapp.get("/events/demo/login", headers=JSON)
    assert res.json["identity"] is None


def test_logout_from_the_page_is_a_csrf_protected_form(webapp: TestApp, demo_event: Event) -> None:
    login_player(webapp, demo_event, 101, "4321")
    page = webapp.get("/events/demo/")
    logout_form = next(f for f in page.forms.values() if f.action.endswith("/logout"))
    assert logout_form.method.lower() == "post"
    assert logout_form["csrf_token"].value == webapp.cookies["csrf_token"]
    res = logout_form.submit(status=303).follow()
    assert "Logged out." in res.text
    assert "Player login" in res.text


def test_next_only_goes_inside_the_same_login_scope(webapp: TestApp, demo_event: Event) -> None:
    res = post_form(
        webapp,
        "/events/demo/login",
        {"username": "desk", "password": "desk-pass", "next": "/events/demo/players/"},
        status=303,
    )
    assert res.location == "http://localhost/events/demo/players/"
    # A full address on this very site is as good as its path.
    res = post_form(
        webapp,
        "/events/demo/login",
        {
            "username": "desk",
            "password": "desk-pass",
            "next": "http://localhost/events/demo/players/?page=2",
        },
        status=303,
    )
    assert res.location == "http://localhost/events/demo/players/?page=2"
    for target in (
        "//evil.example/",
        "https://evil.example/",
        "/admin/",
        "/events/other/",
        "https://evil.example/events/demo/",
        "http://localhost.evil/events/demo/",
        "/events/demo/../other/",
        "/events/demo/%2e%2e/other/",
        "/events/demo/./../../admin/",
        "/\\evil.example/events/demo/",
        "/events/demo\\..\\other/",
        "/events/demo",
        "/events/demo-2/",
        "javascript:alert(1)//events/demo/",
    ):
        res = post_form(
            webapp,
            "/events/demo/login",
            {"username": "desk", "password": "desk-pass", "next": target},
            status=303,
        )
        # Refused: the desk's own landing page instead.
        assert res.location == "http://localhost/events/demo/desk", target


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/events/demo/login", {"username": "desk", "password": "desk-pass"}),
        ("/events/demo/player-login", {"number": "101", "pin": "4321"}),
        ("/admin/login", {"username": "owner", "password": "owner-pass"}),
        ("/events/demo/logout", {}),
        ("/events/demo/tournaments/", {"name": "X", "format": "herb"}),
        ("/events/demo/teams/", {"name": "T", "members": "101"}),
        ("/admin/events/", {"name": "Sneaky Open"}),
    ],
)
def test_unsafe_requests_without_the_csrf_token_are_refused(
    webapp: TestApp, dbsession: Session, demo_event: Event, url: str, body: dict[str, str]
) -> None:
    # Log in properly first, so only the missing token can be the reason for a refusal.
    login_as(webapp, demo_event, "owner", username="owner", password="owner-pass")
    login_admin(webapp)
    sessions = dbsession.scalar(select(func.count(LoginSession.id)))
    res = webapp.post(url, body, status=403)
    assert "This form has expired" in res.text
    res = webapp.post_json(url, body, headers=JSON, status=403)
    assert res.json["error"] == "csrf_failed"
    res = webapp.post_json(url, body, headers={**JSON, "X-CSRF-Token": "forged"}, status=403)
    assert res.json["error"] == "csrf_failed"
    # Nothing happened: no new login, no new event, no new tournament.
    assert dbsession.scalar(select(func.count(LoginSession.id))) == sessions
    assert dbsession.scalar(select(func.count(Event.id))) == 1
    # With the token, the same request gets past the CSRF check.
    ok = webapp.post_json(
        url, body, headers={**JSON, "X-CSRF-Token": csrf_token(webapp)}, expect_errors=True
    )
    assert ok.status_int in (200, 201)


def test_login_renews_the_csrf_token(webapp: TestApp, demo_event: Event) -> None:
    before = csrf_token(webapp)
    res = login_player(webapp, demo_event, 101, "4321")
    after = webapp.cookies["csrf_token"]
    assert after != before
    assert res.json["csrf_token"] == after


def test_mounted_under_a_prefix(make_webapp: Callable[..., TestApp], demo_event: Event) -> None:
    app = make_webapp(SCRIPT_NAME="/pss")
    res = app.get("/events/demo/tournaments/main/edit", status=303)
    assert res.location == (
        "http://localhost/pss/events/demo/login?next="
        "%2Fpss%2Fevents%2Fdemo%2Ftournaments%2Fmain%2Fedit"
    )
    res = post_form(
        app,
        "/events/demo/login",
        {
            "username": "owner",
            "password": "owner-pass",
            "next": "/pss/events/demo/tournaments/main/edit",
        },
        status=303,
    )
    assert res.location == "http://localhost/pss/events/demo/tournaments/main/edit"
    cookie = next(
        v
        for k, v in res.headerlist
        if k == "Set-Cookie" and v.startswith(f"pss_event_{demo_event.id}=")
    )
    assert "Path=/pss/events/demo" in cookie
    page = app.get("/events/demo/tournaments/main/edit")
    assert 'action="http://localhost/pss/events/demo/logout"' in page.text


def test_a_phone_that_logged_in_before_is_never_locked_out_by_others(
    webapp: TestApp, make_webapp: Callable[..., TestApp], demo_event: Event
) -> None:
    phone = make_webapp(REMOTE_ADDR="203.0.113.30")
    res = login_player(phone, demo_event, 103, "4321")
    device = next(
        v
        for k, v in res.headers.items()
        if k == "Set-Cookie" and v.startswith(f"pss_event_{demo_event.id}_device=")
    )
    assert "HttpOnly" in device
    assert "Path=/events/demo" in device
    logout(phone, demo_event)
    # Someone else locks number 103 from their own device.
    for _ in range(5):
        login_player(webapp, demo_event, 103, "0000", status="*")
    assert login_player(webapp, demo_event, 103, "4321", status=429).json["error"] == "locked_out"
    # The player's phone still gets in; a new phone waits (or asks the desk).
    login_player(phone, demo_event, 103, "4321")
    login_player(make_webapp(REMOTE_ADDR="203.0.113.30"), demo_event, 103, "4321", status=429)


def test_the_desks_unlock_lets_the_player_in_from_a_locked_address(
    webapp: TestApp, make_webapp: Callable[..., TestApp], demo_event: Event
) -> None:
    wifi = make_webapp(REMOTE_ADDR="203.0.113.40")
    statuses = {
        login_player(wifi, demo_event, n, "0000", status="*").status_int for n in range(201, 221)
    }
    assert statuses == {403, 429}
    newcomer = make_webapp(REMOTE_ADDR="203.0.113.40")
    login_player(newcomer, demo_event, 104, "4321", status=429)
    login_as(webapp, demo_event, "desk")
    assert post_json(webapp, "/events/demo/players/104/unlock").json["unlocked"] is True
    login_player(newcomer, demo_event, 104, "4321")


def test_an_event_logout_does_not_end_an_admin_session(
    webapp: TestApp, make_webapp: Callable[..., TestApp], dbsession: Session, demo_event: Event
) -> None:
    login_admin(webapp)
    admin_token = webapp.cookies["pss_admin"]

    def admin_session_live() -> bool:
        row = dbsession.scalars(
            select(LoginSession).where(LoginSession.token_hash == token_digest(admin_token))
        ).one()
        dbsession.refresh(row)
        return row.revoked_at is None

    # The admin token sent under the event's cookie name to the event's logout.
    other = make_webapp()
    other.set_cookie(f"pss_event_{demo_event.id}", admin_token)
    post_json(other, "/events/demo/logout")
    assert admin_session_live()
    assert webapp.get("/admin/login", headers=JSON).json["identity"]["kind"] == "admin"
    # The admin logout does end it.
    logout(webapp)
    assert not admin_session_live()
