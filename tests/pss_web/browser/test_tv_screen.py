"""The TV screen at 1920x1080 in a real browser: it fills the screen without scrolling, its type
is large enough to read from across a room, the standings show the cut line and the machine
boards who plays and who waits, the QR code is in sight, and slides move on by themselves.

Screenshots of each slide go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pss_core import db
from pss_core.audit import Actor
from pss_core.demo import create_demo
from pss_core.services import games, queues, setup, tickets

pytestmark = pytest.mark.browser
TV = {"width": 1920, "height": 1080}
DESK = Actor("desk test")


def seed(url: str, pss: Any) -> None:
    """The demo event with twenty scores in its HERB tournament (cut: 4), a game on and a queue."""
    engine = db.make_engine(url)
    with db.session_scope(engine) as session:
        event = create_demo(session, pss)
        main = event.tournaments[0]
        names = [
            "Kim Castellanos-Whitfield",
            "Raj Patel",
            "Lena Sørensen",
            "Tom Baker",
            "Yuki Tanaka",
            "Owen Price",
            "Mia Rossi",
            "Sam Okafor",
            "Ivy Chen",
            "Leo Novak",
            "Ana Costa",
            "Ben Adler",
        ]
        for i, name in enumerate(names):
            first, last = name.split(" ", 1)
            setup.register_player(session, event, first, last, number=201 + i, pin="4321")
        numbers = [*range(101, 109), *range(201, 201 + len(names))]
        tm = main.machines[0]
        for i, number in enumerate(numbers):
            ep = setup.player_by_number(session, event.id, number)
            tickets.sell_tickets(session, pss, player=ep, count=2, tournament=main, actor=DESK)
            games.start_game(session, pss, machine=tm, player=ep, actor=DESK)
            games.record_score(session, pss, machine=tm, score=(300 - i) * 1_234_567, actor=DESK)
        playing, *waiting = (
            setup.player_by_number(session, event.id, n)
            for n in (201, 202, 203, 204, 205, 206, 207)
        )
        games.start_game(session, pss, machine=tm, player=playing, actor=DESK)
        for ep in waiting:
            queues.join_queue(session, pss, machine=tm, player=ep, actor=DESK)
    engine.dispose()


def test_the_tv_fills_a_1080p_screen_and_reads_from_across_a_room(
    sqlite_url: str,
    pss: Any,
    serve: Callable[[dict[str, Any]], str],
    browser: Any,
    shot: Callable[[Any, str], None],
) -> None:
    from playwright.sync_api import expect

    seed(sqlite_url, pss)
    base = serve({"pss.database_url": sqlite_url, "pss.plugins": pss})
    context = browser.new_context(viewport=TV)
    context.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(base) else route.abort(),
    )
    context.set_default_timeout(12_000)
    page = context.new_page()
    # Long slides while the test looks; the last step checks that they move on by themselves.
    page.goto(f"{base}/events/demo/tv?seconds=600")
    slides = page.locator("#live-tv .slide")
    count = slides.count()
    # Main: standings over two pages (20 rows, 12 a page) and its machines; Classics likewise.
    assert count >= 3
    expect(page.locator("[data-tv-progress]")).to_have_text(f"1 / {count}")
    expect(page.locator("h1.tv-event")).to_have_text("PSS Demo Open")

    def fits() -> None:
        size = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
        )
        assert size[0] <= TV["width"], size
        assert size[1] <= TV["height"], size
        shown = page.locator("#live-tv .slide.shown")
        box = shown.bounding_box()
        assert box is not None
        assert box["y"] + box["height"] <= TV["height"]
        assert box["width"] >= TV["width"] * 0.7  # the slide uses the screen, not a corner
        qr = page.locator(".tv-qr img").bounding_box()
        assert qr is not None
        assert qr["width"] >= 200
        assert qr["x"] + qr["width"] <= TV["width"]
        assert qr["y"] + qr["height"] <= TV["height"]

    def px(selector: str) -> float:
        return float(
            page.locator(selector).first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        )

    def show(index: int) -> None:
        page.evaluate(
            "i => document.querySelectorAll('#live-tv .slide').forEach("
            "(s, n) => s.classList.toggle('shown', n === i))",
            index,
        )

    shot(page, "standings-1")
    fits()
    standings = page.locator("#live-tv .slide.shown table.standings tr")
    assert standings.count() == 12
    # At 1080p a standings row is at least 40 px high type; the event's name larger still.
    assert px("#live-tv .slide.shown table.standings td.name") >= 40
    assert px("h1.tv-event") >= 55
    cut = page.locator("#live-tv .slide.shown tr.cut")
    expect(cut).to_have_count(1)
    expect(cut.locator("td.rank")).to_have_text("4")

    show(1)
    shot(page, "standings-2")
    fits()
    expect(page.locator("#live-tv .slide.shown h2")).to_contain_text("2/2")
    expect(page.locator("#live-tv .slide.shown tr")).to_have_count(8)

    show(2)
    shot(page, "machines")
    fits()
    board = page.locator("#live-tv .slide.shown .tv-board.busy").first
    expect(board.locator(".tv-playing")).to_have_text("Kim Castellanos-Whitfield")
    expect(board.locator(".tv-queue li").first).to_have_text("Raj Patel")
    expect(board.locator(".tv-queue li.more")).to_have_text("+2 more")
    assert px("#live-tv .slide.shown .tv-playing") >= 38

    page.goto(f"{base}/events/demo/tv?seconds=3")
    expect(page.locator("[data-tv-progress]")).to_have_text(f"2 / {count}")
    context.close()
