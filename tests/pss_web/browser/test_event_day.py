"""A day at an event in a real browser, as people new to pss would go through it: the owner
creates an event with a HERB tournament and its machines and adds staff; the desk registers two
players, prints their slips and sells them tickets at the live price; a scorekeeper with a phone
queues them on a machine, starts them and records their scores; a player logs in on a phone with
the number and PIN from the slip, joins a queue and sees their turn come up without reloading; the
TV over the bank shows the standings change without reloading.

Runs on SQLite (a migrated file); screenshots of every step go to test-artifacts/.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core import db
from pss_core.models import Purchase, Score, Token
from pss_core.services import setup

pytestmark = pytest.mark.browser

EVENT = "spring-flip"


def owner_account(url: str) -> None:
    """The one thing done outside the browser: an event owner's account (made by whoever runs
    the pss instance)."""
    engine = db.make_engine(url)
    with db.session_scope(engine) as session:
        setup.create_user(
            session, "olive", password="olive-pass-1", full_name="Olive Owner", event_owner=True
        )
    engine.dispose()


def submit(page: Any, button: str) -> None:
    """Click a form's button (by its text) and wait for the page it leads to."""
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()


def log_in(page: Any, base: str, path: str, **fields: str) -> None:
    page.goto(base + path)
    for name, value in fields.items():
        page.fill(f"#f-{name}", value)
    with page.expect_navigation():
        page.locator("main button[type=submit]").click()


def flash(page: Any) -> str:
    return str(page.locator(".flash").inner_text())


def tv_points(page: Any) -> dict[str, int]:
    """Name → points, as the TV's standings slide shows them now."""
    rows = page.locator("#live-tv table.standings tr").all_inner_texts()
    out = {}
    for row in rows:
        _rank, name, points = row.split("\t")
        out[name.strip()] = int(points)
    return out


def test_event_day(
    served: str,
    sqlite_url: str,
    new_page: Callable[..., Any],
    shot: Callable[[Any, str], None],
    failed_requests: list[str],
) -> None:
    from playwright.sync_api import expect

    # Live pages poll every 4 seconds: a change shows within about that, never instantly.
    expect.set_options(timeout=12_000)
    base = served
    owner_account(sqlite_url)

    # --- the owner sets the event up (on a laptop) ------------------------------------------
    owner = new_page()
    log_in(owner, base, "/admin/login", username="olive", password="olive-pass-1")
    owner.fill("#f-name", "Spring Flip")
    submit(owner, "Create event")
    assert "Spring Flip created." in flash(owner)
    shot(owner, "owner-event-created")
    owner.goto(f"{base}/admin/events/{EVENT}/users/")
    for username, role in (("dee", "desk"), ("sam", "scorekeeper")):
        owner.fill("#f-username", username)
        owner.fill("#f-password", f"{username}-pass-1")
        owner.check(f"#role-{role}")
        submit(owner, "Add to staff")
        assert f"{username} can now log into Spring Flip." in flash(owner)
    shot(owner, "owner-staff")
    log_in(owner, base, f"/events/{EVENT}/login", username="olive", password="olive-pass-1")
    owner.get_by_role("navigation", name="Sections").get_by_role(
        "link", name="Tournaments", exact=True
    ).click()
    expect(owner.locator("#f-format")).to_have_value("herb")
    owner.fill("#f-name", "Main")
    owner.fill("#f-price", "3.00")
    owner.fill("#f-bundles", "3 for 8.00")
    owner.fill("#f-qualifying_cut", "8")
    submit(owner, "Create tournament")
    assert "Main created. Now add its machines." in flash(owner)
    for machine in ("Medieval Madness", "Attack from Mars", "Twilight Zone"):
        owner.fill("#f-machine", machine)
        submit(owner, "Add machine")
        assert f"{machine} added." in flash(owner)
    shot(owner, "owner-machines")

    # --- the desk registers two players and sells them tickets --------------------------------
    desk = new_page()
    log_in(desk, base, f"/events/{EVENT}/login", username="dee", password="dee-pass-1")
    desk.get_by_role("link", name="Desk", exact=True).click()
    slips: dict[str, tuple[str, str]] = {}
    for first, last, count, total in (
        ("Ada", "Flipper", "3", "$8.00"),
        ("Bo", "Tilt", "2", "$6.00"),
    ):
        desk.fill("#f-first_name", first)
        desk.fill("#f-last_name", last)
        with desk.expect_navigation():
            desk.click("#register-button")
        number = desk.locator("#slip-number").inner_text()
        pin = desk.locator("#slip-pin").inner_text()
        assert pin.isdigit()
        slips[first] = (number, pin)
        shot(desk, f"desk-slip-{first.lower()}")
        with desk.expect_navigation():
            desk.click("#to-sell")
        desk.fill("#f-tickets", count)
        expect(desk.locator("#price")).to_contain_text(f"Total: {total}")
        expect(desk.locator("#sell-button")).to_have_text(f"Sell {count} tickets · {total}")
        shot(desk, f"desk-price-{first.lower()}")
        with desk.expect_navigation():
            desk.click("#sell-button")
        assert f"Sold {count} tickets for Main to {first} {last}: take {total}." in flash(desk)
        expect(desk.locator("#live-summary strong.left")).to_have_text(count)
        desk.get_by_role("link", name="Desk", exact=True).click()
    assert slips["Ada"][0] == "100"
    assert slips["Bo"][0] == "101"

    # --- a scorekeeper on a phone runs Medieval Madness from its queue ------------------------
    keeper = new_page(phone=True)
    log_in(keeper, base, f"/events/{EVENT}/login", username="sam", password="sam-pass-1")
    keeper.goto(f"{base}/events/{EVENT}/board")
    with keeper.expect_navigation():
        keeper.locator("li.machine", has_text="Medieval Madness").locator("a").click()
    for first in ("Ada", "Bo"):
        keeper.fill("#f-queue-player", slips[first][0])
        with keeper.expect_navigation():
            keeper.click("#add-to-queue")
    expect(keeper.locator("#queue-list li")).to_have_count(2)
    shot(keeper, "keeper-queue")
    with keeper.expect_navigation():
        keeper.click("#start-next")
    expect(keeper.locator("#now-playing")).to_have_text("Ada Flipper")
    keeper.locator("#f-score").press_sequentially("12345670")
    expect(keeper.locator("#f-score")).to_have_value("12,345,670")
    expect(keeper.locator("#score-preview")).to_have_text("about 12.3 million")
    shot(keeper, "keeper-score-typed")
    with keeper.expect_navigation():
        keeper.click("#save-score")
    assert (
        "12,345,670 recorded for Ada Flipper on Medieval Madness. "
        "Bo Tilt is playing Medieval Madness."
    ) in flash(keeper)
    expect(keeper.locator("#now-playing")).to_have_text("Bo Tilt")
    shot(keeper, "keeper-next-up")

    # --- the TV over the bank: standings change without a reload -----------------------------
    tv = new_page()
    tv.goto(f"{base}/events/{EVENT}/tv?seconds=120")
    expect(tv.locator("#live-tv table.standings")).to_contain_text("Ada Flipper")
    assert list(tv_points(tv)) == ["Ada Flipper"]
    tv.evaluate("window.sameTvPage = true")
    shot(tv, "tv-before")
    keeper.locator("#f-score").press_sequentially("8000000")
    with keeper.expect_navigation():
        keeper.click("#save-score")
    assert "8,000,000 recorded for Bo Tilt on Medieval Madness." in flash(keeper)
    expect(tv.locator("#live-tv table.standings")).to_contain_text("Bo Tilt")
    assert list(tv_points(tv)) == ["Ada Flipper", "Bo Tilt"]
    assert tv.evaluate("window.sameTvPage") is True
    shot(tv, "tv-after")

    # --- Ada logs in on her phone with her slip and joins a queue -----------------------------
    phone = new_page(phone=True)
    number, pin = slips["Ada"]
    log_in(phone, base, f"/events/{EVENT}/player-login", number=number, pin=pin)
    phone.get_by_role("link", name="My page", exact=True).click()
    expect(phone.locator("#live-tickets")).to_contain_text("2 games left in Main")
    shot(phone, "player-page")
    afm = phone.locator("li.machine", has_text="Attack from Mars")
    with phone.expect_navigation():
        afm.get_by_role("button", name="Join").click()
    expect(phone.locator("#now")).to_contain_text("You are 1st in the queue for Attack from Mars")
    phone.evaluate("window.samePlayerPage = true")
    shot(phone, "player-queued")

    # The scorekeeper walks to Attack from Mars: Ada is waiting there, and starts her.
    keeper.goto(f"{base}/events/{EVENT}/board")
    expect(keeper.locator("li.machine", has_text="Attack from Mars")).to_contain_text(
        "1 waiting · next: Ada Flipper"
    )
    with keeper.expect_navigation():
        keeper.locator("li.machine", has_text="Attack from Mars").locator("a").click()
    with keeper.expect_navigation():
        keeper.click("#start-next")
    # Ada's phone shows her turn by itself.
    expect(phone.locator("#now")).to_have_text("Your game: Attack from Mars. Play well!")
    assert phone.evaluate("window.samePlayerPage") is True
    shot(phone, "player-playing")

    before = tv_points(tv)["Ada Flipper"]
    keeper.locator("#f-score").press_sequentially("50000000")
    with keeper.expect_navigation():
        keeper.click("#save-score")
    shot(keeper, "keeper-recorded")
    standings = json.loads(
        keeper.request.get(
            f"{base}/events/{EVENT}/tournaments/main/",
            headers={"Accept": "application/json"},
        ).text()
    )["standings"]["standings"]
    ada = next(row for row in standings if row["name"] == "Ada Flipper")
    assert ada["points"] > before
    expect(tv.locator("#live-tv table.standings tr", has_text="Ada Flipper")).to_contain_text(
        str(ada["points"])
    )
    assert tv.evaluate("window.sameTvPage") is True
    shot(tv, "tv-updated")
    expect(phone.locator("#live-results")).to_contain_text("Attack from Mars: 50,000,000")
    shot(phone, "player-results")

    # Every page, style sheet, script and poll answered; nothing was refused or broke.
    assert failed_requests == []
    # What the pages showed is what the database holds.
    engine = db.make_engine(sqlite_url)
    with Session(engine) as session:
        assert sorted(session.scalars(select(Score.score))) == [8_000_000, 12_345_670, 50_000_000]
        assert sorted((p.tickets, p.amount_cents) for p in session.scalars(select(Purchase))) == [
            (2, 600),
            (3, 800),
        ]
        assert len(session.scalars(select(Token).where(Token.used_at.is_not(None))).all()) == 3
    engine.dispose()


def test_a_missing_browser_skips_or_fails_as_asked(
    browser_requirement: Callable[[str], None], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    missing = str(tmp_path / "no-chromium-here")
    monkeypatch.setenv("PSS_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="PSS_REQUIRE_BROWSER is set"):
        browser_requirement(missing)
    monkeypatch.delenv("PSS_REQUIRE_BROWSER")
    with pytest.raises(pytest.skip.Exception, match="is not installed"):
        browser_requirement(missing)
    present = tmp_path / "chromium"
    present.write_text("")
    monkeypatch.setenv("PSS_REQUIRE_BROWSER", "1")
    browser_requirement(str(present))
