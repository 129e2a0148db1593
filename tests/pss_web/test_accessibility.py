"""Every page a person uses has a language, one main heading, labels for every input, and names
for its navigation: checked on the rendered HTML of each page, logged in as who would see it."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from webtest import TestApp

from pss_core.models import Event
from pss_testing.web import login_admin, login_as


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.h1 = 0
        self.inputs: list[tuple[str, str | None]] = []
        self.labels: set[str] = set()
        self.unnamed_nav = 0
        self.buttons_without_text = 0
        self._button_text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "h1":
            self.h1 += 1
        elif tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.inputs.append((a.get("name") or "?", a.get("id")))
        elif tag == "label" and a.get("for"):
            self.labels.add(a["for"] or "")
        elif tag == "nav" and not a.get("aria-label"):
            self.unnamed_nav += 1
        elif tag == "button":
            self._button_text = []

    def handle_data(self, data: str) -> None:
        if self._button_text is not None:
            self._button_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button_text is not None:
            if not "".join(self._button_text).strip():
                self.buttons_without_text += 1
            self._button_text = None


PUBLIC = [
    "/",
    "/events/demo/",
    "/events/demo/tournaments/",
    "/events/demo/tournaments/main/",
    "/events/demo/players/",
    "/events/demo/players/101/",
    "/events/demo/teams/",
    "/events/demo/metatournaments/",
    "/events/demo/tv",
    "/events/demo/login",
    "/events/demo/player-login",
    "/admin/login",
]
TD = [
    "/events/demo/tournaments/?format=herb",
    "/events/demo/tournaments/?format=papa",
    "/events/demo/tournaments/main/edit",
    "/events/demo/tournaments/main/machines",
    "/events/demo/metatournaments/",
    "/events/demo/teams/",
    "/events/demo/users/",
    "/events/demo/users/desk/",
    "/events/demo/audit",
    "/events/demo/players/101/corrections",
]
ADMIN = ["/admin/", "/admin/events/demo/", "/admin/events/demo/users/"]


@pytest.mark.parametrize("who", ["anonymous", "td", "admin"])
def test_pages_are_labelled(webapp: TestApp, demo_event: Event, who: str) -> None:
    urls = PUBLIC
    if who == "td":
        login_as(webapp, demo_event, "owner", username="owner", password="owner-pass")
        machine = demo_event.tournaments[0].machines[0].id
        urls = [*TD, f"/events/demo/machines/{machine}/corrections"]
    elif who == "admin":
        login_admin(webapp)
        urls = ADMIN
    problems = []
    for url in urls:
        page = Page()
        page.feed(webapp.get(url).text)
        unlabelled = [name for name, id_ in page.inputs if id_ is None or id_ not in page.labels]
        if (
            page.lang != "en"
            or page.h1 != 1
            or unlabelled
            or page.unnamed_nav
            or page.buttons_without_text
        ):
            problems.append(
                (url, page.lang, page.h1, unlabelled, page.unnamed_nav, page.buttons_without_text)
            )
    assert problems == []
