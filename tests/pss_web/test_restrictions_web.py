"""The tournament director's offers pages through WebTest, with the installed restriction plugins
(pss-coupons, pss-early-bird) found by their entry points: who may see and change them, a coupon
made with the form and priced on the player's purchase page, settings refused in plain words
(the form re-rendered, never a 500), editing and switching off, uses against the maximum, and
CSRF."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.models import AuditLog, Event, PriceRestriction, Purchase, Role, Tournament, utcnow
from pss_core.plugins import Pss, get_plugin_manager
from pss_core.services import restrictions, setup
from pss_testing.web import (
    JSON,
    app_for,
    csrf_token,
    login_as,
    login_player,
    post_form,
    post_json,
)

PIN = "4321"


@pytest.fixture(scope="module")
def installed() -> Pss:
    """The built-ins and every installed plugin, as ``pss serve`` loads them (one per module:
    building an app scans every view)."""
    return get_plugin_manager(load_entrypoints=True)


@pytest.fixture
def browser(dbsession: Session, engine: Engine, installed: Pss) -> Callable[[], TestApp]:
    """A new browser (own cookies) on the app with the installed plugins."""
    return lambda: app_for(dbsession, engine, installed)


@pytest.fixture
def shop(dbsession: Session, demo_event: Event, fake_stripe: Any, browser: Any) -> Event:
    """The demo event taking online payments through the fake Stripe server."""
    from pss_core.payments.providers import Payments
    from pss_core.payments.stripe_gateway import StripeProvider

    demo_event.stripe_secret_key = fake_stripe.api_key
    demo_event.stripe_publishable_key = "pk_test_web"
    demo_event.stripe_webhook_secret = "whsec_web"
    dbsession.flush()
    browser().app.registry["pss.payments"] = Payments.only(
        StripeProvider(api_base=fake_stripe.url, timeout=5)
    )
    return demo_event


def main_of(session: Session, event: Event) -> Tournament:
    return session.scalars(
        select(Tournament).where(Tournament.event_id == event.id, Tournament.slug == "main")
    ).one()


def count_restrictions(session: Session) -> int:
    return int(session.scalar(select(func.count(PriceRestriction.id))) or 0)


def form_with(res: Any, field: str = "name") -> Any:
    """The page's form that has ``field`` (the add or the edit form)."""
    return next(
        f
        for k, f in sorted(res.forms.items(), key=lambda kv: str(kv[0]))
        if isinstance(k, int) and field in f.fields
    )


def quote(app: TestApp, code: str | None = None, tickets: int = 1) -> dict[str, Any]:
    params = {"scope": "tournament:main", "tickets": str(tickets)}
    if code is not None:
        params["code"] = code
    return dict(app.get("/events/demo/purchases/quote", params, headers=JSON).json)


# --- who may ----------------------------------------------------------------------------------


@attrs.frozen
class Who:
    name: str
    event: str | None  # the event ("a" or "b") the login is valid in
    role: str | None  # td | desk | scorekeeper | player


WHO = [
    Who("anonymous", None, None),
    Who("td in a", "a", "td"),
    Who("owner in a", "a", "owner"),
    Who("desk in a", "a", "desk"),
    Who("scorekeeper in a", "a", "scorekeeper"),
    Who("player in a", "a", "player"),
    Who("td in b", "b", "td"),
    Who("desk in b", "b", "desk"),
]


@pytest.fixture
def two_events(dbsession: Session, installed: Pss, demo_event: Event) -> dict[str, Any]:
    """The demo event (a) and another (b), each with a coupon on its main tournament."""
    owner2 = setup.create_user(dbsession, "owner2", password="owner2-pass", event_owner=True)
    dbsession.flush()
    other = setup.create_event(dbsession, owner2, "Other Open", slug="other")
    other_main = setup.create_tournament(
        dbsession, installed, other, "Main", "herb", slug="main", price_cents=300
    )
    setup.register_player(dbsession, other, "Zed", "Zero", number=101, pin="9999")
    places = {}
    for key, event, main, pin in (
        ("a", demo_event, main_of(dbsession, demo_event), PIN),
        ("b", other, other_main, "9999"),
    ):
        coupon = restrictions.create_restriction(
            dbsession,
            installed,
            event_id=event.id,
            kind="coupon",
            name="Half",
            config={"code": "HALF", "percent_off": 50},
            tournament=main,
            max_uses=3,
        )
        places[key] = {"event": event, "coupon": coupon.id, "pin": pin}
    dbsession.flush()
    return places


def log_in(app: TestApp, who: Who, places: dict[str, Any]) -> None:
    if who.event is None:
        return
    place = places[who.event]
    if who.role == "player":
        login_player(app, place["event"], 101, place["pin"])
    elif who.role == "owner":
        login_as(app, place["event"], "owner", username="owner", password="owner-pass")
    else:
        assert who.role is not None
        login_as(app, place["event"], who.role)


@pytest.mark.parametrize("who", WHO, ids=[w.name for w in WHO])
def test_only_the_events_tournament_director_manages_its_offers(
    browser: Any, dbsession: Session, two_events: dict[str, Any], who: Who
) -> None:
    app = browser()
    log_in(app, who, two_events)
    token = csrf_token(app)
    wrong = []
    for ev, place in two_events.items():
        slug, rid = place["event"].slug, place["coupon"]
        # Written out from the brief: the TD role (the owner is a TD) of that event only.
        allowed = who.event == ev and who.role in ("td", "owner")
        logged_in_here = who.event == ev
        requests = [
            ("GET", f"/events/{slug}/restrictions/", None),
            ("GET", f"/events/{slug}/restrictions/{rid}/", None),
            (
                "POST",
                f"/events/{slug}/restrictions/",
                {"kind": "coupon", "name": "Ten", "config": {"code": "TEN", "percent_off": 10}},
            ),
            ("POST", f"/events/{slug}/restrictions/{rid}/", {"max_uses": 5}),
            ("POST", f"/events/{slug}/restrictions/{rid}/deactivate", {}),
            ("POST", f"/events/{slug}/restrictions/{rid}/activate", {}),
        ]
        for method, url, body in requests:
            savepoint = dbsession.begin_nested()
            try:
                if method == "GET":
                    res = app.get(url, headers=JSON, expect_errors=True)
                else:
                    res = app.post_json(
                        url, body, headers={**JSON, "X-CSRF-Token": token}, expect_errors=True
                    )
            finally:
                savepoint.rollback()
            if allowed:
                ok = res.status_int in (200, 201)
            else:
                ok = res.status_int == (403 if logged_in_here else 401) and res.json["error"] in (
                    "forbidden",
                    "login_required",
                )
            if not ok:
                wrong.append(f"{method} {url}: {res.status_int}")
    assert wrong == []


def test_another_events_offer_is_not_found(browser: Any, two_events: dict[str, Any]) -> None:
    app = browser()
    a, b = two_events["a"], two_events["b"]
    login_as(app, a["event"], "td")
    app.get(f"/events/demo/restrictions/{b['coupon']}/", headers=JSON, status=404)
    res = post_json(app, f"/events/demo/restrictions/{b['coupon']}/deactivate", status=404)
    assert res.json["error"] == "not_found"
    for segment in ("0", "-1", "abc", str(2**40)):
        app.get(f"/events/demo/restrictions/{segment}/", headers=JSON, status=404)


def test_the_offers_link_is_in_the_tds_navigation_only(browser: Any, shop: Event) -> None:
    td, desk = browser(), browser()
    login_as(td, shop, "td")
    login_as(desk, shop, "desk")
    assert (
        'href="http://localhost/events/demo/restrictions/">Offers</a>'
        in td.get("/events/demo/").text
    )
    assert "/restrictions/" not in desk.get("/events/demo/").text


# --- a coupon through the form, priced on the purchase page -----------------------------------


def test_a_coupon_made_with_the_form_prices_the_players_purchase(
    browser: Any, dbsession: Session, shop: Event
) -> None:
    td, player = browser(), browser()
    login_as(td, shop, "td")
    login_player(player, shop, 101, PIN)
    assert quote(player)["amount_cents"] == 300
    assert 'name="code"' not in player.get("/events/demo/purchases/").text

    page = td.get("/events/demo/restrictions/", {"kind": "coupon"})
    assert "No offers yet" in page.text
    form = form_with(page)
    assert form["kind"].value == "coupon"
    # The kind's settings form comes from its declared options.
    assert {"option.code", "option.percent_off", "option.amount_off_cents"} <= set(form.fields)
    form["name"] = "Spring coupon"
    form["scope"] = "tournament:main"
    form["max_uses"] = "2"
    form["option.code"] = " spring "
    form["option.percent_off"] = "50"
    res = form.submit(status=303)
    assert res.location == "http://localhost/events/demo/restrictions/"
    listing = res.follow()
    assert "Spring coupon added." in listing.text
    assert "0 of 2" in listing.text
    [row] = dbsession.scalars(select(PriceRestriction)).all()
    assert (row.kind, row.max_uses, row.active) == ("coupon", 2, True)
    assert row.config == {"code": "SPRING", "percent_off": 50, "amount_off_cents": None}
    assert row.tournament_id == main_of(dbsession, shop).id
    created = dbsession.scalars(
        select(AuditLog).where(AuditLog.action == "restriction.create")
    ).one()
    assert created.actor_user_id is not None
    assert created.details["config"]["code"] == "SPRING"

    # The player's purchase page now asks for a code and prices it.
    assert 'name="code"' in player.get("/events/demo/purchases/").text
    priced = quote(player, "Spring")
    assert (priced["amount_cents"], priced["price_rule"], priced["available"]) == (
        150,
        "Coupon SPRING",
        True,
    )
    assert quote(player, "WINTER")["available"] is False
    held = post_json(
        player,
        "/events/demo/purchases/",
        {"scope": "tournament:main", "tickets": 1, "code": "spring"},
        status=201,
    ).json["purchase"]
    assert (held["amount_cents"], held["price_rule"]) == (150, "Coupon SPRING")
    assert dbsession.get_one(Purchase, held["id"]).amount_cents == 150

    # The TD sees the use against the maximum, as a page and as JSON.
    offers = td.get("/events/demo/restrictions/", headers=JSON).json["restrictions"]
    assert [(o["name"], o["uses"], o["max_uses"], o["scope"]) for o in offers] == [
        ("Spring coupon", 1, 2, "tournament:main")
    ]
    assert "1 of 2" in td.get(offers[0]["url"]).text


def test_an_early_bird_window_made_with_the_form(
    browser: Any, dbsession: Session, shop: Event
) -> None:
    td, player = browser(), browser()
    login_as(td, shop, "td")
    login_player(player, shop, 101, PIN)
    form = form_with(td.get("/events/demo/restrictions/", {"kind": "time_window"}))
    assert form["kind"].value == "time_window"
    now = utcnow()
    form["name"] = "Early bird"
    form["option.starts_at"] = (now - timedelta(hours=1)).isoformat()
    form["option.ends_at"] = (now + timedelta(hours=1)).isoformat()
    form["option.price_cents"] = "200"
    form.get("option.closed_outside", index=1).checked = True
    form.submit(status=303)
    row = dbsession.scalars(select(PriceRestriction)).one()
    assert (row.tournament_id, row.metatournament_id) == (None, None)  # the whole event
    assert row.config["closed_outside"] is True
    assert (quote(player)["amount_cents"], quote(player, tickets=3)["amount_cents"]) == (200, 600)


# --- refusals ---------------------------------------------------------------------------------


def test_invalid_settings_rerender_the_form_with_the_message(
    browser: Any, dbsession: Session, shop: Event
) -> None:
    td = browser()
    login_as(td, shop, "td")
    form = form_with(td.get("/events/demo/restrictions/", {"kind": "coupon"}))
    form["name"] = "Both"
    form["option.code"] = "BOTH"
    form["option.percent_off"] = "10"
    form["option.amount_off_cents"] = "100"
    res = form.submit(status=400)
    assert "Give a coupon either a percentage or an amount off, not both." in res.text
    again = form_with(res)  # what was typed is kept
    assert (
        again["name"].value,
        again["option.code"].value,
        again["option.amount_off_cents"].value,
    ) == ("Both", "BOTH", "100")

    refused = {
        "bad code": (
            {"kind": "coupon", "name": "x", "option.code": "no spaces", "option.percent_off": "5"},
            "1 to 40 letters, digits or dashes",
        ),
        "over 100%": (
            {"kind": "coupon", "name": "x", "option.code": "A", "option.percent_off": "150"},
            "must be at most 100",
        ),
        "not a number": (
            {"kind": "coupon", "name": "x", "option.code": "A", "option.percent_off": "lots"},
            "must be a whole number",
        ),
        "huge": (
            {
                "kind": "coupon",
                "name": "x",
                "option.code": "A",
                "option.amount_off_cents": "9" * 30,
            },
            "too large",
        ),
        "bad time": (
            {"kind": "time_window", "name": "x", "option.starts_at": "friday"},
            "must be a date and time",
        ),
        "backwards": (
            {
                "kind": "time_window",
                "name": "x",
                "option.starts_at": "2026-05-02T00:00Z",
                "option.ends_at": "2026-05-01T00:00Z",
            },
            "must end after it starts",
        ),
        "no kind": ({"kind": "raffle", "name": "x"}, "Choose a kind of offer"),
        "no name": (
            {"kind": "coupon", "name": " ", "option.code": "A", "option.percent_off": "5"},
            "Name is required",
        ),
        "bad scope": (
            {
                "kind": "coupon",
                "name": "x",
                "scope": "tournament:nope",
                "option.code": "A",
                "option.percent_off": "5",
            },
            "no tournament or metatournament",
        ),
        "negative uses": (
            {
                "kind": "coupon",
                "name": "x",
                "max_uses": "-1",
                "option.code": "A",
                "option.percent_off": "5",
            },
            "at least 0",
        ),
    }
    for case, (fields, words) in refused.items():
        res = post_form(td, "/events/demo/restrictions/", fields, status=400)
        assert words in res.text, case
        assert "New offer" in res.text, case
    assert count_restrictions(dbsession) == 0


def test_json_clients_get_the_refusal_as_json(
    browser: Any, dbsession: Session, shop: Event
) -> None:
    td = browser()
    login_as(td, shop, "td")
    url = "/events/demo/restrictions/"
    cases = [
        (
            {"kind": "coupon", "name": "x", "config": {"code": "A", "colour": "red"}},
            "unknown_option",
        ),
        ({"kind": "coupon", "name": "x", "config": ["A"]}, "invalid_field"),
        (
            {"kind": "coupon", "name": "x", "config": {"code": ["A"], "percent_off": 5}},
            "invalid_option",
        ),
        (
            {"kind": "coupon", "name": "x", "config": {"code": "A", "percent_off": True}},
            "invalid_option",
        ),
        (
            {"kind": "coupon", "name": "x", "config": {"code": "A" * 600, "percent_off": 5}},
            "invalid_option",
        ),
        ({"kind": ["coupon"], "name": "x"}, "invalid_field"),
        (
            {"kind": "coupon", "name": "x", "config": {"code": "A\u0000", "percent_off": 5}},
            "invalid_text",
        ),
    ]
    for body, code in cases:
        res = post_json(td, url, body, status=400)
        assert res.json["error"] == code, body
        assert res.json["message"]
    assert count_restrictions(dbsession) == 0
    made = post_json(
        td,
        url,
        {
            "kind": "coupon",
            "name": "Ten",
            "max_uses": 10,
            "config": {"code": "ten", "amount_off_cents": 100},
        },
        status=201,
    )
    offer = made.json["restriction"]
    assert (offer["config"]["code"], offer["active"], offer["uses"], offer["scope"]) == (
        "TEN",
        True,
        0,
        None,
    )


# --- changing an offer ------------------------------------------------------------------------


def test_edit_deactivate_and_activate(
    browser: Any, dbsession: Session, shop: Event, installed: Pss
) -> None:
    td, player = browser(), browser()
    login_as(td, shop, "td")
    login_player(player, shop, 101, PIN)
    offer = restrictions.create_restriction(
        dbsession,
        installed,
        event_id=shop.id,
        kind="coupon",
        name="Half",
        config={"code": "HALF", "percent_off": 50},
        tournament=main_of(dbsession, shop),
    )
    dbsession.flush()
    url = f"/events/demo/restrictions/{offer.id}/"
    assert quote(player, "half")["amount_cents"] == 150

    form = form_with(td.get(url))
    assert (form["name"].value, form["option.percent_off"].value) == ("Half", "50")
    form["name"] = "Quarter"
    form["option.percent_off"] = "25"
    form["max_uses"] = "1"
    res = form.submit(status=303)
    assert "Quarter saved." in res.follow().text
    assert (offer.name, offer.max_uses, offer.config["percent_off"]) == ("Quarter", 1, 25)
    update = dbsession.scalars(
        select(AuditLog).where(AuditLog.action == "restriction.update")
    ).one()
    assert update.details["changed"] == ["config", "max_uses", "name"]
    assert update.details["before"]["name"] == "Half"
    assert quote(player, "half")["amount_cents"] == 225

    # JSON clients send only what changes; the other settings stay.
    res = post_json(td, url, {"config": {"percent_off": 40}})
    assert res.json["changed"] == ["config"]
    assert offer.config == {"code": "HALF", "percent_off": 40, "amount_off_cents": None}
    assert post_json(td, url, {"name": "Quarter"}).json["changed"] == []
    refused = post_json(td, url, {"config": {"percent_off": 40, "amount_off_cents": 5}}, status=400)
    assert "not both" in refused.json["message"]
    assert offer.config["amount_off_cents"] is None
    # An invalid form edit re-renders the edit page with the message.
    page = post_form(
        td, url, {"name": "Quarter", "option.code": "HALF", "option.percent_off": "0"}, status=400
    )
    assert "must be at least 1" in page.text
    assert "Quarter" in page.text

    res = post_form(td, url + "deactivate", status=303)
    assert "Quarter no longer applies." in res.follow().text
    assert offer.active is False
    assert quote(player, "half")["available"] is False
    post_form(td, url + "activate", status=303)
    assert offer.active is True
    assert list(
        dbsession.scalars(
            select(AuditLog.action)
            .where(AuditLog.subject_type == "PriceRestriction")
            .order_by(AuditLog.id)
        )
    ) == [
        "restriction.create",
        "restriction.update",
        "restriction.update",
        "restriction.deactivate",
        "restriction.activate",
    ]

    # A use, then the maximum of one is reached.
    post_json(
        player,
        "/events/demo/purchases/",
        {"scope": "tournament:main", "tickets": 1, "code": "half"},
        status=201,
    )
    data = td.get(url, headers=JSON).json["restriction"]
    assert (data["uses"], data["max_uses"]) == (1, 1)
    used_up = quote(player, "half")
    assert used_up["available"] is False
    assert "used up" in used_up["message"]


def test_an_offer_whose_plugin_is_gone_can_still_be_seen_and_switched_off(
    browser: Any, dbsession: Session, shop: Event
) -> None:
    row = PriceRestriction(
        event_id=shop.id, kind="raffle", name="Old raffle", config={"odds": 3}, active=True
    )
    dbsession.add(row)
    dbsession.flush()
    td = browser()
    login_as(td, shop, "td")
    page = td.get(f"/events/demo/restrictions/{row.id}/")
    assert "not installed" in page.text
    assert (
        td.get("/events/demo/restrictions/", headers=JSON).json["restrictions"][0]["kind_installed"]
        is False
    )
    res = post_json(td, f"/events/demo/restrictions/{row.id}/", {"config": {"odds": 4}}, status=409)
    assert res.json["error"] == "restriction_kind_missing"
    post_json(td, f"/events/demo/restrictions/{row.id}/deactivate")
    assert row.active is False


# --- CSRF and the API document ----------------------------------------------------------------


def test_unsafe_requests_without_the_csrf_token_are_refused(
    browser: Any, dbsession: Session, shop: Event, installed: Pss
) -> None:
    td = browser()
    login_as(td, shop, "td")
    offer = restrictions.create_restriction(
        dbsession,
        installed,
        event_id=shop.id,
        kind="coupon",
        name="Half",
        config={"code": "HALF", "percent_off": 50},
    )
    dbsession.flush()
    fields = {"kind": "coupon", "name": "Ten", "option.code": "TEN", "option.percent_off": "10"}
    res = post_form(td, "/events/demo/restrictions/", fields, csrf=False, status=403)
    assert "This form has expired or came from another site." in res.text
    res = post_json(
        td, "/events/demo/restrictions/", {"kind": "coupon", "name": "Ten"}, csrf=False, status=403
    )
    assert res.json["error"] == "csrf_failed"
    td.post(
        f"/events/demo/restrictions/{offer.id}/deactivate", {"csrf_token": "forged"}, status=403
    )
    td.post_json(
        f"/events/demo/restrictions/{offer.id}/",
        {"name": "Taken"},
        headers={**JSON, "X-CSRF-Token": "forged"},
        status=403,
    )
    assert count_restrictions(dbsession) == 1
    assert (offer.name, offer.active) == ("Half", True)


def test_the_offers_operations_are_in_the_api_document(browser: Any) -> None:
    paths = browser().get("/api/openapi.json").json["paths"]
    create = paths["/events/{event}/restrictions/"]["post"]
    assert create["x-permission"] == "manage"
    assert set(create["requestBody"]["content"]["application/json"]["schema"]["required"]) == {
        "kind",
        "name",
    }
    for path in (
        "/events/{event}/restrictions/{restriction}/",
        "/events/{event}/restrictions/{restriction}/deactivate",
        "/events/{event}/restrictions/{restriction}/activate",
    ):
        assert paths[path]["post"]["x-permission"] == "manage"
    assert paths["/events/{event}/restrictions/"]["get"]["summary"].startswith("The event's offers")


def test_staff_roles_stay_as_they_were(dbsession: Session, demo_event: Event) -> None:
    # The offers pages use the tournament director's permission; no role was widened for them.
    from pss_web.security import ROLE_PERMISSIONS, Permission

    assert Permission.MANAGE in ROLE_PERMISSIONS[Role.TOURNAMENT_DIRECTOR]
    assert Permission.MANAGE not in ROLE_PERMISSIONS[Role.DESK]
    assert Permission.MANAGE not in ROLE_PERMISSIONS[Role.SCOREKEEPER]


HOSTILE_EDITS = [
    {"max_uses": -1},
    {"max_uses": 2**40},
    {"max_uses": "x"},
    {"max_uses": True},
    {"max_uses": []},
    {"name": ""},
    {"name": "x" * 1000},
    {"name": "a\u0000b"},
    {"name": {"x": 1}},
    {"active": "maybe"},
    {"active": []},
    {"config": []},
    {"config": "x"},
    {"config": {"code": {}}},
    {"config": {"percent_off": "9" * 30}},
    {"config": {"percent_off": -5}},
    {"config": {"percent_off": 1.5}},
    {"config": {"x" * 1000: 1}},
    {"config": {"code": "\ud800"}},
    {"config": {"code": None}},
]


def test_hostile_edits_are_refused_and_change_nothing(
    browser: Any, dbsession: Session, shop: Event, installed: Pss
) -> None:
    td = browser()
    login_as(td, shop, "td")
    offer = restrictions.create_restriction(
        dbsession,
        installed,
        event_id=shop.id,
        kind="coupon",
        name="Half",
        config={"code": "HALF", "percent_off": 50},
        max_uses=3,
    )
    dbsession.flush()
    before = (offer.name, dict(offer.config), offer.max_uses, offer.active)
    url = f"/events/demo/restrictions/{offer.id}/"
    for body in HOSTILE_EDITS:
        res = td.post_json(
            url, body, headers={**JSON, "X-CSRF-Token": csrf_token(td)}, expect_errors=True
        )
        assert res.status_int == 400, (body, res.status_int)
        assert res.json["message"], body
        dbsession.refresh(offer)
        assert (offer.name, dict(offer.config), offer.max_uses, offer.active) == before, body
    assert (
        dbsession.scalar(
            select(func.count(AuditLog.id)).where(AuditLog.action == "restriction.update")
        )
        == 0
    )
