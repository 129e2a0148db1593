"""The scorekeeper's score box on a phone refuses what is not a score — a letter O typed for a
zero, a minus, "12.5M" — with a message the scorekeeper can read, instead of silently dropping
characters, and the form cannot be sent until it is fixed. Runs over the demo event (Cy is
playing Godzilla) in a migrated SQLite file; screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from pss_core import db
from pss_core.demo import create_demo
from pss_core.models import Score

pytestmark = pytest.mark.browser


def scores(url: str) -> int:
    engine = db.make_engine(url)
    with db.session_scope(engine) as session:
        count = int(session.scalar(select(func.count(Score.id))) or 0)
    engine.dispose()
    return count


def test_the_score_box_refuses_what_is_not_a_score(
    served: str,
    sqlite_url: str,
    pss: Any,
    new_page: Callable[..., Any],
    shot: Callable[[Any, str], None],
    failed_requests: list[str],
) -> None:
    from playwright.sync_api import expect

    engine = db.make_engine(sqlite_url)
    with db.session_scope(engine) as session:
        create_demo(session, pss, play=True)
    engine.dispose()
    before = scores(sqlite_url)
    keeper = new_page(phone=True)
    keeper.goto(f"{served}/events/demo/login")
    keeper.fill("#f-username", "scorekeeper")
    keeper.fill("#f-password", "scorekeeper-pass")
    with keeper.expect_navigation():
        keeper.locator("main button[type=submit]").click()
    keeper.goto(f"{served}/events/demo/board")
    with keeper.expect_navigation():
        keeper.locator("li.machine", has_text="Godzilla").locator("a").click()
    box = keeper.locator("#f-score")
    problem = keeper.locator("#score-problem")

    for typed, says in (
        ("12O45", "“O” is a letter, not a zero"),
        ("-5000", "a score has no sign"),
        ("12.5M", "“M” is not a digit"),
        ("12.5", "12500000, not 12.5 million"),
    ):
        box.fill("")
        box.press_sequentially(typed)
        expect(box).to_have_value(typed)  # kept as typed, nothing dropped
        expect(problem).to_be_visible()
        expect(problem).to_contain_text(says)
        expect(box).to_have_attribute("aria-invalid", "true")
        if typed == "12O45":
            shot(keeper, "score-box-refuses-a-letter")
        keeper.locator("#save-score").click()  # the browser will not send an invalid field
        expect(keeper.locator("#score-form")).to_be_visible()
    assert scores(sqlite_url) == before

    box.fill("")
    box.press_sequentially("12345670")
    expect(box).to_have_value("12,345,670")
    expect(problem).to_be_hidden()
    expect(keeper.locator("#score-preview")).to_have_text("about 12.3 million")
    shot(keeper, "score-box-reads-a-score")
    with keeper.expect_navigation():
        keeper.locator("#save-score").click()
    assert scores(sqlite_url) == before + 1
    assert failed_requests == []
