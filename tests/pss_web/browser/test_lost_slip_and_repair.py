"""Two things that happen at every event, in a real browser: a player who lost their slip gets a
new PIN at the desk (the phone someone else may hold is logged out; the new slip works), and a
scorekeeper marks a broken machine down for repair and back up, which the player's phone shows
without a reload. Runs over the demo event in a migrated SQLite file; screenshots go to
test-artifacts/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core import db
from pss_core.demo import DEMO_PIN, create_demo
from pss_core.models import AuditLog, MachineStatus, TournamentMachine

pytestmark = pytest.mark.browser


def log_in(page: Any, url: str, **fields: str) -> None:
    page.goto(url)
    for name, value in fields.items():
        page.fill(f"#f-{name}", value)
    with page.expect_navigation():
        page.locator("main button[type=submit]").click()


def test_a_lost_slip_and_a_machine_down_for_repair(
    served: str,
    sqlite_url: str,
    pss: Any,
    new_page: Callable[..., Any],
    shot: Callable[[Any, str], None],
    failed_requests: list[str],
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=12_000)  # live pages poll every 4 seconds
    engine = db.make_engine(sqlite_url)
    with db.session_scope(engine) as session:
        create_demo(session, pss)
    event = f"{served}/events/demo"

    # Cy is logged in on a phone (the one left on a table with the slip, say).
    lost = new_page(phone=True)
    log_in(lost, f"{event}/player-login", number="103", pin=DEMO_PIN)
    lost.goto(f"{event}/players/103/play")
    expect(lost.locator("h1")).to_contain_text("Cy Nudge")

    # --- the desk gives Cy a new PIN -------------------------------------------------------
    desk = new_page()
    log_in(desk, f"{event}/login", username="desk", password="desk-pass")
    desk.goto(f"{event}/desk")
    desk.fill("#q", "nudge")
    with desk.expect_navigation():
        desk.get_by_role("button", name="Find", exact=True).click()
    with desk.expect_navigation():
        desk.locator("#found a.person", has_text="Cy Nudge").click()
    shot(desk, "desk-player")
    asked: list[str] = []

    def accept(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    desk.once("dialog", accept)
    with desk.expect_navigation():
        desk.click("#new-pin-button")
    assert asked == [
        "Give Cy Nudge a new PIN? The old one stops working and they are logged out on every phone."
    ]
    assert (
        "Cy Nudge has a new PIN; the old one no longer works."
        in desk.locator(".flash").inner_text()
    )
    pin = desk.locator("#slip-pin").inner_text()
    assert desk.locator("#slip-number").inner_text() == "103"
    assert pin.isdigit()
    shot(desk, "desk-new-slip")
    desk.reload()
    expect(desk.locator("#slip-pin")).to_have_count(0)

    # The old phone is logged out; the new slip logs Cy in on their own phone.
    lost.goto(f"{event}/players/103/play")
    expect(lost).to_have_url(f"{event}/login?next=%2Fevents%2Fdemo%2Fplayers%2F103%2Fplay")
    phone = new_page(phone=True)
    log_in(phone, f"{event}/player-login", number="103", pin=pin)
    phone.get_by_role("link", name="My page", exact=True).click()
    expect(phone.locator("h1")).to_contain_text("Cy Nudge")
    phone.evaluate("window.samePlayerPage = true")
    afm = phone.locator("li.machine", has_text="Attack from Mars")
    expect(afm).not_to_contain_text("DOWN")

    # --- a scorekeeper marks Attack from Mars down, then back up ----------------------------
    with Session(engine) as session:
        tm = session.scalars(
            select(TournamentMachine)
            .join(TournamentMachine.machine)
            .where(TournamentMachine.machine.has(name="Attack from Mars"))
        ).first()
        assert tm is not None
        machine_id = tm.id
    keeper = new_page(phone=True)
    log_in(keeper, f"{event}/login", username="scorekeeper", password="scorekeeper-pass")
    keeper.goto(f"{event}/machines/{machine_id}/keep")
    keeper.fill("#f-down-reason", "left flipper weak")
    keeper.once("dialog", lambda dialog: dialog.accept())
    with keeper.expect_navigation():
        keeper.click("#machine-down")
    assert "Attack from Mars is down." in keeper.locator(".flash").inner_text()
    expect(keeper.locator("#live-game")).to_contain_text("DOWN")
    shot(keeper, "keeper-down")
    # Cy's phone shows it by itself.
    expect(afm).to_contain_text("DOWN")
    shot(phone, "player-sees-down")
    with keeper.expect_navigation():
        keeper.click("#machine-up")
    assert "Attack from Mars is back in play." in keeper.locator(".flash").inner_text()
    expect(afm).not_to_contain_text("DOWN")
    assert phone.evaluate("window.samePlayerPage") is True
    shot(phone, "player-sees-up")

    # Nothing was refused or broke, and the database says what the pages said.
    assert failed_requests == []
    with Session(engine) as session:
        assert session.get(TournamentMachine, machine_id).status == MachineStatus.ACTIVE  # type: ignore[union-attr]
        actions = session.scalars(
            select(AuditLog.action)
            .where(AuditLog.action.in_(("player.pin_reset", "machine.status")))
            .order_by(AuditLog.id)
        ).all()
        assert list(actions) == ["player.pin_reset", "machine.status", "machine.status"]
    engine.dispose()
