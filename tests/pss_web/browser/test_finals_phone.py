"""A scorekeeper records a finals game on a 390 px phone: the group's page lists the players in
playing order with a score box each, the result is ranked from the scores, and the bracket shows
the final positions. Screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from pss_core import db
from pss_core.audit import Actor
from pss_core.demo import create_demo
from pss_core.models import EventPlayer, FinalsPlayer
from pss_core.services import finals as service

pytestmark = pytest.mark.browser

TD = Actor("finals browser test")


def demo_finals(url: str, pss: Any) -> dict[int, str]:
    """Finals of the played demo's main tournament, cut 4 (its tie at the cut settled), one game
    a group, round 1 started; seed -> name."""
    engine = db.make_engine(url)
    with db.session_scope(engine) as session:
        event = create_demo(session, pss, play=True)
        tournament = event.tournaments[0]
        finals = service.create_finals(
            session,
            pss,
            TD,
            tournament,
            name="Phone finals",
            slug="phone",
            cut=4,
            format="group_finals",
            options={"games": 1},
        )
        # The demo's standings tie across the cut: the tied players' tiebreaker, as listed.
        for tie in service.seeding(session, pss, finals).pending:
            service.record_cut_tiebreaker(session, pss, TD, finals, order=list(tie))
        assert service.seeding(session, pss, finals).pending == ()
        service.start_round(session, pss, TD, finals)
        names = {
            seed: session.get_one(EventPlayer, player_id).name
            for seed, player_id in session.execute(
                select(FinalsPlayer.seed, FinalsPlayer.event_player_id).where(
                    FinalsPlayer.finals_id == finals.id
                )
            )
        }
    engine.dispose()
    return names


def test_a_scorekeeper_records_a_finals_game_on_a_phone(
    served: str,
    sqlite_url: str,
    pss: Any,
    new_page: Callable[..., Any],
    shot: Callable[[Any, str], None],
    failed_requests: list[str],
) -> None:
    from playwright.sync_api import expect

    names = demo_finals(sqlite_url, pss)
    base = f"{served}/events/demo"
    page = new_page(phone=True)
    page.goto(base + "/login")
    page.fill("#f-username", "scorekeeper")
    page.fill("#f-password", "scorekeeper-pass")
    with page.expect_navigation():
        page.locator("main button[type=submit]").click()

    page.goto(base + "/finals/phone/1A")
    expect(page.locator("h1")).to_have_text("Phone finals: group 1A")
    expect(page.locator("main")).to_contain_text("Playing order: seed 1, seed 2, seed 3, seed 4.")
    expect(page.locator("main")).to_contain_text("Seed 1 picks the machine.")
    shot(page, "group")
    boxes = page.locator("form.phone input[name=scores]")
    assert boxes.count() == 4
    # Seed 3 scores most, then 1, 4, 2 (the boxes are in playing order, seed 1 first).
    for seed, score in ((1, "2,500,000"), (2, "310000"), (3, "9000000"), (4, "1200000")):
        label = page.locator("form.phone label", has_text=f"(seed {seed})")
        label.locator("input[name=scores]").fill(score)
    button = page.locator("form.phone button", has_text="Record game")
    box = button.bounding_box()
    assert box is not None
    assert box["height"] >= 44
    with page.expect_navigation():
        button.click()
    expect(page.locator("main")).to_contain_text("Game 1 recorded.")
    shot(page, "recorded")
    # PAPA points 4-2-1-0 by the scores.
    rows = page.locator("table.data tbody tr")
    assert [rows.nth(i).inner_text().split("\t") for i in range(4)] == [
        ["3", names[3], "4"],
        ["1", names[1], "2"],
        ["4", names[4], "1"],
        ["2", names[2], "0"],
    ]
    page.goto(base + "/finals/phone/")
    expect(page.locator("section", has_text="Final positions").locator("li")).to_have_text(
        [f"{names[s]} (seed {s})" for s in (3, 1, 4, 2)]
    )
    shot(page, "bracket")
    assert failed_requests == []
