"""The desk's pages through WebTest, as forms and as JSON: finding and registering players (the PIN
on a slip, once), selling and comping tickets with the live price, unlocking a PIN, a player's
ticket summary and history; the permission matrix over two events; CSRF refusal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.audit import Actor
from pss_core.models import (
    AuditLog,
    Channel,
    Event,
    EventPlayer,
    EventUser,
    Purchase,
    Role,
    Token,
    Tournament,
)
from pss_core.plugins import Pss
from pss_core.services import games, setup, tickets
from pss_testing.web import (
    JSON,
    WHO,
    MatrixView,
    Who,
    check_matrix,
    login_as,
    login_player,
    post_form,
    post_json,
)

# --- two events and who asks ------------------------------------------------------------------


def desk_here(who: Who, ev: str) -> bool:
    return who.kind == "staff" and who.event == ev and who.role in ("td", "desk")


def staff_or_player_here(number: str) -> Callable[[Who, str], bool]:
    def allowed(who: Who, ev: str) -> bool:
        return who.event == ev and (who.kind == "staff" or who.role == number)

    return allowed


staff_or_101_here = staff_or_player_here("101")
staff_or_102_here = staff_or_player_here("102")


VIEWS: list[MatrixView] = [
    ("GET", "/events/{slug}/desk", desk_here),
    ("POST", "/events/{slug}/desk", desk_here),
    ("GET", "/events/{slug}/players/101/slip", desk_here),
    ("GET", "/events/{slug}/players/101/sell", desk_here),
    ("POST", "/events/{slug}/players/101/sell", desk_here),
    ("GET", "/events/{slug}/players/101/price?scope=tournament:main&tickets=1", desk_here),
    ("GET", "/events/{slug}/players/101/unlock", desk_here),
    ("POST", "/events/{slug}/players/101/unlock", desk_here),
    ("GET", "/events/{slug}/players/101/new-pin", desk_here),
    ("POST", "/events/{slug}/players/101/new-pin", desk_here),
    ("GET", "/events/{slug}/players/101/tickets", staff_or_101_here),
    ("GET", "/events/{slug}/players/101/history", staff_or_101_here),
    ("GET", "/events/{slug}/players/101/purchases", staff_or_101_here),
    ("GET", "/events/{slug}/players/102/tickets", staff_or_102_here),
    ("GET", "/events/{slug}/players/102/history", staff_or_102_here),
]


@pytest.mark.parametrize("who", WHO, ids=[w.name for w in WHO])
def test_permission_matrix(
    webapp: TestApp, dbsession: Session, two_events: dict[str, Event], who: Who
) -> None:
    assert check_matrix(webapp, dbsession, two_events, who, VIEWS) == []


# --- finding and registering ------------------------------------------------------------------


def test_registering_with_the_form_prints_the_pin_once(
    webapp: TestApp, make_webapp: Any, dbsession: Session, demo_event: Event
) -> None:
    login_as(webapp, demo_event, "desk")
    desk = webapp.get("/events/demo/desk")
    form = desk.forms["register-form"]
    form["first_name"] = "Quinn"
    form["last_name"] = "Quarter"
    res = form.submit(status=303)
    assert res.location == "http://localhost/events/demo/players/109/slip"
    slip = res.follow()
    pin = slip.html.find(id="slip-pin").text
    assert slip.html.find(id="slip-number").text == "109"
    assert slip.html.find(id="slip-name").text == "Quinn Quarter"
    assert pin.isdigit()
    assert len(pin) == 4
    assert "This is the only time the PIN is shown" in slip.text
    # A reload shows the slip without the PIN: it is not kept anywhere.
    again = webapp.get("/events/demo/players/109/slip")
    assert again.html.find(id="slip-pin") is None
    assert webapp.get("/events/demo/players/109/slip", headers=JSON).json["pin"] is None
    # The PIN on the slip is the player's PIN.
    ep = setup.player_by_number(dbsession, demo_event.id, 109)
    assert ep.name == "Quinn Quarter"
    login_player(make_webapp(), demo_event, 109, pin)
    row = dbsession.scalars(
        select(AuditLog).where(AuditLog.action == "player.register", AuditLog.player_id == ep.id)
    ).one()
    assert row.actor == "desk-demo"


def test_registering_as_json_gives_number_and_pin(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    login_as(webapp, demo_event, "desk")
    res = post_json(
        webapp,
        "/events/demo/desk",
        {
            "first_name": "Rae",
            "last_name": "Rubber",
            "number": 500,
            "pin": "246810",
            "ifpa_id": 31337,
        },
        status=201,
    )
    assert res.json["pin"] == "246810"
    assert res.json["player"]["number"] == 500
    assert res.json["player"]["ifpa_id"] == 31337
    assert res.json["player"]["sell_url"] == "http://localhost/events/demo/players/500/sell"
    assert "pss_slip" not in webapp.cookies
    ep = setup.player_by_number(dbsession, demo_event.id, 500)
    assert ep.player.ifpa_id == 31337
    # Searching finds them by number, by part of the name and by IFPA number.
    for q in ("500", "#500", "rubb", "31337"):
        found = webapp.get("/events/demo/desk", {"q": q}, headers=JSON).json["players"]
        assert [p["number"] for p in found] == [500], q


@pytest.mark.parametrize(
    ("data", "status", "code", "message"),
    [
        (
            {"first_name": "Ann", "number": 101},
            409,
            "number_taken",
            "Player number 101 is taken in PSS Demo Open.",
        ),
        ({"first_name": "Ann", "pin": "12"}, 400, "invalid_pin", "A PIN is 4 to 8 digits."),
        ({"last_name": "Nobody"}, 400, "missing_field", "First name is required."),
        (
            {"first_name": "Ann", "number": "ten"},
            400,
            "invalid_field",
            "Player number must be a whole number, not 'ten'.",
        ),
    ],
)
def test_registration_refusals(
    webapp: TestApp,
    dbsession: Session,
    demo_event: Event,
    data: dict[str, Any],
    status: int,
    code: str,
    message: str,
) -> None:
    login_as(webapp, demo_event, "desk")
    before = dbsession.scalar(select(func.count(EventPlayer.id)))
    res = post_json(webapp, "/events/demo/desk", data, status=status)
    assert (res.json["error"], res.json["message"]) == (code, message)
    # The same through the form: the page again, with the message and what was typed (no PIN).
    page = post_form(webapp, "/events/demo/desk", data, status=status)
    assert page.html.find(id="form-error").text == message
    form = page.forms["register-form"]
    for key, value in data.items():
        if key != "pin":
            assert form[key].value == str(value)
    assert form["pin"].value == ""
    assert dbsession.scalar(select(func.count(EventPlayer.id))) == before


def test_search_by_name_and_no_match(webapp: TestApp, demo_event: Event) -> None:
    login_as(webapp, demo_event, "desk")
    found = webapp.get("/events/demo/desk", {"q": "TI"}, headers=JSON).json["players"]
    assert [p["name"] for p in found] == ["Bo Tilt", "Ed Multiball"]
    page = webapp.get("/events/demo/desk", {"q": "zzz"})
    assert "Nobody matches “zzz”" in page.html.find(id="found").text


# --- selling ----------------------------------------------------------------------------------


def test_live_price_applies_bundles(webapp: TestApp, demo_event: Event) -> None:
    login_as(webapp, demo_event, "desk")
    url = "/events/demo/players/101/price"

    def quote(**params: Any) -> Any:
        return webapp.get(url, params, headers=JSON).json

    three = quote(scope="tournament:main", tickets=3)
    assert (three["amount_cents"], three["amount"]) == (800, "$8.00")
    assert [line["text"] for line in three["lines"]] == ["1 \u00d7 3 for $8.00"]
    four = quote(scope="tournament:main", tickets=4)
    assert four["amount_cents"] == 1100
    assert [(line["size"], line["count"]) for line in four["lines"]] == [(3, 1), (1, 1)]
    assert four["available"] is True
    comp = quote(scope="tournament:main", tickets=4, comp=1)
    assert (comp["amount_cents"], comp["comp"], comp["lines"]) == (0, True, [])
    # A PAPA-style ticket is several games.
    papa = quote(scope="tournament:classics", tickets=2)
    assert (papa["amount_cents"], papa["games"]) == (1000, 6)
    bad = webapp.get(url, {"scope": "tournament:main", "tickets": "x"}, headers=JSON, status=400)
    assert bad.json["message"] == "The number of tickets must be a whole number, like 3."
    bad = webapp.get(url, {"scope": "tournament:nope", "tickets": 1}, headers=JSON, status=400)
    assert bad.json["message"] == "Choose what the tickets are for."
    bad = webapp.get(url, {"scope": "tournament:main", "tickets": 0}, headers=JSON, status=400)
    assert bad.json["error"] == "invalid_count"


def test_price_says_when_a_sale_would_be_refused(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    main = demo_event.tournaments[0]
    main.allow_ticket_purchases = False
    dbsession.flush()
    login_as(webapp, demo_event, "desk")
    quote = webapp.get(
        "/events/demo/players/101/price", {"scope": "tournament:main", "tickets": 1}, headers=JSON
    ).json
    assert quote["available"] is False
    assert quote["message"] == "Ticket sales for Main (HERB) are closed."
    # A comp is still possible when sales are closed.
    comp = webapp.get(
        "/events/demo/players/101/price",
        {"scope": "tournament:main", "tickets": 1, "comp": "1"},
        headers=JSON,
    ).json
    assert comp["available"] is True


def desk_user_id(session: Session, event: Event) -> int:
    return session.scalars(
        select(EventUser.id)
        .join(EventUser.user)
        .where(EventUser.event_id == event.id, EventUser.user.has(username=f"desk-{event.slug}"))
    ).one()


def test_selling_with_the_form(webapp: TestApp, dbsession: Session, demo_event: Event) -> None:
    login_as(webapp, demo_event, "desk")
    page = webapp.get("/events/demo/players/101/sell")
    assert "No tickets yet." in page.text
    form = page.forms["sell-form"]
    form["scope"] = "tournament:main"
    form["tickets"] = "4"
    res = form.submit(status=303)
    assert res.location == "http://localhost/events/demo/players/101/sell"
    page = res.follow()
    assert "Sold 4 tickets for Main (HERB) to Ada Flipper: take $11.00." in page.text
    purchase = dbsession.scalars(select(Purchase)).one()
    assert (purchase.tickets, purchase.amount_cents, purchase.channel) == (4, 1100, Channel.DESK)
    assert purchase.sold_by_id == desk_user_id(dbsession, demo_event)
    assert (
        dbsession.scalar(
            select(func.count(Token.id)).where(
                Token.purchase_id == purchase.id, Token.paid_at.is_not(None)
            )
        )
        == 4
    )
    summary = webapp.get("/events/demo/players/101/sell", headers=JSON).json["summary"]
    assert [(s["slug"], s["paid"], s["remaining"]) for s in summary] == [("main", 4, 4)]
    history = webapp.get("/events/demo/players/101/history", headers=JSON).json["history"]
    assert history[0]["text"] == "Bought 4 tickets for Main (HERB): $11.00"
    assert history[0]["by"] == "desk-demo"


def test_comp_and_json_sale(webapp: TestApp, dbsession: Session, demo_event: Event) -> None:
    login_as(webapp, demo_event, "td")
    res = post_json(
        webapp,
        "/events/demo/players/102/sell",
        {"scope": "tournament:classics", "tickets": 1, "comp": True},
        status=201,
    )
    assert res.json["purchase"]["channel"] == "comp"
    assert res.json["purchase"]["amount_cents"] == 0
    assert res.json["purchase"]["games"] == 3
    assert res.json["message"] == "1 free ticket for Classics (PAPA-style) given to Bo Tilt."
    assert [(s["slug"], s["comped"], s["remaining"]) for s in res.json["summary"]] == [
        ("classics", 3, 3)
    ]
    assert (
        dbsession.scalars(select(AuditLog.action).order_by(AuditLog.id.desc())).first()
        == "tickets.comp"
    )


def test_sale_refusals_show_the_message(
    webapp: TestApp, dbsession: Session, demo_event: Event, pss: Pss
) -> None:
    main: Tournament = demo_event.tournaments[0]
    main.max_unused_tickets = 2
    dbsession.flush()
    login_as(webapp, demo_event, "desk")
    res = post_json(
        webapp,
        "/events/demo/players/101/sell",
        {"scope": "tournament:main", "tickets": 3},
        status=409,
    )
    assert res.json["error"] == "max_unused_tickets"
    assert res.json["message"] == (
        "Ada Flipper already holds 0 unused tickets for Main (HERB); "
        "the most allowed is 2, so at most 2 more can be sold."
    )
    page = post_form(
        webapp,
        "/events/demo/players/101/sell",
        {"scope": "tournament:main", "tickets": "3"},
        status=409,
    )
    assert page.html.find(id="form-error").text == res.json["message"]
    assert page.forms["sell-form"]["tickets"].value == "3"
    assert page.forms["sell-form"]["scope"].value == "tournament:main"
    post_json(
        webapp,
        "/events/demo/players/101/sell",
        {"scope": "tournament:main", "tickets": 2},
        status=201,
    )
    res = post_json(
        webapp,
        "/events/demo/players/101/sell",
        {"scope": "metatournament:none", "tickets": 1},
        status=400,
    )
    assert res.json["field"] == "scope"
    assert dbsession.scalar(select(func.sum(Purchase.tickets))) == 2


def test_a_sale_without_the_csrf_token_is_refused(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    login_as(webapp, demo_event, "desk")
    res = post_json(
        webapp,
        "/events/demo/players/101/sell",
        {"scope": "tournament:main", "tickets": 1},
        status=403,
        csrf=False,
    )
    assert res.json["error"] == "csrf_failed"
    res = post_form(
        webapp,
        "/events/demo/players/101/sell",
        {"scope": "tournament:main", "tickets": "1"},
        status=403,
        csrf=False,
    )
    assert "This form has expired" in res.text
    res = post_form(webapp, "/events/demo/desk", {"first_name": "Sneaky"}, status=403, csrf=False)
    assert dbsession.scalar(select(func.count(Purchase.id))) == 0
    assert (
        dbsession.scalar(
            select(func.count(EventPlayer.id)).where(EventPlayer.event_id == demo_event.id)
        )
        == 8
    )


# --- unlocking, tickets, history --------------------------------------------------------------


def test_unlocking_a_locked_out_player(
    webapp: TestApp, make_webapp: Any, demo_event: Event
) -> None:
    phone = make_webapp(REMOTE_ADDR="192.0.2.77")
    for _ in range(4):
        login_player(phone, demo_event, 103, "0000", status=403)
    login_player(phone, demo_event, 103, "0000", status=429)
    login_player(make_webapp(REMOTE_ADDR="192.0.2.76"), demo_event, 103, "4321", status=429)
    login_as(webapp, demo_event, "desk")
    page = webapp.get("/events/demo/players/103/sell")
    assert "Locked out after too many wrong PINs" in page.text
    assert webapp.get("/events/demo/players/103/sell", headers=JSON).json["locked_out"] is True
    res = post_json(webapp, "/events/demo/players/103/unlock")
    assert (res.json["unlocked"], res.json["message"]) == (True, "Cy Nudge can log in again.")
    # The device is still throttled on its own; another device can log in as 103 now.
    login_player(make_webapp(REMOTE_ADDR="192.0.2.78"), demo_event, 103, "4321")
    res = post_json(webapp, "/events/demo/players/103/unlock")
    assert (res.json["unlocked"], res.json["message"]) == (False, "Cy Nudge was not locked out.")


def test_the_player_sees_their_own_tickets_and_history(
    webapp: TestApp, make_webapp: Any, demo_event: Event
) -> None:
    desk = make_webapp()
    login_as(desk, demo_event, "desk")
    post_json(desk, "/events/demo/players/101/sell", {"scope": "tournament:main", "tickets": 3})
    login_player(webapp, demo_event, 101, "4321")
    mine = webapp.get("/events/demo/players/101/tickets", headers=JSON).json
    assert mine["can_sell"] is False
    [main] = mine["summary"]
    assert (main["name"], main["paid"], main["used"], main["remaining"]) == ("Main (HERB)", 3, 0, 3)
    page = webapp.get("/events/demo/players/101/tickets")
    assert page.html.find("strong", class_="left").text == "3"
    history = webapp.get("/events/demo/players/101/history", headers=JSON).json["history"]
    texts = [h["text"] for h in history]
    assert texts == ["Logged in", "Bought 3 tickets for Main (HERB): $8.00", "Registered as #101"]
    # Where a login came from is not shown.
    assert "address" not in history[0]["details"]
    assert history[1]["games_left"] == [{"scope": "main", "remaining": 3}]


def test_json_twins_of_the_desk_pages(webapp: TestApp, demo_event: Event) -> None:
    login_as(webapp, demo_event, "desk")
    desk = webapp.get("/events/demo/desk", headers=JSON).json
    assert desk["register_url"] == "http://localhost/events/demo/desk"
    assert [p["number"] for p in desk["recent"]][:2] == [108, 107]
    sell = webapp.get("/events/demo/players/101/sell", headers=JSON).json
    assert [s["key"] for s in sell["scopes"]] == ["tournament:main", "tournament:classics"]
    main = sell["scopes"][0]
    assert (main["price"], main["bundles"], main["games_per_ticket"]) == (
        "$3.00",
        ["3 for $8.00"],
        1,
    )
    assert sell["player"]["name"] == "Ada Flipper"
    slip = webapp.get("/events/demo/players/101/slip", headers=JSON).json
    assert slip["login_url"] == "http://localhost/events/demo/player-login"
    assert slip["pin"] is None


def test_unknown_player_is_a_404(webapp: TestApp, demo_event: Event) -> None:
    login_as(webapp, demo_event, "desk")
    res = webapp.get("/events/demo/players/999/sell", headers=JSON, status=404)
    assert res.json["error"] == "not_found"


def test_roles_are_read_from_the_event(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    """A desk worker whose role is taken away loses the desk at once."""
    login_as(webapp, demo_event, "desk")
    webapp.get("/events/demo/desk", headers=JSON, status=200)
    eu = setup.event_user(dbsession, demo_event, "desk-demo")
    assert eu is not None
    setup.add_event_user(dbsession, demo_event, "desk-demo", "test-pass-123", [Role.SCOREKEEPER])
    dbsession.flush()
    webapp.get("/events/demo/desk", headers=JSON, status=403)


def test_pages_are_accessible(
    webapp: TestApp, make_webapp: Any, pss: Pss, dbsession: Session, demo_event: Event
) -> None:
    """Each desk, scorekeeper and player page has a language, one main heading, a label for
    every input and text on every button."""
    main = demo_event.tournaments[0]
    ada = setup.player_by_number(dbsession, demo_event.id, 101)
    tickets.sell_tickets(dbsession, pss, player=ada, count=3, tournament=main, actor=Actor("t"))
    games.start_game(dbsession, pss, machine=main.machines[0], player=ada, actor=Actor("t"))
    dbsession.flush()
    td = make_webapp()
    login_as(td, demo_event, "td")
    registered = post_form(td, "/events/demo/desk", {"first_name": "New"}, status=303)
    player = make_webapp()
    login_player(player, demo_event, 102, "4321")
    pages = [(td, registered.location)]
    pages += [
        (td, f"/events/demo/{path}")
        for path in (
            "desk",
            "desk?q=a",
            "players/101/sell",
            "players/101/tickets",
            "players/101/history",
            "board",
            f"machines/{main.machines[0].id}/keep",
            f"machines/{main.machines[1].id}/keep",
            "players/101/play",
        )
    ]
    pages += [(player, "/events/demo/players/102/play")]
    problems = []
    for app, path in pages:
        html = app.get(path).html
        labels = {label.get("for") for label in html.find_all("label")}
        if html.find("html").get("lang") != "en":
            problems.append(f"{path}: no language")
        if len(html.find_all("h1")) != 1:
            problems.append(f"{path}: {len(html.find_all('h1'))} main headings")
        for field in html.find_all(["input", "select", "textarea"]):
            if field.get("type") not in ("hidden", "submit") and field.get("id") not in labels:
                problems.append(f"{path}: {field.get('name')} has no label")
        for button in html.find_all("button"):
            if not button.get_text(strip=True):
                problems.append(f"{path}: a button without text")
        for nav in html.find_all("nav"):
            if not nav.get("aria-label"):
                problems.append(f"{path}: a navigation without a name")
    assert problems == []


# --- a new PIN for a lost slip ----------------------------------------------------------------


def test_a_new_pin_with_the_form_prints_the_slip_once(
    webapp: TestApp, make_webapp: Any, dbsession: Session, demo_event: Event
) -> None:
    phone = make_webapp()
    login_player(phone, demo_event, 103, "4321")
    phone.get("/events/demo/players/103/play", headers=JSON, status=200)
    login_as(webapp, demo_event, "desk")
    page = webapp.get("/events/demo/players/103/sell")
    form = page.forms["new-pin-form"]
    assert form["pin"].value == ""
    res = form.submit(status=303)
    assert res.location == "http://localhost/events/demo/players/103/slip"
    slip = res.follow()
    assert "Cy Nudge has a new PIN; the old one no longer works." in slip.text
    pin = slip.html.find(id="slip-pin").text
    assert pin.isdigit()
    assert len(pin) == 4
    assert slip.html.find(id="slip-number").text == "103"
    assert "This is the only time the PIN is shown" in slip.text
    # Shown once: a reload of the slip has no PIN.
    assert webapp.get("/events/demo/players/103/slip").html.find(id="slip-pin") is None
    # The phone that was logged in is logged out; the old PIN fails, the new one works.
    assert (
        phone.get("/events/demo/players/103/play", headers=JSON, status=401).json["error"]
        == "login_required"
    )
    if pin != "4321":
        login_player(make_webapp(REMOTE_ADDR="192.0.2.31"), demo_event, 103, "4321", status=403)
    login_player(make_webapp(REMOTE_ADDR="192.0.2.32"), demo_event, 103, pin)
    history = webapp.get("/events/demo/players/103/history", headers=JSON).json["history"]
    reset = next(h for h in history if h["action"] == "player.pin_reset")
    assert (reset["text"], reset["by"]) == ("Given a new PIN", "desk-demo")
    assert pin not in str(reset["details"])


def test_a_new_pin_as_json_lifts_a_lockout(
    webapp: TestApp, make_webapp: Any, dbsession: Session, demo_event: Event
) -> None:
    phone = make_webapp(REMOTE_ADDR="192.0.2.77")
    for _ in range(4):
        login_player(phone, demo_event, 104, "0000", status=403)
    login_player(phone, demo_event, 104, "0000", status=429)
    login_as(webapp, demo_event, "td")
    assert webapp.get("/events/demo/players/104/sell", headers=JSON).json["locked_out"] is True
    res = post_json(webapp, "/events/demo/players/104/new-pin", {"pin": "13579"})
    assert res.json["pin"] == "13579"
    assert res.json["player"]["number"] == 104
    assert res.json["location"] == "http://localhost/events/demo/players/104/slip"
    assert "pss_slip" not in webapp.cookies
    assert webapp.get("/events/demo/players/104/sell", headers=JSON).json["locked_out"] is False
    login_player(make_webapp(REMOTE_ADDR="192.0.2.78"), demo_event, 104, "13579")
    actions = list(
        dbsession.scalars(
            select(AuditLog.action)
            .where(AuditLog.player_id == setup.player_by_number(dbsession, demo_event.id, 104).id)
            .order_by(AuditLog.id)
        )
    )
    assert actions[-3:] == ["login.unlock", "player.pin_reset", "login"]


@pytest.mark.parametrize(
    ("pin", "code"),
    [("12", "invalid_pin"), ("123456789", "invalid_field"), ("12ab", "invalid_pin")],
)
def test_a_bad_new_pin_is_refused_and_changes_nothing(
    webapp: TestApp, make_webapp: Any, dbsession: Session, demo_event: Event, pin: str, code: str
) -> None:
    login_as(webapp, demo_event, "desk")
    res = post_json(webapp, "/events/demo/players/105/new-pin", {"pin": pin}, status=400)
    assert res.json["error"] == code
    page = post_form(webapp, "/events/demo/players/105/new-pin", {"pin": pin}, status=400)
    assert page.html.find(id="form-error").text == res.json["message"]
    assert page.html.find("h1").text.startswith("Ed Multiball")
    # The PIN typed is not echoed back into the page.
    assert page.forms["new-pin-form"]["pin"].value == ""
    res = post_json(webapp, "/events/demo/players/105/new-pin", {}, status=403, csrf=False)
    assert res.json["error"] == "csrf_failed"
    assert (
        dbsession.scalar(
            select(func.count(AuditLog.id)).where(AuditLog.action == "player.pin_reset")
        )
        == 0
    )
    login_player(make_webapp(), demo_event, 105, "4321")


def test_the_desk_reaches_the_players_purchases(webapp: TestApp, demo_event: Event) -> None:
    """From the desk's page of a player to their purchases, where refunds are made."""
    login_as(webapp, demo_event, "desk")
    post_json(
        webapp,
        "/events/demo/players/101/sell",
        {"scope": "tournament:main", "tickets": 3},
        status=201,
    )
    page = webapp.get("/events/demo/players/101/sell")
    link = page.html.find(id="purchases-link")["href"]
    assert link == "http://localhost/events/demo/players/101/purchases"
    listing = webapp.get(link)
    assert "3 \u00d7 Main (HERB)" in listing.text
    [purchase] = webapp.get(link, headers=JSON).json["purchases"]
    assert (purchase["channel"], purchase["amount"]) == ("desk", "$8.00")
    assert webapp.get(purchase["url"], headers=JSON).json["can_refund"] is True


def test_a_tournament_director_sees_the_players_team(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    ada = setup.player_by_number(dbsession, demo_event.id, 101)
    bo = setup.player_by_number(dbsession, demo_event.id, 102)
    team = setup.create_team(dbsession, demo_event, "Flippers", [ada, bo])
    dbsession.flush()
    login_as(webapp, demo_event, "desk")
    [shown] = webapp.get("/events/demo/players/101/sell", headers=JSON).json["teams"]
    assert (shown["name"], [m["number"] for m in shown["members"]], shown["members_url"]) == (
        "Flippers",
        [101, 102],
        None,
    )
    login_as(webapp, demo_event, "td")
    page = webapp.get("/events/demo/players/101/sell")
    link = page.html.find(id="team").find("a", string="Change its players")["href"]
    assert link == f"http://localhost/events/demo/teams/{team.id}/members"
