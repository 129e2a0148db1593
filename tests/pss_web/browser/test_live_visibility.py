"""Live pages and hidden tabs in a real browser: a hidden tab does not poll, and when it comes
back into view it polls again, so a change made while it was hidden shows without a reload, even
when the tab's timers were held back as browsers do in the background.

The tab is hidden by overriding ``document.hidden`` and dispatching ``visibilitychange``, which is
what the browser does when a tab goes to the background."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pss_core import db
from pss_core.audit import Actor
from pss_core.demo import create_demo
from pss_core.services import games, setup, tickets

pytestmark = pytest.mark.browser
DESK = Actor("desk test")
STANDINGS = "/events/demo/tournaments/main/"

HIDE = """hidden => {
  Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
  Object.defineProperty(document, "visibilityState", { configurable: true,
    get: () => hidden ? "hidden" : "visible" });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def score(url: str, pss: Any, number: int, points: int) -> None:
    engine = db.make_engine(url)
    with db.session_scope(engine) as session:
        event = setup.event_by_slug(session, "demo")
        assert event is not None
        main = event.tournaments[0]
        ep = setup.player_by_number(session, event.id, number)
        tm = main.machines[0]
        tickets.sell_tickets(session, pss, player=ep, count=1, tournament=main, actor=DESK)
        games.start_game(session, pss, machine=tm, player=ep, actor=DESK)
        games.record_score(session, pss, machine=tm, score=points, actor=DESK)
    engine.dispose()


def test_a_tab_polls_again_when_it_comes_back_into_view(
    sqlite_url: str,
    pss: Any,
    serve: Callable[[dict[str, Any]], str],
    new_page: Callable[..., Any],
    shot: Callable[[Any, str], None],
    failed_requests: list[str],
) -> None:
    from playwright.sync_api import expect

    engine = db.make_engine(sqlite_url)
    with db.session_scope(engine) as session:
        create_demo(session, pss)
    engine.dispose()
    base = serve({"pss.database_url": sqlite_url, "pss.plugins": pss})
    score(sqlite_url, pss, 101, 10_000_000)

    page = new_page()
    polls: list[str] = []
    answered: list[str] = []

    def is_poll(r: Any) -> bool:
        return bool(r.resource_type == "fetch" and r.url.endswith(STANDINGS))

    page.on("request", lambda r: polls.append(r.url) if is_poll(r) else None)
    page.on("requestfinished", lambda r: answered.append(r.url) if is_poll(r) else None)
    page.on("requestfailed", lambda r: answered.append(r.url) if is_poll(r) else None)
    page.goto(base + STANDINGS)
    standings = page.locator("#live-standings")
    expect(standings).to_contain_text("Ada Flipper")
    expect(standings).not_to_contain_text("Bo Tilt")
    # It polls while in view.
    with page.expect_request(lambda r: r.url.endswith(STANDINGS), timeout=12_000):
        pass
    page.evaluate("window.samePage = true")

    # A background tab's timers are held back (Chromium's intensive throttling runs them about
    # once a minute); here they stop, so only coming into view itself can bring the change.
    page.evaluate("window.setTimeout = () => 0")
    page.evaluate(HIDE, True)
    # A poll already on its way may still land: wait until every one sent has its answer.
    for _ in range(240):  # a safety net of 12 s; polls answer in milliseconds
        if len(answered) == len(polls):
            break
        page.wait_for_timeout(50)
    assert len(answered) == len(polls), (polls, answered)
    before = len(polls)
    score(sqlite_url, pss, 102, 20_000_000)
    # Longer than a poll interval (4 s): a hidden tab makes no request in that time, and the
    # timer that was pending when it was hidden has run out.
    page.wait_for_timeout(6_000)
    assert len(polls) == before
    expect(standings).not_to_contain_text("Bo Tilt")

    page.evaluate(HIDE, False)
    expect(standings).to_contain_text("Bo Tilt")
    assert page.evaluate("window.samePage") is True
    shot(page, "shown-again")
    assert failed_requests == []
