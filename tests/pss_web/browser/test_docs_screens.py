"""The screenshots in the guides, taken from the real pages of the demo event with play (a phone
for the scorekeeper and the player, a desktop for the desk and the standings). Each page is
checked for what the guide says it shows before its picture replaces the one in
``docs/_static/screens``, so the pictures stay current with the pages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pss_core import db
from pss_core.demo import DEMO_PIN, create_demo

SCREENS = Path(__file__).resolve().parents[3] / "docs" / "_static" / "screens"


def _log_in(page: Any, url: str, **fields: str) -> None:
    page.goto(url)
    for name, value in fields.items():
        page.fill(f"#f-{name}", value)
    with page.expect_navigation():
        page.locator("main button[type=submit]").click()


def _picture(page: Any, name: str) -> None:
    page.evaluate("document.fonts.ready")
    page.screenshot(path=str(SCREENS / f"{name}.png"), animations="disabled")


def test_the_guides_screenshots(
    sqlite_url: str,
    pss: Any,
    served: str,
    new_page: Callable[..., Any],
    failed_requests: list[str],
) -> None:
    from playwright.sync_api import expect

    engine = db.make_engine(sqlite_url)
    with db.session_scope(engine) as session:
        create_demo(session, pss, play=True)
    engine.dispose()
    SCREENS.mkdir(parents=True, exist_ok=True)
    event = f"{served}/events/demo"

    desk = new_page()
    _log_in(desk, f"{event}/login", username="desk", password="desk-pass")
    desk.goto(f"{event}/desk")
    expect(desk.locator("h1")).to_contain_text("Desk")
    _picture(desk, "desk-desktop")

    keeper = new_page(phone=True)
    _log_in(keeper, f"{event}/login", username="scorekeeper", password="scorekeeper-pass")
    keeper.goto(f"{event}/board")
    expect(keeper.locator("main")).to_contain_text("Godzilla")
    _picture(keeper, "board-phone")
    with keeper.expect_navigation():
        keeper.locator("main a", has_text="Godzilla").first.click()
    expect(keeper.locator("main")).to_contain_text("Cy")  # Cy is playing, Di and Ed wait
    _picture(keeper, "machine-phone")

    player = new_page(phone=True)
    _log_in(player, f"{event}/player-login", number="101", pin=DEMO_PIN)
    player.goto(f"{event}/players/101/play")
    expect(player.locator("#live-tickets")).to_be_visible()
    _picture(player, "player-phone")

    public = new_page()
    public.goto(f"{event}/tournaments/main/")
    expect(public.locator("table").first).to_be_visible()
    _picture(public, "standings-desktop")
    assert failed_requests == []
