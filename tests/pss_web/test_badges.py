"""QR codes through WebTest: a player's code holds their page's address (never the PIN) and is
on their slip and page; the event's code; the scan buttons' fields and the QR reader served
from node_modules."""

from __future__ import annotations

import re

import segno
from webtest import TestApp

from pss_core.demo import DEMO_PIN
from pss_core.models import Event
from pss_testing.web import login_as
from pss_web.views.badges import NODE_MODULES, qr_svg


def test_player_qr_is_their_page_address(webapp: TestApp, demo_event: Event) -> None:
    res = webapp.get("/events/demo/players/101/qr.svg")
    assert res.content_type == "image/svg+xml"
    assert res.body == qr_svg("http://localhost/events/demo/players/101/")
    assert DEMO_PIN not in res.text
    # What segno encodes for that address, module for module.
    assert res.body != qr_svg("http://localhost/events/demo/players/102/")
    assert segno.make("http://localhost/events/demo/players/101/", error="m").version <= 4
    webapp.get("/events/demo/players/999/qr.svg", status=404)


def test_player_page_and_slip_show_the_code(webapp: TestApp, demo_event: Event) -> None:
    page = webapp.get("/events/demo/players/101/")
    assert 'src="http://localhost/events/demo/players/101/qr.svg"' in page.text
    login_as(webapp, demo_event, "desk")
    slip = webapp.get("/events/demo/players/101/slip")
    assert re.search(r'<img class="slip-qr"[^>]*src="[^"]*/players/101/qr.svg"', slip.text)


def test_event_qr(webapp: TestApp, demo_event: Event) -> None:
    res = webapp.get("/events/demo/qr.svg")
    assert res.body == qr_svg("http://localhost/events/demo/")


def test_number_fields_have_a_scan_button(webapp: TestApp, demo_event: Event) -> None:
    login_as(webapp, demo_event, "td")
    desk = webapp.get("/events/demo/desk")
    assert re.search(r'<input id="q"[^>]*data-scan', desk.text)
    assert "scan.js" in desk.text
    machine = demo_event.tournaments[0].machines[0].id
    board = webapp.get(f"/events/demo/machines/{machine}/keep")
    assert board.text.count("data-scan") >= 2


def test_qr_reader_is_served_from_node_modules(webapp: TestApp) -> None:
    installed = NODE_MODULES / "jsqr" / "dist" / "jsQR.js"
    if installed.is_file():
        res = webapp.get("/vendor/jsQR.js")
        assert res.body == installed.read_bytes()
    else:
        webapp.get("/vendor/jsQR.js", status=404)
    webapp.get("/vendor/../pyproject.toml", status=404)
    webapp.get("/vendor/other.js", status=404)


def test_tv_shows_the_event_code(webapp: TestApp, demo_event: Event) -> None:
    assert 'src="http://localhost/events/demo/qr.svg"' in webapp.get("/events/demo/tv").text
