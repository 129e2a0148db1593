"""Accounts through the web: an instance administrator creates event owners and resets their
passwords; everyone logged in changes their own password; staff land on their job's page after
logging in; and the small things: reason fields, e-mail inputs, buying links."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.audit import SYSTEM
from pss_core.models import AuditLog, Event, LoginKind, LoginSession, Token, User
from pss_core.plugins import Pss
from pss_core.security import verify_secret
from pss_core.services import accounts, setup, tickets
from pss_testing.web import (
    JSON,
    login_admin,
    login_as,
    login_player,
    post_form,
    post_json,
)


@pytest.fixture
def root(dbsession: Session) -> User:
    """An instance administrator (password ``root-pass-1``)."""
    user = accounts.create_owner(dbsession, "root", "root-pass-1", instance_admin=True)
    dbsession.flush()
    return user


def audit_rows(session: Session, action: str) -> list[AuditLog]:
    return list(
        session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id))
    )


def live_sessions(session: Session, user_id: int, kind: LoginKind) -> list[LoginSession]:
    session.expire_all()
    return list(
        session.scalars(
            select(LoginSession).where(
                LoginSession.user_id == user_id,
                LoginSession.kind == kind,
                LoginSession.revoked_at.is_(None),
            )
        )
    )


# --- event owners ------------------------------------------------------------------------------


def test_the_administrator_creates_an_owner_with_the_form(
    webapp: TestApp, dbsession: Session, demo_event: Event, root: User
) -> None:
    login_admin(webapp, "root", "root-pass-1")
    page = webapp.get("/admin/")
    assert "Event owners" in page.text  # in the admin navigation
    form = webapp.get("/admin/owners/").forms[1]
    form["username"] = "alice"
    form["full_name"] = "Alice Example"
    form["email"] = "alice@example.org"
    form["password"] = "alice-pass-1"
    form["password_confirm"] = "alice-pass-1"
    res = form.submit(status=303).follow()
    assert "alice can now log into the admin interface." in res.text
    assert "Alice Example" in res.text
    alice = dbsession.scalars(select(User).where(User.username == "alice")).one()
    assert (alice.is_event_owner, alice.is_instance_admin, alice.email) == (
        True,
        False,
        "alice@example.org",
    )
    (row,) = audit_rows(dbsession, "user.create")[-1:]
    assert (row.actor, row.actor_user_id, row.details["username"]) == ("root", root.id, "alice")
    # The new owner logs in and creates an event of their own.
    other = webapp.__class__(webapp.app, extra_environ=webapp.extra_environ)
    assert login_admin(other, "alice", "alice-pass-1").json["identity"]["kind"] == "admin"
    post_json(other, "/admin/events/", {"name": "Alice Open"}, status=201)


def test_creating_an_owner_as_json_and_its_refusals(
    webapp: TestApp, dbsession: Session, root: User
) -> None:
    login_admin(webapp, "root", "root-pass-1")
    res = post_json(
        webapp,
        "/admin/owners/",
        {
            "username": "bob",
            "password": "bob-pass-12",
            "password_confirm": "bob-pass-12",
            "instance_admin": True,
        },
        status=201,
    )
    assert res.json["owner"]["username"] == "bob"
    assert res.json["owner"]["is_instance_admin"] is True
    assert [o["username"] for o in webapp.get("/admin/owners/", headers=JSON).json["owners"]] == [
        "bob",
        "root",
    ]
    refusals = [
        (
            {"username": "carol", "password": "short", "password_confirm": "short"},
            400,
            "weak_password",
        ),
        (
            {"username": "carol", "password": "carol-pass-1", "password_confirm": "carol-pass-2"},
            400,
            "passwords_differ",
        ),
        (
            {"username": "bob", "password": "bob-pass-12", "password_confirm": "bob-pass-12"},
            409,
            "username_taken",
        ),
        (
            {
                "username": "carol",
                "email": "not an address",
                "password": "carol-pass-1",
                "password_confirm": "carol-pass-1",
            },
            400,
            "invalid_email",
        ),
    ]
    for body, status, code in refusals:
        assert post_json(webapp, "/admin/owners/", body, status=status).json["error"] == code
    assert dbsession.scalars(select(User).where(User.username == "carol")).first() is None


@pytest.mark.parametrize("who", ["anonymous", "owner", "staff", "player"])
def test_only_an_instance_administrator_manages_owners(
    webapp: TestApp, dbsession: Session, demo_event: Event, root: User, who: str
) -> None:
    if who == "owner":
        login_admin(webapp)  # the demo's owner: an owner, not an administrator
    elif who == "staff":
        login_as(webapp, demo_event, "owner", username="owner", password="owner-pass")
    elif who == "player":
        login_player(webapp, demo_event, 101, "4321")
    expected = (403, "forbidden") if who == "owner" else (401, "login_required")
    body = {"username": "mallory", "password": "mallory-pass", "password_confirm": "mallory-pass"}
    for res in (
        webapp.get("/admin/owners/", headers=JSON, expect_errors=True),
        post_json(webapp, "/admin/owners/", body, status="*"),
        post_json(
            webapp,
            "/admin/owners/owner/",
            {"password": "taken-over-1", "password_confirm": "taken-over-1"},
            status="*",
        ),
    ):
        assert (res.status_int, res.json["error"]) == expected
    assert dbsession.scalars(select(User).where(User.username == "mallory")).first() is None
    owner = dbsession.scalars(select(User).where(User.username == "owner")).one()
    dbsession.refresh(owner)
    assert verify_secret(owner.password_hash, "owner-pass")
    # No "Event owners" tab for an owner who is not an administrator.
    if who == "owner":
        assert "Event owners" not in webapp.get("/admin/").text


def test_the_administrator_resets_an_owners_password(
    webapp: TestApp,
    make_webapp: Callable[..., TestApp],
    dbsession: Session,
    demo_event: Event,
    root: User,
) -> None:
    owners_laptop = make_webapp()
    login_admin(owners_laptop)
    owners_staff_login = make_webapp()
    login_as(owners_staff_login, demo_event, "owner", username="owner", password="owner-pass")
    login_admin(webapp, "root", "root-pass-1")
    form = webapp.get("/admin/owners/owner/").forms[1]
    form["password"] = "owner-new-pass"
    form["password_confirm"] = "owner-new-pass"
    res = form.submit(status=303).follow()
    assert "owner has a new password; 1 admin login ended." in res.text
    # The owner's admin login ended; the old password no longer opens the admin interface.
    assert owners_laptop.get("/admin/events/", headers=JSON, expect_errors=True).status_int == 401
    assert login_admin(make_webapp(), "owner", "owner-pass", status=403)
    login_admin(make_webapp(), "owner", "owner-new-pass")
    # The event password is separate and stays, and so does the login made with it.
    assert owners_staff_login.get("/events/demo/users/", headers=JSON).status_int == 200
    (row,) = audit_rows(dbsession, "user.password")
    assert (
        row.actor,
        row.details["username"],
        row.details["own"],
        row.details["logins_ended"],
    ) == ("root", "owner", False, 1)
    # An unknown owner (or a staff account that is not an owner) is not found.
    post_json(
        webapp,
        "/admin/owners/desk/",
        {"password": "x" * 10, "password_confirm": "x" * 10},
        status=404,
    )


# --- changing one's own password -------------------------------------------------------------


def test_an_owner_changes_their_own_admin_password(
    webapp: TestApp, make_webapp: Callable[..., TestApp], dbsession: Session, demo_event: Event
) -> None:
    other_browser = make_webapp()
    login_admin(other_browser)
    login_admin(webapp)
    page = webapp.get("/admin/events/")
    assert page.html.find(id="change-password")["href"] == "http://localhost/admin/password"
    form = webapp.get("/admin/password").forms[1]
    form["current_password"] = "nope-nope"
    form["password"] = "owner-new-pass"
    form["password_confirm"] = "owner-new-pass"
    res = form.submit(status=403)
    assert "That is not your current password." in res.text
    form = res.forms[1]
    form["current_password"] = "owner-pass"
    form["password"] = "owner-new-pass"
    form["password_confirm"] = "owner-new-pass-typo"
    assert "The two new passwords are not the same." in form.submit(status=400).text
    res = post_form(
        webapp,
        "/admin/password",
        {
            "current_password": "owner-pass",
            "password": "owner-new-pass",
            "password_confirm": "owner-new-pass",
        },
        status=303,
    ).follow()
    assert "Your password is changed. 1 other login ended." in res.text
    # This login stays; the other browser's ended.
    assert webapp.get("/admin/events/", headers=JSON).status_int == 200
    assert other_browser.get("/admin/events/", headers=JSON, expect_errors=True).status_int == 401
    owner = dbsession.scalars(select(User).where(User.username == "owner")).one()
    assert len(live_sessions(dbsession, owner.id, LoginKind.ADMIN)) == 1
    # Only the admin password changed: the event still takes the event password.
    login_as(make_webapp(), demo_event, "owner", username="owner", password="owner-pass")
    (row,) = audit_rows(dbsession, "user.password")
    assert (row.actor_user_id, row.details["own"], row.details["logins_ended"]) == (
        owner.id,
        True,
        1,
    )


def test_own_password_as_json_needs_a_login_and_the_csrf_token(
    webapp: TestApp, demo_event: Event
) -> None:
    body = {
        "current_password": "owner-pass",
        "password": "owner-new-pass",
        "password_confirm": "owner-new-pass",
    }
    assert post_json(webapp, "/admin/password", body, status=401).json["error"] == "login_required"
    login_admin(webapp)
    res = webapp.post_json(
        "/admin/password", body, headers={**JSON, "X-CSRF-Token": "forged"}, status=403
    )
    assert res.json["error"] == "csrf_failed"
    assert (
        post_json(
            webapp,
            "/admin/password",
            {**body, "password": "short", "password_confirm": "short"},
            status=400,
        ).json["error"]
        == "weak_password"
    )
    res = post_json(webapp, "/admin/password", body)
    assert res.json["logins_ended"] == 0
    assert login_admin(webapp, "owner", "owner-new-pass").json["identity"]["name"] == "owner"


def test_staff_change_their_own_password_for_one_event(
    webapp: TestApp, make_webapp: Callable[..., TestApp], dbsession: Session, demo_event: Event
) -> None:
    phone = make_webapp()
    login_as(phone, demo_event, "desk", username="desk", password="desk-pass")
    login_as(webapp, demo_event, "desk", username="desk", password="desk-pass")
    desk_page = webapp.get("/events/demo/desk")
    assert (
        desk_page.html.find(id="change-password")["href"] == "http://localhost/events/demo/password"
    )
    form = webapp.get("/events/demo/password").forms[1]
    form["current_password"] = "desk-pass"
    form["password"] = "desk-new-pass"
    form["password_confirm"] = "desk-new-pass"
    res = form.submit(status=303).follow()
    assert "Your password for this event is changed. 1 other login ended." in res.text
    assert webapp.get("/events/demo/desk", headers=JSON).status_int == 200
    assert phone.get("/events/demo/desk", headers=JSON, expect_errors=True).status_int == 401
    login_as(make_webapp(), demo_event, "desk", username="desk", password="desk-pass", status=403)
    login_as(make_webapp(), demo_event, "desk", username="desk", password="desk-new-pass")
    (row,) = audit_rows(dbsession, "event_user.password")
    assert (row.event_id, row.actor, row.details["logins_ended"]) == (demo_event.id, "desk", 1)
    # The wrong current password changes nothing.
    res = post_json(
        webapp,
        "/events/demo/password",
        {
            "current_password": "desk-pass",
            "password": "desk-third-pass",
            "password_confirm": "desk-third-pass",
        },
        status=403,
    )
    assert (res.json["error"], res.json["field"]) == ("wrong_password", "current_password")


def test_players_have_no_password_page(webapp: TestApp, demo_event: Event) -> None:
    login_player(webapp, demo_event, 101, "4321")
    page = webapp.get("/events/demo/")
    assert page.html.find(id="change-password") is None
    res = post_json(
        webapp,
        "/events/demo/password",
        {"current_password": "4321", "password": "123456", "password_confirm": "123456"},
        status=403,
    )
    assert res.json["error"] == "forbidden"


# --- where a login lands -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "password", "landing"),
    [
        ("owner", "owner-pass", "/events/demo/tournaments/"),
        ("desk", "desk-pass", "/events/demo/desk"),
        ("scorekeeper", "scorekeeper-pass", "/events/demo/board"),
    ],
)
def test_staff_land_on_their_jobs_page(
    webapp: TestApp, demo_event: Event, username: str, password: str, landing: str
) -> None:
    res = post_form(
        webapp, "/events/demo/login", {"username": username, "password": password}, status=303
    )
    assert res.location == "http://localhost" + landing
    assert res.follow().status_int == 200
    # A next inside the event still wins.
    res = post_form(
        webapp,
        "/events/demo/login",
        {"username": username, "password": password, "next": "/events/demo/players/"},
        status=303,
    )
    assert res.location == "http://localhost/events/demo/players/"


def test_a_td_lands_on_the_tournaments_and_both_roles_on_the_desk(
    webapp: TestApp, make_webapp: Callable[..., TestApp], dbsession: Session, demo_event: Event
) -> None:
    setup.add_event_user(dbsession, demo_event, "tina", "tina-pass", ["td"])
    setup.add_event_user(dbsession, demo_event, "dora", "dora-pass", ["desk", "scorekeeper"])
    dbsession.flush()
    res = post_form(
        webapp, "/events/demo/login", {"username": "tina", "password": "tina-pass"}, status=303
    )
    assert res.location == "http://localhost/events/demo/tournaments/"
    res = post_form(
        make_webapp(),
        "/events/demo/login",
        {"username": "dora", "password": "dora-pass"},
        status=303,
    )
    assert res.location == "http://localhost/events/demo/desk"


# --- small things ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "action"), [("misconduct", "game.misconduct"), ("remove-player", "game.remove")]
)
def test_misconduct_and_take_off_forms_ask_why(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event, how: str, action: str
) -> None:
    main = demo_event.tournaments[0]
    machine = main.machines[0]
    tickets.sell_tickets(
        dbsession,
        pss,
        player=setup.player_by_number(dbsession, demo_event.id, 101),
        count=1,
        tournament=main,
        actor=SYSTEM,
    )
    dbsession.flush()
    login_as(webapp, demo_event, "scorekeeper")
    base = f"/events/demo/machines/{machine.id}/"
    post_json(webapp, base + "start", {"player": 101}, status=201)
    page = webapp.get(base + "keep")
    form = next(f for f in page.forms.values() if f.action.endswith("/" + how))
    why = "tilted the machine on purpose" if how == "misconduct" else "ball stuck"
    form["reason"] = why
    form.submit(status=303)
    (row,) = audit_rows(dbsession, action)
    assert row.details["reason"] == why
    assert dbsession.get(Token, row.details["token_id"]) is not None


def test_email_inputs_are_styled_like_the_others(webapp: TestApp) -> None:
    page = webapp.get("/events/")
    href = page.html.find("link", rel="stylesheet")["href"]
    css = webapp.get(href.replace("http://localhost", "")).text
    rule = next(line for line in css.splitlines() if "input[type=text]" in line)
    assert "input[type=password]" in rule
    assert "input[type=email]" in rule


def test_buying_links_only_where_the_event_sells_online(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    login_player(webapp, demo_event, 101, "4321")
    page = webapp.get("/events/demo/players/101/play")
    assert "Buy tickets" not in page.text
    assert 'href="http://localhost/events/demo/purchases/"' not in page.text
    demo_event.stripe_secret_key = "sk_test_links"
    demo_event.stripe_publishable_key = "pk_test_links"
    dbsession.flush()
    page = webapp.get("/events/demo/players/101/play")
    assert page.html.find("a", string="Buy tickets") is not None  # the tab and the link
    # Nothing on sale any more: no link again, even with Stripe set up.
    for t in demo_event.tournaments:
        t.allow_ticket_purchases = False
    dbsession.flush()
    page = webapp.get("/events/demo/players/101/play")
    assert page.html.find("a", string="Buy tickets") is None
