"""Desk sales priced by the same offers as online (WebTest, with the installed restriction
plugins): an early-bird window, a sales window closing the desk too, a coupon code typed at the
desk (and used up), a group price; the live price shows them; comps skip them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.models import Event, Purchase, Tournament, utcnow
from pss_core.plugins import Pss, get_plugin_manager
from pss_core.services import restrictions
from pss_testing.web import JSON, app_for, login_as, post_json

SELL = "/events/demo/players/{n}/sell"


@pytest.fixture(scope="module")
def installed() -> Pss:
    return get_plugin_manager(load_entrypoints=True)


@pytest.fixture
def desk(dbsession: Session, engine: Engine, installed: Pss, demo_event: Event) -> TestApp:
    app = app_for(dbsession, engine, installed)
    login_as(app, demo_event, "desk")
    return app


@pytest.fixture
def offer(dbsession: Session, installed: Pss, demo_event: Event) -> Callable[..., Any]:
    main: Tournament = demo_event.tournaments[0]

    def make(kind: str, name: str, max_uses: int | None = None, **config: Any) -> Any:
        return restrictions.create_restriction(
            dbsession,
            installed,
            event_id=demo_event.id,
            kind=kind,
            name=name,
            config=config,
            tournament=main,
            max_uses=max_uses,
        )

    return make


def sell(app: TestApp, n: int = 101, status: int = 201, **data: Any) -> Any:
    return post_json(
        app, SELL.format(n=n), {"scope": "tournament:main", "tickets": 1, **data}, status=status
    )


def test_an_early_bird_price_at_the_desk(desk: TestApp, dbsession: Session, offer: Any) -> None:
    offer(
        "time_window",
        "Early bird",
        ends_at=(utcnow() + timedelta(days=1)).isoformat(),
        price_cents=200,
    )
    res = sell(desk, tickets=2)
    assert res.json["purchase"]["amount_cents"] == 400
    assert "take $4.00" in res.json["message"]
    purchase = dbsession.scalars(select(Purchase)).one()
    assert purchase.breakdown["pricing"]["price_rule"]["label"] == "Early bird"
    live = desk.get(
        "/events/demo/players/101/price", {"scope": "tournament:main", "tickets": "2"}, headers=JSON
    ).json
    assert (live["amount_cents"], live["offer"], live["available"]) == (400, "Early bird", True)


def test_a_sales_window_closes_the_desk_too_but_not_comps(desk: TestApp, offer: Any) -> None:
    offer(
        "time_window",
        "Opening day",
        starts_at=(utcnow() + timedelta(days=1)).isoformat(),
        closed_outside=True,
    )
    res = sell(desk, status=409)
    assert "go on sale" in res.json["message"]
    live = desk.get(
        "/events/demo/players/101/price", {"scope": "tournament:main", "tickets": "1"}, headers=JSON
    ).json
    assert live["available"] is False
    assert "go on sale" in live["message"]
    assert sell(desk, comp=True).json["purchase"]["amount_cents"] == 0


def test_a_coupon_code_typed_at_the_desk(desk: TestApp, offer: Any) -> None:
    offer("coupon", "Half off", max_uses=1, code="HALF", percent_off=50)
    assert sell(desk).json["purchase"]["amount_cents"] == 300  # no code: the usual price
    live = desk.get(
        "/events/demo/players/101/price",
        {"scope": "tournament:main", "tickets": "1", "code": "half"},
        headers=JSON,
    ).json
    assert (live["amount_cents"], live["offer"]) == (150, "Coupon HALF")
    assert sell(desk, code=" half ").json["purchase"]["amount_cents"] == 150
    used_up = sell(desk, n=102, code="HALF", status=409).json
    assert "used up" in used_up["message"]


def test_the_desk_form_sends_the_code(desk: TestApp, dbsession: Session, offer: Any) -> None:
    offer("coupon", "Two off", code="TWO", amount_off_cents=200)
    form = desk.get(SELL.format(n=101)).forms["sell-form"]
    form["scope"] = "tournament:main"
    form["tickets"] = "1"
    form["code"] = "two"
    res = form.submit(status=303)
    assert "take $1.00" in res.follow().text
    assert dbsession.scalars(select(Purchase)).one().amount_cents == 100


def test_a_group_price_at_the_desk(desk: TestApp, offer: Any) -> None:
    offer("group_price", "Juniors", group="Juniors", players="102, 105", price_cents=100)
    assert sell(desk, n=102, tickets=2).json["purchase"]["amount_cents"] == 200
    assert sell(desk, n=101, tickets=1).json["purchase"]["amount_cents"] == 300
