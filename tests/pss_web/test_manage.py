"""The admin interface and the tournament director's pages, through their forms and as JSON:
events, staff and roles, tournaments with options from the format plugins, machines,
metatournaments, teams. Refusals re-render the form with the message and what was typed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core import hookimpl
from pss_core.contract import FormatSpec, OptionSpec, Registry
from pss_core.models import (
    AuditLog,
    Event,
    MachineStatus,
    Team,
    Tournament,
    TournamentMachine,
)
from pss_core.plugins import Pss
from pss_core.services import setup
from pss_testing.web import (
    JSON,
    app_for,
    login_admin,
    login_as,
    post_form,
    post_json,
)


def last_form(res: Any) -> Any:
    """The page's last form (the add/edit form; the logout form comes first)."""
    return res.forms[max(k for k in res.forms if isinstance(k, int))]


def checkbox(form: Any, name: str) -> Any:
    """A checkbox (a hidden "off" field of the same name comes first)."""
    return form.get(name, index=1)


def audit_actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


# --- the admin interface ----------------------------------------------------------------------


def test_owner_creates_an_event_with_the_form(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    login_admin(webapp)
    page = webapp.get("/admin/")
    form = next(f for f in page.forms.values() if "owner_password" in f.fields)
    form["name"] = "Spring Open"
    res = form.submit(status=303)
    assert res.location == "http://localhost/admin/events/spring-open/"
    settings = res.follow()
    assert "Spring Open created." in settings.text
    event = setup.event_by_slug(dbsession, "spring-open")
    assert event is not None
    assert event.owner.username == "owner"
    # The owner is its tournament director, with their admin password by default.
    res = login_as(webapp, event, "owner", username="owner", password="owner-pass")
    assert res.json["identity"]["roles"] == ["td"]
    assert "event.create" in audit_actions(dbsession)


def test_a_refused_event_keeps_what_was_typed(webapp: TestApp, demo_event: Event) -> None:
    login_admin(webapp)
    res = post_form(webapp, "/admin/events/", {"name": "Demo Again", "slug": "demo"}, status=409)
    assert "An event with the address &#39;demo&#39; exists already." in res.text
    form = next(f for f in res.forms.values() if "owner_password" in f.fields)
    assert (form["name"].value, form["slug"].value) == ("Demo Again", "demo")
    res = post_json(webapp, "/admin/events/", {"name": "x", "slug": "Not A Slug"}, status=400)
    assert res.json["error"] == "invalid_slug"


def test_owner_edits_only_their_own_events(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    login_admin(webapp)
    res = post_json(
        webapp,
        "/admin/events/demo/",
        {
            "name": "Demo Open 2",
            "starts_at": "2030-05-01T09:00",
            "ends_at": "2030-05-03T18:00",
            "currency": "eur",
            "hold_minutes": 20,
        },
    )
    assert res.json["changed"] == ["currency", "ends_at", "hold_minutes", "name", "starts_at"]
    assert (demo_event.name, demo_event.currency, demo_event.hold_minutes) == (
        "Demo Open 2",
        "eur",
        20,
    )
    assert demo_event.starts_at is not None
    assert demo_event.starts_at.isoformat() == "2030-05-01T09:00:00+00:00"
    res = post_json(webapp, "/admin/events/demo/", {"ends_at": "2030-04-01T00:00"}, status=400)
    assert res.json["error"] == "invalid_dates"
    # The HTML form re-renders with the message.
    form = last_form(webapp.get("/admin/events/demo/"))
    form["hold_minutes"] = "0"
    res = form.submit(status=400)
    assert "must be at least 1" in res.text
    # Another owner's event is not theirs to change.
    owner2 = setup.create_user(dbsession, "owner2", password="owner2-pass", event_owner=True)
    dbsession.flush()
    setup.create_event(dbsession, owner2, "Not Yours")
    post_json(webapp, "/admin/events/not-yours/", {"name": "Mine now"}, status=403)
    assert [e["slug"] for e in webapp.get("/admin/", headers=JSON).json["events"]] == ["demo"]


# --- staff and roles --------------------------------------------------------------------------


@pytest.mark.parametrize("base", ["/admin/events/demo/users/", "/events/demo/users/"])
def test_owner_adds_staff_who_can_log_into_that_event_only(
    webapp: TestApp,
    make_webapp: Callable[..., TestApp],
    dbsession: Session,
    demo_event: Event,
    base: str,
) -> None:
    if base.startswith("/admin"):
        login_admin(webapp)
    else:
        login_as(webapp, demo_event, "owner", username="owner", password="owner-pass")
    form = last_form(webapp.get(base))
    form["username"] = "fred"
    form["password"] = "fred-secret"
    for checkbox in form.fields["roles"]:
        checkbox.checked = checkbox._value in ("desk", "scorekeeper")
    res = form.submit(status=303).follow()
    assert "fred can now log into PSS Demo Open." in res.text
    fred = make_webapp()
    res = login_as(fred, demo_event, "desk", username="fred", password="fred-secret")
    assert res.json["identity"]["roles"] == ["desk", "scorekeeper"]
    # Change roles: scorekeeper only; the next request already sees it.
    post_json(webapp, base + "fred/", {"roles": ["scorekeeper"]})
    assert fred.get("/events/demo/login", headers=JSON).json["identity"]["roles"] == ["scorekeeper"]
    # Remove: fred's session ends at once.
    post_json(webapp, base + "fred/remove")
    assert fred.get("/events/demo/login", headers=JSON).json["identity"] is None
    assert setup.event_user(dbsession, demo_event, "fred") is None


def test_the_owner_stays_td_and_staff(webapp: TestApp, demo_event: Event) -> None:
    login_admin(webapp)
    res = post_json(webapp, "/admin/events/demo/users/owner/", {"roles": ["desk"]}, status=409)
    assert res.json["error"] == "owner_is_td"
    res = post_json(webapp, "/admin/events/demo/users/owner/remove", status=409)
    assert res.json["error"] == "owner_is_td"
    res = post_json(
        webapp,
        "/admin/events/demo/users/",
        {"username": "x", "password": "short", "roles": ["desk"]},
        status=400,
    )
    assert res.json["error"] == "weak_password"
    res = post_json(
        webapp,
        "/admin/events/demo/users/",
        {"username": "x", "password": "long-enough", "roles": ["boss"]},
        status=400,
    )
    assert res.json["field"] == "roles"


# --- tournaments ------------------------------------------------------------------------------


def test_new_tournament_form_comes_from_the_format_options(
    webapp: TestApp, demo_event: Event
) -> None:
    login_as(webapp, demo_event, "td")
    herb = webapp.get("/events/demo/tournaments/?format=herb")
    form = last_form(herb)
    assert form["format"].value == "herb"
    assert form["option.machines_counted"].value == "4"
    curves = {value for value, _, _ in form["option.points_curve"].options}
    assert curves >= {"papa", "linear"}
    assert form["option.points_curve"].value == "papa"
    papa = last_form(webapp.get("/events/demo/tournaments/?format=papa"))
    assert papa["option.games_per_entry"].value == "5"
    assert "option.machines_counted" not in papa.fields
    data = webapp.get("/events/demo/tournaments/?format=papa", headers=JSON).json
    formats = {f["name"] for f in data["new_tournament"]["formats"]}
    assert {"herb", "limited_herb", "papa", "team"} <= formats
    assert data["new_tournament"]["format"]["name"] == "papa"


def test_td_creates_a_tournament_with_options(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    login_as(webapp, demo_event, "td")
    form = last_form(webapp.get("/events/demo/tournaments/?format=papa"))
    form["name"] = "Split Classics"
    form["option.games_per_entry"] = "4"
    form["price"] = "2.50"
    form["bundles"] = "3 for 6.00; 10 for 18"
    form["qualifying_cut"] = "8"
    checkbox(form, "queuing_enabled").checked = False
    res = form.submit(status=303)
    assert res.location == "http://localhost/events/demo/tournaments/split-classics/machines"
    t = dbsession.scalars(select(Tournament).where(Tournament.slug == "split-classics")).one()
    assert t.format == "papa"
    assert t.format_options["games_per_entry"] == 4
    assert (t.price_cents, t.bundles, t.qualifying_cut) == (
        250,
        [{"count": 3, "price_cents": 600}, {"count": 10, "price_cents": 1800}],
        8,
    )
    assert (t.queuing_enabled, t.allow_ticket_purchases, t.active) == (False, True, True)


def test_bad_options_rerender_with_the_message(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    login_as(webapp, demo_event, "td")
    form = last_form(webapp.get("/events/demo/tournaments/?format=herb"))
    form["name"] = "Broken"
    form["option.machines_counted"] = "0"
    form["price"] = "3.999"
    res = form.submit(status=400)
    assert "must be an amount like 3.00" in res.text
    again = last_form(res)
    assert (again["name"].value, again["option.machines_counted"].value) == ("Broken", "0")
    again["price"] = "3"
    res = again.submit(status=400)
    assert "Option &#39;machines_counted&#39; must be at least 1." in res.text
    assert dbsession.scalars(select(Tournament).where(Tournament.name == "Broken")).first() is None


def test_tournament_as_json(webapp: TestApp, dbsession: Session, demo_event: Event) -> None:
    login_as(webapp, demo_event, "td")
    res = post_json(
        webapp,
        "/events/demo/tournaments/",
        {
            "name": "Teams",
            "format": "team",
            "options": {"team_size": 3},
            "price": "4",
            "bundles": [{"count": 2, "price_cents": 700}],
        },
        status=201,
    )
    t = res.json["tournament"]
    assert (t["slug"], t["is_team"], t["max_team_size"], t["price_cents"]) == (
        "teams",
        True,
        3,
        400,
    )
    assert t["queuing_enabled"] is True
    res = post_json(
        webapp, "/events/demo/tournaments/", {"name": "X", "format": "nope"}, status=404
    )
    assert res.json["error"] == "unknown_format"
    res = post_json(
        webapp,
        "/events/demo/tournaments/teams/edit",
        {
            "options": {"team_size": 4},
            "qualifying_cut": 2,
            "queuing_enabled": False,
            "price": "5.00",
        },
    )
    assert res.json["changed"] == [
        "format_options",
        "price_cents",
        "qualifying_cut",
        "queuing_enabled",
    ]
    assert res.json["tournament"]["format_options"]["team_size"] == 4
    res = post_json(
        webapp, "/events/demo/tournaments/teams/edit", {"options": {"nonsense": 1}}, status=400
    )
    assert res.json["error"] == "unknown_option"


def test_tournament_edit_form_round_trip(webapp: TestApp, demo_event: Event) -> None:
    login_as(webapp, demo_event, "td")
    form = last_form(webapp.get("/events/demo/tournaments/main/edit"))
    assert form["option.machines_counted"].value == "3"
    assert form["bundles"].value == "3 for 8.00"
    assert form["price"].value == "3.00"
    checkbox(form, "option.replay_same_machine").checked = False
    checkbox(form, "allow_ticket_purchases").checked = False
    res = form.submit(status=303).follow()
    assert "Main (HERB) saved." in res.text
    t = demo_event.tournaments[0]
    assert t.format_options["replay_same_machine"] is False
    assert t.allow_ticket_purchases is False
    # Submitting the unchanged form changes nothing.
    res = last_form(webapp.get("/events/demo/tournaments/main/edit")).submit().follow()
    assert "Nothing changed." in res.text


# --- machines ---------------------------------------------------------------------------------


def test_machines_added_disabled_enabled_removed(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    login_as(webapp, demo_event, "td")
    form = last_form(webapp.get("/events/demo/tournaments/main/machines"))
    form["machine"] = "Monster Bash"
    res = form.submit(status=303).follow()
    assert "Monster Bash added." in res.text
    res = post_form(
        webapp, "/events/demo/tournaments/main/machines", {"machine": "monster bash"}, status=409
    )
    assert "Monster Bash is already in Main (HERB)." in res.text
    tm = dbsession.scalars(
        select(TournamentMachine)
        .join(TournamentMachine.machine)
        .where(TournamentMachine.tournament_id == demo_event.tournaments[0].id)
        .order_by(TournamentMachine.id.desc())
    ).first()
    assert tm is not None
    url = f"/events/demo/machines/{tm.id}/status"
    assert (
        post_json(webapp, url, {"status": "disable", "reason": "flipper"}).json["machine"]["status"]
        == "disabled"
    )
    assert "DOWN" in webapp.get("/events/demo/tournaments/main/").text
    assert post_json(webapp, url, {"status": "enable"}).json["machine"]["status"] == "active"
    res = post_form(webapp, url, {"status": "remove"}, status=303).follow()
    assert "Monster Bash is removed." in res.text
    assert tm.status == MachineStatus.REMOVED
    assert post_json(webapp, url, {"status": "explode"}, status=400).json["field"] == "status"


# --- metatournaments and teams ----------------------------------------------------------------


def test_metatournaments(webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event) -> None:
    setup.create_tournament(
        dbsession, pss, demo_event, "Classics Sunday", "papa", slug="classics-2"
    )
    dbsession.flush()
    login_as(webapp, demo_event, "td")
    form = last_form(webapp.get("/events/demo/metatournaments/"))
    form["name"] = "Classics Pass"
    form["price"] = "4"
    for box in form.fields["tournaments"]:
        box.checked = box._value in ("classics", "classics-2")
    res = form.submit(status=303).follow()
    assert "Classics Pass created." in res.text
    meta = webapp.get("/events/demo/metatournaments/classics-pass/", headers=JSON).json
    assert [t["slug"] for t in meta["tournaments"]] == ["classics", "classics-2"]
    res = post_json(
        webapp,
        "/events/demo/metatournaments/",
        {"name": "Mixed", "tournaments": ["main", "nope"]},
        status=400,
    )
    assert res.json["error"] == "unknown_tournament"


def test_desk_creates_teams(webapp: TestApp, dbsession: Session, demo_event: Event) -> None:
    login_as(webapp, demo_event, "desk", username="desk", password="desk-pass")
    form = last_form(webapp.get("/events/demo/teams/"))
    form["name"] = "Flip Side"
    form["members"] = "101, #102"
    res = form.submit(status=303).follow()
    assert "Team Flip Side created." in res.text
    team = dbsession.scalars(select(Team).where(Team.name == "Flip Side")).one()
    assert sorted(m.event_player.number for m in team.members) == [101, 102]
    res = post_json(
        webapp, "/events/demo/teams/", {"name": "Ghosts", "members": ["109"]}, status=404
    )
    assert res.json["error"] == "unknown_player"
    res = post_json(
        webapp, "/events/demo/teams/", {"name": "Again", "members": ["101"]}, status=409
    )
    assert res.json["error"] == "already_on_team"


def test_td_changes_a_teams_players(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event
) -> None:
    doubles = setup.create_tournament(
        dbsession, pss, demo_event, "Doubles", "team", slug="doubles", options={"team_size": 3}
    )
    players = {n: setup.player_by_number(dbsession, demo_event.id, n) for n in range(101, 106)}
    team = setup.create_team(dbsession, demo_event, "Flip Side", [players[101], players[102]])
    setup.create_team(dbsession, demo_event, "Ghosts", [players[105]])
    dbsession.flush()
    login_as(webapp, demo_event, "td")
    members = f"/events/demo/teams/{team.id}/members"
    page = webapp.get(members)
    assert "At most 3 players a team (Doubles)." in page.text
    form = page.forms["add-member-form"]
    form["player"] = "103"
    page = form.submit(status=303).follow()
    assert "Cy Nudge is on team Flip Side." in page.text
    rows = [tr.find("td").text for tr in page.html.find(id="members").find("tbody")("tr")]
    assert rows == ["Ada Flipper", "Bo Tilt", "Cy Nudge"]
    # Refusals show the page again with the message and the number typed.
    for number, status, message in (
        ("104", 409, "Team Flip Side would have 4 players; Doubles allows at most 3."),
        ("105", 409, "Ed Multiball is already on team Ghosts."),
        ("999", 404, "There is no player number 999 in this event."),
    ):
        page = post_form(webapp, members, {"player": number}, status=status)
        assert page.html.find(id="form-error").text == message
        assert page.forms["add-member-form"]["player"].value == number
    # Take Ada off with her row's button.
    take_off = next(
        f
        for f in page.forms.values()
        if f.action.endswith("/remove-member") and f["player"].value == "101"
    )
    page = take_off.submit(status=303).follow()
    assert "Ada Flipper is off team Flip Side." in page.text
    res = post_json(
        webapp, f"/events/demo/teams/{team.id}/remove-member", {"player": 101}, status=409
    )
    assert res.json["error"] == "not_on_team"
    res = post_json(webapp, members, {"player": 104})
    assert [m["number"] for m in res.json["team"]["members"]] == [102, 103, 104]
    assert webapp.get(members, headers=JSON).json["max_team_size"] == 3
    assert audit_actions(dbsession)[-3:] == [
        "team.add_member",
        "team.remove_member",
        "team.add_member",
    ]
    assert doubles.max_team_size == 3
    # The desk makes teams but does not change them.
    login_as(webapp, demo_event, "desk")
    post_json(webapp, members, {"player": 101}, status=403)


def test_td_changes_a_metatournaments_tournaments(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event
) -> None:
    classics = next(t for t in demo_event.tournaments if t.slug == "classics")
    setup.create_tournament(
        dbsession, pss, demo_event, "Classics Sunday", "papa", slug="classics-2"
    )
    meta = setup.create_metatournament(
        dbsession, demo_event, "Classics Pass", [classics], slug="pass"
    )
    dbsession.flush()
    dbsession.expire(demo_event, ["tournaments"])  # as a new request would see it
    login_as(webapp, demo_event, "td")
    # The tournament's settings page leads to its metatournament's page.
    edit = webapp.get("/events/demo/tournaments/classics/edit")
    url = edit.html.find(id="in-metatournament")["href"]
    assert url == "http://localhost/events/demo/metatournaments/pass/tournaments"
    page = webapp.get(url)
    # Only a tournament of the same format, in no metatournament, is offered.
    assert [o[0] for o in page.forms["add-tournament-form"]["tournament"].options] == ["classics-2"]
    page = page.forms["add-tournament-form"].submit(status=303).follow()
    assert "Classics Pass tickets are good in Classics Sunday now." in page.text
    public = webapp.get("/events/demo/metatournaments/pass/", headers=JSON).json
    assert public["metatournament"]["tournaments"] == ["classics", "classics-2"]
    res = post_json(webapp, url, {"tournament": "main"}, status=400)
    assert res.json["error"] == "mixed_formats"
    res = post_json(webapp, url, {"tournament": "nope"}, status=400)
    assert (res.json["error"], res.json["field"]) == ("unknown_tournament", "tournament")
    page = post_form(webapp, url, {"tournament": "main"}, status=400)
    assert "must share one format" in page.html.find(id="form-error").text
    take_out = next(
        f
        for f in page.forms.values()
        if f.action.endswith("/remove-tournament") and f["tournament"].value == "classics"
    )
    page = take_out.submit(status=303).follow()
    assert "Classics Pass tickets are no longer good in Classics (PAPA-style)." in page.text
    assert webapp.get(url, headers=JSON).json["metatournament"]["tournaments"] == ["classics-2"]
    assert audit_actions(dbsession)[-2:] == [
        "metatournament.add_tournament",
        "metatournament.remove_tournament",
    ]
    assert meta.members[0].tournament.slug == "classics-2"


# --- a format from an outside plugin ----------------------------------------------------------


class EveryOptionType:
    """A plugin format that declares one option of every type the form must render."""

    @hookimpl
    def pss_register_formats(self, registry: Registry[FormatSpec]) -> None:
        registry.add(
            FormatSpec(
                "gauntlet",
                "Gauntlet",
                "A test format.",
                (
                    OptionSpec("rounds", "int", 3, "Rounds", minimum=1, maximum=9),
                    OptionSpec("sudden_death", "bool", False, "Sudden death"),
                    OptionSpec(
                        "seeding", "choice", "random", "Seeding", choices=("random", "rating")
                    ),
                    OptionSpec("motto", "str", "flip on", "Motto"),
                    OptionSpec("points_curve", "points_curve", "linear", "Curve"),
                ),
            )
        )


def test_a_plugin_format_gets_its_form(
    dbsession: Session, engine: Engine, make_pss: Callable[..., Pss], demo_event: Event
) -> None:
    app = app_for(dbsession, engine, make_pss(EveryOptionType()))
    login_as(app, demo_event, "td")
    form = last_form(app.get("/events/demo/tournaments/?format=gauntlet"))
    assert form["option.rounds"].attrs["type"] == "number"
    assert form["option.rounds"].attrs["max"] == "9"
    assert checkbox(form, "option.sudden_death").attrs["type"] == "checkbox"
    assert [o[0] for o in form["option.seeding"].options] == ["random", "rating"]
    assert form["option.motto"].value == "flip on"
    assert form["option.points_curve"].value == "linear"
    form["name"] = "Gauntlet"
    form["option.rounds"] = "5"
    checkbox(form, "option.sudden_death").checked = True
    form["option.seeding"] = "rating"
    form["option.motto"] = "no tilt"
    form.submit(status=303)
    t = dbsession.scalars(select(Tournament).where(Tournament.slug == "gauntlet")).one()
    assert t.format_options == {
        "rounds": 5,
        "sudden_death": True,
        "seeding": "rating",
        "motto": "no tilt",
        "points_curve": "linear",
    }


@pytest.mark.parametrize("html", [True, False], ids=["form", "json"])
def test_removing_staff_who_sold_keeps_history_and_ends_their_logins(
    webapp: TestApp,
    make_webapp: Callable[..., TestApp],
    dbsession: Session,
    demo_event: Event,
    html: bool,
) -> None:
    login_as(webapp, demo_event, "owner", username="owner", password="owner-pass")
    post_json(
        webapp,
        "/events/demo/users/",
        {"username": "fred", "password": "fred-secret", "roles": ["desk"]},
        status=201,
    )
    fred, fred_phone = make_webapp(), make_webapp(REMOTE_ADDR="203.0.113.20")
    for browser in (fred, fred_phone):
        login_as(browser, demo_event, "desk", username="fred", password="fred-secret")
    post_json(
        fred,
        "/events/demo/players/101/sell",
        {"scope": "tournament:main", "tickets": 2},
        status=201,
    )
    # A role change is seen on fred's next request (roles are read on every request).
    if html:
        page = webapp.get("/events/demo/users/fred/")
        form = next(f for f in page.forms.values() if "roles" in f.fields)
        for box in form.fields["roles"]:
            box.checked = box._value == "scorekeeper"
        form.submit(status=303)
    else:
        post_json(webapp, "/events/demo/users/fred/", {"roles": ["scorekeeper"]})
    assert fred.get("/events/demo/login", headers=JSON).json["identity"]["roles"] == ["scorekeeper"]
    fred.get("/events/demo/players/101/sell", status=403)

    if html:
        page = webapp.get("/events/demo/users/fred/")
        form = next(f for f in page.forms.values() if f.action.endswith("/fred/remove"))
        res = form.submit(status=303).follow()
        assert "fred is no longer on the staff." in res.text
        assert "Removed from the staff" in res.text
    else:
        res = post_json(webapp, "/events/demo/users/fred/remove")
        assert res.json["removed"] == "fred"
    # Both of fred's sessions ended at once, and the password opens nothing any more.
    for browser in (fred, fred_phone):
        assert browser.get("/events/demo/login", headers=JSON).json["identity"] is None
    login_as(make_webapp(), demo_event, "desk", username="fred", password="fred-secret", status=403)
    staff = webapp.get("/events/demo/users/", headers=JSON).json
    assert "fred" not in [u["username"] for u in staff["users"]]
    assert [u["username"] for u in staff["removed"]] == ["fred"]
    webapp.get("/events/demo/users/fred/", status=404)
    # The sale is still fred's, shown as removed.
    history = webapp.get("/events/demo/players/101/history", headers=JSON).json["history"]
    sale = next(h for h in history if h["by"].startswith("fred"))
    assert (sale["by"], sale["by_removed"]) == ("fred (removed)", True)
    actions = audit_actions(dbsession)
    assert actions.index("event_user.roles") < actions.index("event_user.remove")
    # Adding fred again brings the same membership back.
    post_json(
        webapp,
        "/events/demo/users/",
        {"username": "fred", "password": "fred-again", "roles": ["desk"]},
        status=201,
    )
    assert webapp.get("/events/demo/users/", headers=JSON).json["removed"] == []


def test_the_staff_pages_are_in_the_openapi_document(webapp: TestApp) -> None:
    paths = webapp.get("/api/openapi.json").json["paths"]
    for base in ("/events/{event}/users/{username}", "/admin/events/{event}/users/{username}"):
        assert "post" in paths[base + "/"], base  # change roles (and password)
        assert "post" in paths[base + "/remove"], base
    assert "post" in paths["/events/{event}/users/"]  # add someone


def test_a_new_password_ends_the_staff_members_logins(
    webapp: TestApp, make_webapp: Callable[..., TestApp], demo_event: Event
) -> None:
    login_as(webapp, demo_event, "owner", username="owner", password="owner-pass")
    post_json(
        webapp,
        "/events/demo/users/",
        {"username": "fred", "password": "fred-secret", "roles": ["desk"]},
        status=201,
    )
    fred = make_webapp()
    login_as(fred, demo_event, "desk", username="fred", password="fred-secret")
    post_json(webapp, "/events/demo/users/fred/", {"roles": ["desk"], "password": "new-secret"})
    assert fred.get("/events/demo/login", headers=JSON).json["identity"] is None
    # The owner changing their own event password stays logged in on this browser only.
    other_browser = make_webapp()
    login_as(other_browser, demo_event, "owner", username="owner", password="owner-pass")
    post_json(webapp, "/events/demo/users/owner/", {"roles": ["td"], "password": "owner-new"})
    assert webapp.get("/events/demo/login", headers=JSON).json["identity"]["name"] == "owner"
    assert other_browser.get("/events/demo/login", headers=JSON).json["identity"] is None
