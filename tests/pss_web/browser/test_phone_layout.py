"""The header on a 390 px phone: every tab of the navigation is on the screen (none scrolled off
its edge), the current one is marked, and every link and button of the header and the
breadcrumbs is at least 44 x 44 px to tap. Checked for the scorekeeper, the desk and a player on
the demo event; screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pss_core import db
from pss_core.demo import DEMO_PIN, create_demo

pytestmark = pytest.mark.browser

LOGINS = [
    (
        "scorekeeper",
        "/login",
        {"username": "scorekeeper", "password": "scorekeeper-pass"},
        "/board",
        "Scorekeeping",
    ),
    ("desk", "/login", {"username": "desk", "password": "desk-pass"}, "/desk", "Desk"),
    ("player", "/player-login", {"number": "103", "pin": DEMO_PIN}, "/me", "My page"),
]


def too_small(page: Any, selector: str) -> list[str]:
    """The visible controls matching ``selector`` that are under 44 px either way."""
    return list(
        page.eval_on_selector_all(
            selector,
            """els => els
        .filter(e => e.offsetParent !== null)
        .map(e => [e.textContent.trim(), e.getBoundingClientRect()])
        .filter(([t, r]) => r.width < 44 || r.height < 44)
        .map(([t, r]) => `${t}: ${Math.round(r.width)}x${Math.round(r.height)}`)""",
        )
    )


@pytest.mark.parametrize(
    ("who", "login", "fields", "home", "tab"), LOGINS, ids=[w for w, *_ in LOGINS]
)
def test_the_phone_header_shows_every_tab_and_has_big_enough_targets(
    served: str,
    sqlite_url: str,
    pss: Any,
    new_page: Callable[..., Any],
    shot: Callable[[Any, str], None],
    failed_requests: list[str],
    who: str,
    login: str,
    fields: dict[str, str],
    home: str,
    tab: str,
) -> None:
    from playwright.sync_api import expect

    engine = db.make_engine(sqlite_url)
    with db.session_scope(engine) as session:
        create_demo(session, pss, play=True)
    engine.dispose()
    event = f"{served}/events/demo"
    page = new_page(phone=True)
    page.goto(event + login)
    for name, value in fields.items():
        page.fill(f"#f-{name}", value)
    with page.expect_navigation():
        page.locator("main button[type=submit]").click()
    page.goto(event + home)
    shot(page, f"{who}-header")

    tabs = page.locator("nav.tabs a")
    assert tabs.count() >= 4
    width = page.viewport_size["width"]
    off_screen = page.eval_on_selector_all(
        "nav.tabs a",
        f"""els => els
        .map(e => [e.textContent.trim(), e.getBoundingClientRect()])
        .filter(([t, r]) => r.left < 0 || r.right > {width})
        .map(([t, r]) => t)""",
    )
    assert off_screen == []
    expect(page.locator('nav.tabs a[aria-current="page"]')).to_have_text(tab)
    assert too_small(page, "header.top a, header.top button, nav.crumbs a") == []

    # A page deeper down: the breadcrumbs are big enough too, and the Machines one leads on.
    page.goto(f"{event}/machines/")
    page.locator("ul.machines a").first.click()
    page.wait_for_selector("nav.crumbs")
    assert too_small(page, "header.top a, header.top button, nav.crumbs a") == []
    with page.expect_navigation():
        page.locator("nav.crumbs a", has_text="Machines").click()
    expect(page.locator("h1")).to_have_text("Machines")
    assert failed_requests == []
