"""Public pages and their JSON twins: events (paginated), event home, standings with the cut line,
machines, players, teams, the TV view, and live refresh through ETag / 304."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.audit import Actor
from pss_core.models import Event, EventPlayer, Tournament
from pss_core.plugins import Pss
from pss_core.services import games, machines, setup, tickets
from pss_testing.web import JSON

DESK = Actor("desk test")
# Six players' scores on the first two machines of the demo's HERB tournament (cut: 4).
SCORES = {
    101: (50_000_000, 9_000_000),
    102: (40_000_000, 8_000_000),
    103: (30_000_000, 7_000_000),
    104: (20_000_000, 6_000_000),
    105: (20_000_000, 6_000_000),
    106: (10_000_000, 5_000_000),
}


def player(session: Session, event: Event, number: int) -> EventPlayer:
    return setup.player_by_number(session, event.id, number)


def play(
    session: Session,
    pss: Pss,
    tournament: Tournament,
    ep: EventPlayer,
    machine_index: int,
    score: int,
) -> None:
    tm = tournament.machines[machine_index]
    tickets.sell_tickets(session, pss, player=ep, count=1, tournament=tournament, actor=DESK)
    games.start_game(session, pss, machine=tm, player=ep, actor=DESK)
    games.record_score(session, pss, machine=tm, score=score, actor=DESK)


@pytest.fixture
def scored(dbsession: Session, pss: Pss, demo_event: Event) -> Tournament:
    main = demo_event.tournaments[0]
    assert main.slug == "main"
    for number, (first, second) in SCORES.items():
        ep = player(dbsession, demo_event, number)
        play(dbsession, pss, main, ep, 0, first)
        play(dbsession, pss, main, ep, 1, second)
    dbsession.flush()
    return main


def test_events_list_is_paginated(webapp: TestApp, dbsession: Session, demo_event: Event) -> None:
    owner = setup.user_by_name(dbsession, "owner")
    assert owner is not None
    for i in range(24):
        setup.create_event(dbsession, owner, f"Open {i:02d}", slug=f"open-{i:02d}")
    dbsession.flush()
    first = webapp.get("/", headers=JSON).json
    assert first["pagination"]["total"] == 25
    assert first["pagination"]["pages"] == 2
    assert len(first["events"]) == 20
    second = webapp.get(first["pagination"]["next"], headers=JSON).json
    assert len(second["events"]) == 5
    names = {e["name"] for e in first["events"]} | {e["name"] for e in second["events"]}
    assert len(names) == 25
    html = webapp.get("/?page=2")
    assert "Page 2 of 2" in html.text
    assert 'rel="prev"' in html.text
    # Nonsense page numbers fall back to a real page.
    assert webapp.get("/?page=x", headers=JSON).json["pagination"]["page"] == 1
    assert webapp.get("/?page=99", headers=JSON).json["pagination"]["page"] == 2


def test_event_home_shows_tournaments_and_leaders(webapp: TestApp, scored: Tournament) -> None:
    data = webapp.get("/events/demo/", headers=JSON).json
    assert data["event"]["name"] == "PSS Demo Open"
    main = next(t for t in data["tournaments"] if t["slug"] == "main")
    assert main["machines_total"] == 6
    assert main["entrants"] == 6
    assert [row["name"] for row in main["leaders"]] == ["Ada Flipper", "Bo Tilt", "Cy Nudge"]
    html = webapp.get("/events/demo/")
    assert "Ada Flipper" in html.text
    assert "$3.00 a ticket (3 for $8.00)" in html.text


def test_standings_mark_the_qualifying_cut(webapp: TestApp, scored: Tournament) -> None:
    data = webapp.get("/events/demo/tournaments/main/", headers=JSON).json
    standings = data["standings"]
    assert standings["cut"] == 4
    ranks = [(row["rank"], row["name"], row["qualified"]) for row in standings["standings"]]
    # 104 and 105 tie on both machines, so both are 4th and both are inside the cut.
    assert ranks == [
        (1, "Ada Flipper", True),
        (2, "Bo Tilt", True),
        (3, "Cy Nudge", True),
        (4, "Di Drain", True),
        (4, "Ed Multiball", True),
        (6, "Flo Jackpot", False),
    ]
    # Rows are lean by default; ?breakdown=1 adds each row's machine results.
    assert "machines" not in standings["standings"][0]
    full = webapp.get("/events/demo/tournaments/main/?breakdown=1", headers=JSON).json
    assert [m["score"] for m in full["standings"]["standings"][0]["machines"]] == [
        50_000_000,
        9_000_000,
    ]
    html = webapp.get("/events/demo/tournaments/main/").text
    # The cut line comes right after the last qualifier and before the first non-qualifier.
    body = html[html.index("<tbody>") :]
    assert body.index("Ed Multiball") < body.index("qualifying cut") < body.index("Flo Jackpot")
    assert body.count('class="cutline"') == 1


def test_machine_page_ranks_scores_there(webapp: TestApp, scored: Tournament) -> None:
    tm = scored.machines[1]
    data = webapp.get(f"/events/demo/machines/{tm.id}/", headers=JSON).json
    assert data["machine"]["name"] == tm.machine.name
    assert data["machine"]["status"] == "active"
    got = [(r["rank"], r["name"], r["score"]) for r in data["results"]]
    assert got == [
        (1, "Ada Flipper", 9_000_000),
        (2, "Bo Tilt", 8_000_000),
        (3, "Cy Nudge", 7_000_000),
        (4, "Di Drain", 6_000_000),
        (4, "Ed Multiball", 6_000_000),
        (6, "Flo Jackpot", 5_000_000),
    ]
    assert "9,000,000" in webapp.get(f"/events/demo/machines/{tm.id}/").text


def test_the_machines_breadcrumb_leads_to_every_machine_of_the_event(
    webapp: TestApp, dbsession: Session, pss: Pss, scored: Tournament, demo_event: Event
) -> None:
    tm = scored.machines[2]
    machines.set_machine_status(
        dbsession, pss, machine=scored.machines[3], status="disable", actor=DESK
    )
    ep = player(dbsession, demo_event, 103)
    tickets.sell_tickets(dbsession, pss, player=ep, count=1, tournament=scored, actor=DESK)
    games.start_game(dbsession, pss, machine=tm, player=ep, actor=DESK)
    dbsession.flush()
    page = webapp.get(f"/events/demo/machines/{tm.id}/")
    crumb = page.html.select_one('nav.crumbs a:-soup-contains("Machines")')
    assert crumb is not None
    listing = webapp.get(crumb["href"])
    assert listing.status_int == 200
    data = webapp.get(crumb["href"], headers=JSON).json
    by_slug = {t["slug"]: t for t in data["tournaments"]}
    assert set(by_slug) == {t.slug for t in demo_event.tournaments}
    main = {m["name"]: m for m in by_slug["main"]["machines"]}
    assert set(main) == {m.machine.name for m in scored.machines}
    assert main[tm.machine.name]["playing"]["name"] == "Cy Nudge"
    assert main[scored.machines[3].machine.name]["status"] == "disabled"
    assert "Playing: Cy Nudge" in listing.text
    assert "DOWN" in listing.text


def test_player_page_shows_results_and_where_they_play(
    webapp: TestApp, dbsession: Session, pss: Pss, scored: Tournament, demo_event: Event
) -> None:
    ep = player(dbsession, demo_event, 103)
    tickets.sell_tickets(dbsession, pss, player=ep, count=1, tournament=scored, actor=DESK)
    games.start_game(dbsession, pss, machine=scored.machines[2], player=ep, actor=DESK)
    data = webapp.get("/events/demo/players/103/", headers=JSON).json
    assert data["player"]["name"] == "Cy Nudge"
    assert data["playing"]["name"] == scored.machines[2].machine.name
    (result,) = data["results"]
    assert (result["standing"]["rank"], result["standing"]["qualified"]) == (3, True)
    assert [m["score"] for m in result["standing"]["machines"]] == [30_000_000, 7_000_000]
    assert data["is_me"] is False


def test_players_list_finds_by_name_and_number(webapp: TestApp, demo_event: Event) -> None:
    data = webapp.get("/events/demo/players/", headers=JSON).json
    assert [p["number"] for p in data["players"]] == list(range(101, 109))
    assert [
        p["name"] for p in webapp.get("/events/demo/players/?q=tilt", headers=JSON).json["players"]
    ] == ["Bo Tilt"]
    assert [
        p["number"]
        for p in webapp.get("/events/demo/players/?q=%23105", headers=JSON).json["players"]
    ] == [105]
    assert "Nobody matches" in webapp.get("/events/demo/players/?q=zzz").text


def test_tv_cycles_standings_and_machines(webapp: TestApp, scored: Tournament) -> None:
    data = webapp.get("/events/demo/tv?seconds=8", headers=JSON).json
    assert data["seconds"] == 8
    kinds = [(s["kind"], s["tournament"]["slug"]) for s in data["slides"]]
    assert kinds == [
        ("standings", "main"),
        ("machines", "main"),
        ("standings", "classics"),
        ("machines", "classics"),
    ]
    assert data["slides"][0]["rows"][0]["name"] == "Ada Flipper"
    html = webapp.get("/events/demo/tv").text
    assert 'data-rotate="12"' in html
    assert html.count('<section class="slide ') == 4


def test_unknown_things_are_404_in_both_forms(webapp: TestApp, demo_event: Event) -> None:
    for url in (
        "/events/nope/",
        "/events/demo/tournaments/nope/",
        "/events/demo/players/999/",
        "/events/demo/machines/abc/",
        "/events/demo/whatever/x",
    ):
        assert webapp.get(url, headers=JSON, status=404).json["error"] == "not_found"
        assert "There is no such page" in webapp.get(url, status=404).text


# --- live refresh -----------------------------------------------------------------------------


class StatementCounter:
    def __init__(self, session: Session) -> None:
        self.count = 0
        self.engine = session.get_bind()

    def __enter__(self) -> StatementCounter:
        sa_event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc: Any) -> None:
        sa_event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, *args: Any) -> None:
        self.count += 1


@pytest.mark.parametrize(
    "path",
    [
        "/events/demo/tournaments/main/",
        "/events/demo/tv",
        "/events/demo/",
        "/events/demo/players/101/",
    ],
)
def test_live_pages_answer_304_until_something_changes(
    webapp: TestApp, dbsession: Session, pss: Pss, scored: Tournament, demo_event: Event, path: str
) -> None:
    first = webapp.get(path)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "no-cache"
    # The page carries its own version for the polling script.
    assert (
        f'name="pss-etag" content="&#34;{etag.strip(chr(34))}&#34;"' in first.text
        or etag.strip('"') in first.text
    )
    with StatementCounter(dbsession) as counter:
        again = webapp.get(path, headers={"If-None-Match": etag}, status=304)
    assert again.body == b""
    # Traversal, the fingerprint and the login check; no standings, no rendering.
    assert counter.count <= 4
    # The JSON twin has its own ETag.
    json_etag = webapp.get(path, headers=JSON).headers["ETag"]
    assert json_etag != etag
    # A score changes the page: the old ETag no longer matches.
    play(dbsession, pss, scored, player(dbsession, demo_event, 101), 2, 1_000_000)
    dbsession.flush()
    changed = webapp.get(path, headers={"If-None-Match": etag})
    assert changed.status_int == 200
    assert changed.headers["ETag"] != etag


def test_machine_status_change_refreshes_the_machine_page(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event
) -> None:
    tm = demo_event.tournaments[0].machines[0]
    url = f"/events/demo/machines/{tm.id}/"
    etag = webapp.get(url).headers["ETag"]
    webapp.get(url, headers={"If-None-Match": etag}, status=304)
    machines.set_machine_status(dbsession, pss, machine=tm, status="disable", actor=DESK)
    dbsession.flush()
    res = webapp.get(url, headers={"If-None-Match": etag}, status=200)
    assert "DOWN" in res.text


def test_json_twin_carries_the_same_data_as_the_page(webapp: TestApp, scored: Tournament) -> None:
    data = webapp.get("/events/demo/tournaments/main/", headers=JSON)
    assert data.content_type == "application/json"
    html = webapp.get("/events/demo/tournaments/main/")
    assert html.content_type == "text/html"
    for row in data.json["standings"]["standings"]:
        assert re.search(rf">{row['points']}</td>", html.text)
        assert row["name"] in html.text
    for machine in data.json["machines"]:
        assert machine["name"] in html.text
    # A browser's Accept header gets HTML; no Accept header gets HTML too.
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    assert webapp.get("/events/demo/", headers=browser).content_type == "text/html"


def test_a_draft_tournament_is_only_the_directors(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event
) -> None:
    from pss_core.models import TournamentStatus
    from pss_testing.web import login_as

    setup.create_tournament(
        dbsession,
        pss,
        demo_event,
        "Secret Side",
        "herb",
        slug="secret",
        status=TournamentStatus.DRAFT,
    )
    dbsession.flush()
    url = "/events/demo/tournaments/secret/"
    assert "Secret Side" not in webapp.get("/events/demo/tournaments/").text
    login_as(webapp, demo_event, "td")
    assert "Secret Side" in webapp.get(url).text
    assert "Secret Side" in webapp.get("/events/demo/tournaments/").text


def test_a_draft_answers_as_if_it_did_not_exist(
    webapp: TestApp, make_webapp: Any, dbsession: Session, pss: Pss, demo_event: Event
) -> None:
    """Anyone who may not see drafts gets the same 404 for a draft as for a name that was never
    used (a 401 or a 403 told the draft's name was right), at the draft and at every page under
    it, and at its machines' pages (which name it)."""
    from pss_core.models import TournamentStatus
    from pss_testing.web import login_as, login_player

    secret = setup.create_tournament(
        dbsession,
        pss,
        demo_event,
        "Secret Side",
        "herb",
        slug="secret",
        status=TournamentStatus.DRAFT,
    )
    tm = setup.add_machine(dbsession, secret, "Medieval Madness")
    dbsession.flush()
    drafts = [
        "/events/demo/tournaments/secret/",
        "/events/demo/tournaments/secret/edit",
        "/events/demo/tournaments/secret/machines",
        f"/events/demo/machines/{tm.id}/",
        f"/events/demo/machines/{tm.id}/keep",
    ]
    unknown = [
        "/events/demo/tournaments/nothing-here/",
        "/events/demo/tournaments/nothing-here/edit",
        "/events/demo/machines/999999/",
    ]
    anonymous = make_webapp()
    player = make_webapp()
    login_player(player, demo_event, 101, "4321")
    desk, scorekeeper = make_webapp(), make_webapp()
    login_as(desk, demo_event, "desk")
    login_as(scorekeeper, demo_event, "scorekeeper")
    for app in (anonymous, player, desk, scorekeeper):
        for path in drafts + unknown:
            assert app.get(path, headers=JSON, status=404).json["error"] == "not_found", path
            assert app.get(path, status=404).content_type == "text/html"
        for path in drafts[1:3]:  # the actions too (before any CSRF check)
            app.post_json(path, {"name": "x"}, headers=JSON, status=404)
        assert f"/machines/{tm.id}/" not in scorekeeper.get("/events/demo/board").text
    # The tournament director sees and manages it.
    login_as(webapp, demo_event, "td")
    for path in drafts:
        webapp.get(path, status=200)
    assert f"/machines/{tm.id}/keep" in webapp.get("/events/demo/board").text
