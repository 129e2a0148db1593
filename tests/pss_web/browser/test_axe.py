"""The main pages pass axe-core's WCAG 2.1 A and AA rules with no serious or critical violation:
the public pages, the desk's, the scorekeeper's and the tournament director's (corrections and
the audit trail too), each rendered in Chromium over the played demo event. axe-core comes from
npm (``package.json``) and is put into each page by the test, never served by pss."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pss_core import db
from pss_core.demo import create_demo

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[3] / "node_modules" / "axe-core" / "axe.min.js"
#: The rules checked: WCAG 2.0 and 2.1, levels A and AA.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: What fails the test; moderate and minor findings are left to review.
FAILING = {"serious", "critical"}

PUBLIC = [
    "/",
    "/events/demo/",
    "/events/demo/tournaments/main/",
    "/events/demo/machines/",
    "/events/demo/machines/{machine}/",
    "/events/demo/players/",
    "/events/demo/players/101/",
    "/events/demo/login",
    "/events/demo/player-login",
]
STAFF = [
    "/events/demo/desk",
    "/events/demo/board",
    "/events/demo/machines/{machine}/keep",
    "/events/demo/machines/{machine}/corrections",
    "/events/demo/players/101/corrections",
    "/events/demo/players/101/history",
    "/events/demo/audit",
    "/events/demo/tournaments/main/edit",
]


def violations(page: Any) -> list[str]:
    """The serious and critical axe-core violations of the page, one line per element."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS
    )
    return [
        f"{v['id']} ({v['impact']}): {node['target']} {node['failureSummary'].splitlines()[-1]}"
        for v in result["violations"]
        if v["impact"] in FAILING
        for node in v["nodes"]
    ]


#: Pages used on a phone, checked at 390 px as well.
ON_PHONES = {
    "/events/demo/players/101/",
    "/events/demo/desk",
    "/events/demo/board",
    "/events/demo/machines/{machine}/keep",
}


def test_the_main_pages_have_no_serious_accessibility_violations(
    served: str,
    sqlite_url: str,
    pss: Any,
    new_page: Callable[..., Any],
) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run npm ci")
    engine = db.make_engine(sqlite_url)
    with db.session_scope(engine) as session:
        event = create_demo(session, pss, play=True)
        session.flush()
        machine = event.tournaments[0].machines[0].id
    engine.dispose()
    found: dict[str, list[str]] = {}
    for phone in (False, True):
        page = new_page(phone=phone)
        where = "phone" if phone else "desktop"
        for path in PUBLIC:
            if phone and path not in ON_PHONES:
                continue
            page.goto(served + path.format(machine=machine))
            found[f"{where} {path}"] = violations(page)
        page.goto(f"{served}/events/demo/login")
        page.fill("#f-username", "owner")
        page.fill("#f-password", "owner-pass")
        with page.expect_navigation():
            page.locator("main button[type=submit]").click()
        for path in STAFF:
            if phone and path not in ON_PHONES:
                continue
            page.goto(served + path.format(machine=machine))
            found[f"{where} td {path}"] = violations(page)
    assert len(found) == len(PUBLIC) + len(STAFF) + len(ON_PHONES)
    assert {where: lines for where, lines in found.items() if lines} == {}


def test_a_violation_is_seen(served: str, new_page: Callable[..., Any]) -> None:
    """The negative control: an image without a text alternative and a field without a label,
    put into a page, are reported (so the check above can fail)."""
    page = new_page()
    page.goto(served + "/")
    assert violations(page) == []
    page.evaluate(
        """() => {
        const main = document.querySelector('main');
        main.insertAdjacentHTML('beforeend', '<img src="/static/none.png"><input type="text">');
    }"""
    )
    found = violations(page)
    assert any(line.startswith("image-alt (critical)") for line in found), found
    assert any(line.startswith("label (critical)") for line in found), found
