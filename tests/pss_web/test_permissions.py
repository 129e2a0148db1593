"""The permission matrix: every view of the public, admin and tournament-director pages, asked by
every kind of login, in its own event and in another event. Allowed or denied as the roles say.

Each request runs in a savepoint that is rolled back afterwards, so an allowed action (removing a
staff member, say) does not change what the next request sees.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.models import Event, Finals, FinalsGroup, FinalsPlayer, Role, Tournament
from pss_core.plugins import Pss
from pss_core.services import setup
from pss_testing.web import JSON, csrf_token, login_admin, login_as, login_player


@attrs.frozen
class Who:
    """A login: where it is valid (``event`` a or b, or the admin interface) and as what."""

    name: str
    kind: str  # anon | admin | staff | player
    event: str | None = None  # "a" | "b"
    roles: frozenset[str] = frozenset()
    owner: bool = False


WHO = [
    Who("anonymous", "anon"),
    Who("admin of a", "admin", "a"),
    Who("admin of b", "admin", "b"),
    Who("owner in a", "staff", "a", frozenset({"td"}), owner=True),
    Who("owner in b", "staff", "b", frozenset({"td"}), owner=True),
    Who("td in a", "staff", "a", frozenset({"td"})),
    Who("td in b", "staff", "b", frozenset({"td"})),
    Who("desk in a", "staff", "a", frozenset({"desk"})),
    Who("desk in b", "staff", "b", frozenset({"desk"})),
    Who("scorekeeper in a", "staff", "a", frozenset({"scorekeeper"})),
    Who("scorekeeper in b", "staff", "b", frozenset({"scorekeeper"})),
    Who("player in a", "player", "a"),
    Who("player in b", "player", "b"),
]


# What each permission means, written out from the brief (not read from the code under test).
def everyone(who: Who, ev: str) -> bool:
    return True


def td_here(who: Who, ev: str) -> bool:
    return who.kind == "staff" and who.event == ev and "td" in who.roles


def desk_here(who: Who, ev: str) -> bool:
    return who.kind == "staff" and who.event == ev and bool({"td", "desk"} & who.roles)


def scorekeeper_here(who: Who, ev: str) -> bool:
    return who.kind == "staff" and who.event == ev and bool({"td", "scorekeeper"} & who.roles)


def owner_here(who: Who, ev: str) -> bool:
    return who.kind == "staff" and who.event == ev and who.owner


def any_admin(who: Who, ev: str) -> bool:
    return who.kind == "admin"


def admin_owner(who: Who, ev: str) -> bool:
    return who.kind == "admin" and who.event == ev


@attrs.frozen
class View:
    method: str
    path: str  # {slug} {machine} {team} {meta} are filled per event
    allowed: Callable[[Who, str], bool]
    scope: str = "event"  # which login scope the URL is in: event | admin | none


VIEWS = [
    View("GET", "/", everyone, "none"),
    View("GET", "/events/", everyone, "none"),
    View("GET", "/events/{slug}/", everyone),
    View("GET", "/events/{slug}/tournaments/", everyone),
    View("GET", "/events/{slug}/tournaments/main/", everyone),
    View("GET", "/events/{slug}/machines/{machine}/", everyone),
    View("GET", "/events/{slug}/players/", everyone),
    View("GET", "/events/{slug}/players/101/", everyone),
    View("GET", "/events/{slug}/teams/", everyone),
    View("GET", "/events/{slug}/metatournaments/", everyone),
    View("GET", "/events/{slug}/tv", everyone),
    View("GET", "/events/{slug}/login", everyone),
    View("GET", "/events/{slug}/player-login", everyone),
    View("GET", "/events/{slug}/tournaments/main/edit", td_here),
    View("GET", "/events/{slug}/tournaments/main/machines", td_here),
    View("GET", "/events/{slug}/users/", owner_here),
    View("GET", "/events/{slug}/users/desk/", owner_here),
    View("GET", "/admin/login", everyone, "admin"),
    View("GET", "/admin/", any_admin, "admin"),
    View("GET", "/admin/events/", any_admin, "admin"),
    View("GET", "/admin/events/{slug}/", admin_owner, "admin"),
    View("GET", "/admin/events/{slug}/users/", admin_owner, "admin"),
    View("GET", "/admin/events/{slug}/users/desk/", admin_owner, "admin"),
    View("GET", "/api/openapi.json", everyone, "none"),
    View("POST", "/events/{slug}/tournaments/", td_here),
    View("POST", "/events/{slug}/tournaments/main/edit", td_here),
    View("POST", "/events/{slug}/tournaments/main/machines", td_here),
    View("POST", "/events/{slug}/machines/{machine}/status", scorekeeper_here),
    View("GET", "/events/{slug}/machines/{machine}/status", scorekeeper_here),
    View("POST", "/events/{slug}/metatournaments/", td_here),
    View("GET", "/events/{slug}/metatournaments/{meta}/tournaments", td_here),
    View("POST", "/events/{slug}/metatournaments/{meta}/tournaments", td_here),
    View("GET", "/events/{slug}/metatournaments/{meta}/remove-tournament", td_here),
    View("POST", "/events/{slug}/metatournaments/{meta}/remove-tournament", td_here),
    View("POST", "/events/{slug}/teams/", desk_here),
    View("GET", "/events/{slug}/mail", desk_here),
    View("GET", "/events/{slug}/teams/{team}/members", td_here),
    View("POST", "/events/{slug}/teams/{team}/members", td_here),
    View("GET", "/events/{slug}/teams/{team}/remove-member", td_here),
    View("POST", "/events/{slug}/teams/{team}/remove-member", td_here),
    View("GET", "/events/{slug}/players/101/new-pin", desk_here),
    View("POST", "/events/{slug}/players/101/new-pin", desk_here),
    View("POST", "/events/{slug}/users/", owner_here),
    View("POST", "/events/{slug}/users/desk/", owner_here),
    View("POST", "/events/{slug}/users/desk/remove", owner_here),
    View("GET", "/events/{slug}/finals/", everyone),
    View("GET", "/events/{slug}/finals/f/", everyone),
    View("GET", "/events/{slug}/finals/f/standings", everyone),
    View("GET", "/events/{slug}/finals/f/1A", scorekeeper_here),
    View("POST", "/events/{slug}/finals/", td_here),
    View("POST", "/events/{slug}/finals/f/start-round", td_here),
    View("POST", "/events/{slug}/finals/f/assign-machines", td_here),
    View("POST", "/events/{slug}/finals/f/tiebreaker", scorekeeper_here),
    View("POST", "/events/{slug}/finals/f/1A", scorekeeper_here),
    View("POST", "/events/{slug}/finals/f/1A/machine", td_here),
    View("POST", "/admin/events/", any_admin, "admin"),
    View("POST", "/admin/events/{slug}/", admin_owner, "admin"),
    View("POST", "/admin/events/{slug}/users/", admin_owner, "admin"),
    View("POST", "/admin/events/{slug}/users/desk/", admin_owner, "admin"),
    View("POST", "/admin/events/{slug}/users/desk/remove", admin_owner, "admin"),
    # The tournament director's corrections and audit trail.
    View("GET", "/events/{slug}/audit", td_here),
    View("GET", "/events/{slug}/machines/{machine}/corrections", td_here),
    View("POST", "/events/{slug}/machines/{machine}/correct-score", td_here),
    View("POST", "/events/{slug}/machines/{machine}/add-score", td_here),
    View("GET", "/events/{slug}/players/101/corrections", td_here),
    View("POST", "/events/{slug}/players/101/void-entry", td_here),
    View("POST", "/events/{slug}/players/101/unvoid-entry", td_here),
    View("POST", "/events/{slug}/players/101/reverse-misconduct", td_here),
]


@pytest.fixture
def world(dbsession: Session, pss: Pss, demo_event: Event) -> dict[str, Any]:
    """Event a (the demo) and event b, built alike: owner, td, desk, scorekeeper, player 101,
    tournament ``main`` with a machine, a team and a metatournament. The user ``desk`` is on
    both staffs."""
    owner2 = setup.create_user(dbsession, "owner2", password="owner2-pass", event_owner=True)
    dbsession.flush()
    other = setup.create_event(dbsession, owner2, "Other Open", slug="other")
    setup.add_event_user(dbsession, other, "desk", "other-desk", [Role.DESK])
    setup.add_event_user(dbsession, other, "scorekeeper", "other-sk", [Role.SCOREKEEPER])
    main = setup.create_tournament(dbsession, pss, other, "Main", "herb", slug="main")
    setup.add_machine(dbsession, main, "Medieval Madness")
    zed, _ = setup.register_player(dbsession, other, "Zed", "Zero", number=101, pin="9999")
    teams = {
        "a": setup.create_team(
            dbsession,
            demo_event,
            "Flippers",
            [setup.player_by_number(dbsession, demo_event.id, 101)],
        ),
        "b": setup.create_team(dbsession, other, "Flippers", [zed]),
    }
    metas = {
        "a": setup.create_metatournament(
            dbsession, demo_event, "Pass", [demo_event.tournaments[1]], slug="pass"
        ),
        "b": setup.create_metatournament(dbsession, other, "Pass", [main], slug="pass"),
    }
    dbsession.flush()
    for event, tournament in ((demo_event, demo_event.tournaments[0]), (other, main)):
        started_finals(dbsession, pss, event, tournament)
    demo_machine = demo_event.tournaments[0].machines[0].id
    return {
        "a": {
            "event": demo_event,
            "machine": demo_machine,
            "owner": ("owner", "owner-pass"),
            "desk": "desk-pass",
            "scorekeeper": "scorekeeper-pass",
            "pin": "4321",
            "team": teams["a"].id,
            "meta": metas["a"].slug,
        },
        "b": {
            "event": other,
            "machine": main.machines[0].id,
            "owner": ("owner2", "owner2-pass"),
            "desk": "other-desk",
            "scorekeeper": "other-sk",
            "pin": "9999",
            "team": teams["b"].id,
            "meta": metas["b"].slug,
        },
    }


def started_finals(session: Session, pss: Pss, event: Event, tournament: Tournament) -> None:
    """Finals ``f`` of four players with its one group ``1A`` under way."""
    finals = Finals(
        event_id=event.id,
        tournament_id=tournament.id,
        slug="f",
        name="Finals",
        format="group_finals",
        format_options=pss.formats["group_finals"].resolve_options({}),
        cut=4,
    )
    session.add(finals)
    session.flush()
    for seed, number in enumerate((201, 202, 203, 204), start=1):
        person, _ = setup.register_player(session, event, f"F{seed}", "Finalist", number=number)
        session.add(FinalsPlayer(finals_id=finals.id, event_player_id=person.id, seed=seed))
    session.add(
        FinalsGroup(
            finals_id=finals.id, round_number=1, label="1A", seeds=[1, 2, 3, 4], advance=0, games=3
        )
    )
    session.flush()


def log_in(app: TestApp, who: Who, world: dict[str, Any]) -> None:
    if who.kind == "anon":
        return
    assert who.event is not None
    place = world[who.event]
    event = place["event"]
    if who.kind == "admin":
        login_admin(app, *place["owner"])
    elif who.kind == "player":
        login_player(app, event, 101, place["pin"])
    elif who.owner:
        login_as(app, event, "owner", username=place["owner"][0], password=place["owner"][1])
    elif "td" in who.roles:
        login_as(app, event, "td")
    else:
        role = next(iter(who.roles))
        login_as(app, event, role, username=role, password=place[role])


@pytest.mark.parametrize("who", WHO, ids=[w.name for w in WHO])
def test_permission_matrix(
    webapp: TestApp, dbsession: Session, world: dict[str, Any], who: Who
) -> None:
    log_in(webapp, who, world)
    token = csrf_token(webapp)
    wrong = []
    for ev in ("a", "b"):
        event = world[ev]["event"]
        for view in VIEWS:
            place = world[ev]
            url = view.path.format(
                slug=event.slug, machine=place["machine"], team=place["team"], meta=place["meta"]
            )
            allowed = view.allowed(who, ev)
            savepoint = dbsession.begin_nested()
            try:
                if view.method == "GET":
                    res = webapp.get(url, headers=JSON, expect_errors=True)
                else:
                    res = webapp.post_json(
                        url, {}, headers={**JSON, "X-CSRF-Token": token}, expect_errors=True
                    )
            finally:
                savepoint.rollback()
            logged_in_here = (view.scope == "admin" and who.kind == "admin") or (
                view.scope == "event" and who.kind in ("staff", "player") and who.event == ev
            )
            if allowed:
                ok = (
                    res.status_int < 400
                    if view.method == "GET"
                    else (res.status_int in (200, 201, 303, 400, 409))
                )
            else:
                ok = res.status_int == (403 if logged_in_here else 401)
                if ok:
                    assert res.json["error"] in ("forbidden", "login_required")
            if not ok:
                wrong.append(
                    f"{view.method} {url}: {res.status_int} "
                    f"(expected {'allowed' if allowed else 'denied'})"
                )
    assert wrong == []


def test_a_session_cookie_only_works_in_its_own_scope(
    webapp: TestApp, make_webapp: Callable[..., TestApp], world: dict[str, Any]
) -> None:
    """Forge the cookies: a token from event b (or the admin interface) sent under event a's
    cookie name is refused, because the session's scope is checked, not just the cookie."""
    a, b = world["a"]["event"], world["b"]["event"]
    other = make_webapp()
    login_as(other, b, "td")
    b_token = other.cookies[f"pss_event_{b.id}"]
    admin = make_webapp()
    login_admin(admin)
    admin_token = admin.cookies["pss_admin"]
    edit = f"/events/{a.slug}/tournaments/main/edit"
    for token in (b_token, admin_token):
        webapp.set_cookie(f"pss_event_{a.id}", token)
        assert webapp.get(edit, headers=JSON, status=401).json["error"] == "login_required"
    # And the admin interface does not take an event token.
    webapp.set_cookie("pss_admin", b_token)
    webapp.get("/admin/events/", headers=JSON, status=401)
    # The real admin token works there.
    webapp.set_cookie("pss_admin", admin_token)
    assert webapp.get("/admin/events/", headers=JSON).json["events"][0]["slug"] == "demo"


def test_rows_of_another_event_are_not_found(webapp: TestApp, world: dict[str, Any]) -> None:
    a = world["a"]["event"]
    b_machine = world["b"]["machine"]
    login_as(webapp, a, "td")
    webapp.get(f"/events/{a.slug}/machines/{b_machine}/", headers=JSON, status=404)
    res = webapp.post_json(
        f"/events/{a.slug}/machines/{b_machine}/status",
        {"status": "disable"},
        headers={**JSON, "X-CSRF-Token": csrf_token(webapp)},
        status=404,
    )
    assert res.json["error"] == "not_found"


def test_logins_are_cookies_scoped_by_path(webapp: TestApp, world: dict[str, Any]) -> None:
    a = world["a"]["event"]
    res = login_as(webapp, a, "desk", username="desk", password="desk-pass")
    cookie = next(
        v for k, v in res.headerlist if k == "Set-Cookie" and v.startswith(f"pss_event_{a.id}=")
    )
    attributes = {p.strip().split("=")[0].lower(): p.strip() for p in cookie.split(";")}
    assert attributes["path"] == "Path=/events/demo"
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "samesite=lax"
    res = login_admin(webapp)
    cookie = next(v for k, v in res.headerlist if k == "Set-Cookie" and v.startswith("pss_admin="))
    assert "Path=/admin" in cookie


def test_anonymous_html_is_sent_to_the_right_login(webapp: TestApp, world: dict[str, Any]) -> None:
    res = webapp.get("/events/demo/tournaments/main/edit", status=303)
    assert res.location == (
        "http://localhost/events/demo/login?next=%2Fevents%2Fdemo%2Ftournaments%2Fmain%2Fedit"
    )
    res = webapp.get("/admin/events/", status=303)
    assert res.location.startswith("http://localhost/admin/login?next=")


def test_logged_in_without_the_role_gets_a_403_page(webapp: TestApp, world: dict[str, Any]) -> None:
    login_as(webapp, world["a"]["event"], "desk", username="desk", password="desk-pass")
    res = webapp.get("/events/demo/tournaments/main/edit", status=403)
    assert "You are logged in as desk, who may not do this." in res.text
