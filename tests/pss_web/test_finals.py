"""A whole finals run through the web: created from a qualifying tournament with a tie at the cut,
the tiebreaker, two rounds of groups of four recorded game by game, a correction, the bracket's
final positions checked by hand, and the IFPA export putting the finals places first."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.models import (
    AuditLog,
    Entry,
    EntryStatus,
    Event,
    EventPlayer,
    FinalsGame,
    Machine,
    MachineStatus,
    Player,
    Score,
    Tournament,
    TournamentMachine,
)
from pss_core.services import best_scores
from pss_testing.web import JSON, login_as, post_form, post_json


def qualifying(session: Session, event: Event) -> tuple[Tournament, list[EventPlayer]]:
    """Nine players on one machine; the 8th and 9th tie, across the cut of 8."""
    t = Tournament(
        event_id=event.id, slug="quals", name="Qualifying", format="herb", format_options={}
    )
    machine = Machine(name="Finals Test Machine")
    session.add_all([t, machine])
    session.flush()
    tm = TournamentMachine(event_id=event.id, tournament_id=t.id, machine_id=machine.id)
    session.add(tm)
    top = max(
        session.scalars(select(EventPlayer.number).where(EventPlayer.event_id == event.id)),
        default=0,
    )
    players = []
    for i, score in enumerate([900, 800, 700, 600, 500, 400, 300, 200, 200]):
        person = Player(first_name=f"Q{i + 1}", last_name="Finalist")
        session.add(person)
        session.flush()
        ep = EventPlayer(event_id=event.id, player_id=person.id, number=top + i + 1, pin_hash="x")
        session.add(ep)
        session.flush()
        entry = Entry(
            event_id=event.id, tournament_id=t.id, player_id=ep.id, status=EntryStatus.COMPLETE
        )
        session.add(entry)
        session.flush()
        session.add(
            Score(event_id=event.id, entry_id=entry.id, tournament_machine_id=tm.id, score=score)
        )
        players.append(ep)
    # Written straight into the tables, so the kept best scores are worked out as after a load.
    best_scores.rebuild(session, [t.id])
    return t, players


def record(app: TestApp, url: str, order: list[int]) -> None:
    """A game given as scores: the first in ``order`` scores most."""
    post_json(
        app,
        url,
        {
            "seeds": [str(s) for s in order],
            "scores": [str(1000 - 10 * i) for i in range(len(order))],
        },
    )


def create(app: TestApp, event: Event, slug: str, cut: int, **options: str) -> str:
    """Finals ``slug`` of the ``quals`` tournament, made by the director; their URL."""
    login_as(app, event, "td")
    base = f"/events/{event.slug}/finals/"
    made = {"tournament": "quals", "name": f"{slug} finals", "slug": slug, "cut": str(cut)}
    post_json(app, base, {**made, **options})
    return f"{base}{slug}/"


def test_a_whole_finals_run(webapp: TestApp, dbsession: Session, demo_event: Event) -> None:
    _t, qualifiers = qualifying(dbsession, demo_event)
    login_as(webapp, demo_event, "td")
    base = f"/events/{demo_event.slug}/finals/"
    made = post_json(
        webapp,
        base,
        {
            "tournament": "quals",
            "name": "Main finals",
            "slug": "main-finals",
            "cut": "8",
            "games": "2",
            "points": "papa",
        },
    )
    assert made.status_int == 201
    url = base + "main-finals/"
    bracket = webapp.get(url, headers=JSON).json
    tied = sorted([qualifiers[7].id, qualifiers[8].id])
    assert [sorted(t) for t in bracket["cut_tiebreakers_needed"]] == [tied]
    # Starting before the tie is settled is refused.
    refused = post_json(webapp, url + "start-round", {}, status=409)
    assert refused.json["error"] == "not_seeded"
    # The 9th in qualifying wins the tiebreaker and takes seed 8.
    post_json(
        webapp,
        url + "tiebreaker",
        {"players": [str(qualifiers[8].id), str(qualifiers[7].id)], "scores": ["50", "40"]},
    )
    bracket = webapp.get(url, headers=JSON).json
    assert [s["player_id"] for s in bracket["seeds"]] == [q.id for q in qualifiers[:7]] + [
        qualifiers[8].id
    ]

    started = post_json(webapp, url + "start-round", {}).json
    assert [(g["label"], g["seeds"]) for g in started["groups"]] == [
        ("1A", [1, 4, 5, 8]),
        ("1B", [2, 3, 6, 7]),
    ]
    login_as(webapp, demo_event, "scorekeeper")
    # 1A: seed 8 wins both games, 5 second; 1B: seed 3 and 2 split, 3 ahead on points.
    record(webapp, url + "1A", [8, 5, 1, 4])
    # A mistake, then its correction.
    record(webapp, url + "1A", [1, 4, 5, 8])
    post_json(webapp, url + "1A", {"seeds": ["8", "5", "1", "4"], "correct": "2"})
    record(webapp, url + "1B", [3, 2, 6, 7])
    record(webapp, url + "1B", [3, 6, 2, 7])
    # 1B: 3 has 8, 2 and 6 have 3 each across the advancing line: a tiebreaker game.
    bracket = webapp.get(url, headers=JSON).json
    group_1b = bracket["rounds"][0]["groups"][1]
    assert group_1b["tiebreakers_needed"] == [[2, 6]]
    wrong = post_json(webapp, url + "1B", {"seeds": ["2", "7"], "scores": ["1", "2"]}, status=400)
    assert wrong.json["error"] == "wrong_tiebreaker_players"
    post_json(webapp, url + "1B", {"seeds": ["6", "2"], "scores": ["90", "10"]})
    # The phone page shows the group.
    phone = webapp.get(url + "1B").text
    assert "group 1B" in phone
    assert "Q2 Finalist" in phone

    login_as(webapp, demo_event, "td")
    second = post_json(webapp, url + "start-round", {}).json
    assert [(g["label"], sorted(g["seeds"])) for g in second["groups"]] == [("2A", [3, 5, 6, 8])]
    login_as(webapp, demo_event, "scorekeeper")
    record(webapp, url + "2A", [5, 3, 8, 6])
    record(webapp, url + "2A", [5, 8, 3, 6])
    done = webapp.get(url, headers=JSON).json
    # By hand: 2A points 5: 8, 3: 2+1=3, 8: 1+2=3 (tie at 2nd/3rd, no line: better seed 3),
    # 6: 0. Final positions 1-4 from 2A; round 1's 3rd places (1A: 1, 1B: 2) then 4ths (4, 7).
    assert done["complete"] is True
    assert [p["seed"] for p in done["positions"]] == [5, 3, 8, 6, 1, 2, 4, 7]
    assert [p["position"] for p in done["positions"]] == list(range(1, 9))
    refused = post_json(
        webapp, url + "1A", {"seeds": ["1", "4", "5", "8"], "correct": "1"}, status=409
    )
    assert refused.json["error"] == "round_closed"

    login_as(webapp, demo_event, "td")
    ifpa = webapp.get(f"/events/{demo_event.slug}/tournaments/quals/ifpa.csv").text
    lines = list(csv.reader(io.StringIO(ifpa)))
    # Seed 8 is Q9 (won the tiebreaker at the cut); seed n is Qn otherwise.
    body = lines[1:]
    assert [row[:2] for row in body[:9]] == [
        ["1", "Q5"],
        ["2", "Q3"],
        ["3", "Q9"],
        ["4", "Q6"],
        ["5", "Q1"],
        ["6", "Q2"],
        ["7", "Q4"],
        ["8", "Q7"],
        ["9", "Q8"],
    ]
    actions = set(
        dbsession.scalars(select(AuditLog.action).where(AuditLog.action.like("finals_%")))
    )
    assert {
        "finals_created",
        "finals_cut_tiebreaker",
        "finals_seeded",
        "finals_round_started",
        "finals_game_recorded",
        "finals_game_corrected",
    } <= actions


def test_finals_pages_need_their_roles(
    webapp: TestApp, demo_event: Event, dbsession: Session
) -> None:
    qualifying(dbsession, demo_event)
    base = f"/events/{demo_event.slug}/finals/"
    assert webapp.get(base).status_int == 200
    anonymous = post_form(
        webapp, base, {"tournament": "quals", "name": "F", "slug": "f", "cut": "4"}, status="*"
    )
    assert anonymous.status_int in (302, 303, 403)


def test_byes_and_a_final_of_two(webapp: TestApp, dbsession: Session, demo_event: Event) -> None:
    """Six qualifiers, seeds 1 and 2 with byes, ending in a final of 2 that ties and needs a
    tiebreaker game; positions worked out by hand below."""
    _t, qualifiers = qualifying(dbsession, demo_event)
    url = create(webapp, demo_event, "byes", 6, byes="2", games="2", points="papa", last="two")
    bracket = webapp.get(url, headers=JSON).json
    # No tie at the cut (6th 400, 7th 300) nor at the bye line (800, 700): seeded at once.
    assert [s["player_id"] for s in bracket["seeds"]] == [q.id for q in qualifiers[:6]]
    first = post_json(webapp, url + "start-round", {}).json
    # The byes (seeds 1 and 2) are not in round 1.
    assert [(g["label"], g["seeds"]) for g in first["groups"]] == [("1A", [3, 4, 5, 6])]

    login_as(webapp, demo_event, "scorekeeper")
    record(webapp, url + "1A", [6, 3, 4, 5])
    record(webapp, url + "1A", [6, 3, 5, 4])
    # 6: 4+4, 3: 2+2, 4: 1+0, 5: 0+1; 4 and 5 tie below the advancing line: the better seed.
    live = webapp.get(url, headers=JSON).json
    assert live["rounds"][0]["groups"][0]["finished"] is True
    assert [p["seed"] for p in live["rounds"][0]["groups"][0]["players"]] == [6, 3, 4, 5]
    # Those out in round 1 already have their places, 5th and 6th.
    assert [(p["seed"], p["position"]) for p in live["positions"]] == [(4, 5), (5, 6)]
    assert live["complete"] is False

    login_as(webapp, demo_event, "td")
    second = post_json(webapp, url + "start-round", {}).json
    # The byes enter in round 2 with the two who came through 1A.
    assert [(g["label"], sorted(g["seeds"])) for g in second["groups"]] == [("2A", [1, 2, 3, 6])]
    login_as(webapp, demo_event, "scorekeeper")
    record(webapp, url + "2A", [2, 6, 1, 3])
    record(webapp, url + "2A", [6, 2, 3, 1])
    # 2: 4+2 = 6 and 6: 2+4 = 6 both advance (seed order: 2 first); 1: 1+0, 3: 0+1 (seed: 1).

    login_as(webapp, demo_event, "td")
    final = post_json(webapp, url + "start-round", {}).json
    assert [(g["label"], sorted(g["seeds"])) for g in final["groups"]] == [("3A", [2, 6])]
    login_as(webapp, demo_event, "scorekeeper")
    record(webapp, url + "3A", [6, 2])
    record(webapp, url + "3A", [2, 6])
    # One game each: a tie for first in the final is a tiebreaker game.
    live = webapp.get(url, headers=JSON).json
    final_group = live["rounds"][2]["groups"][0]
    assert final_group["players"][0]["points"] == final_group["players"][1]["points"] == 1
    assert final_group["tiebreakers_needed"] == [[2, 6]]
    assert live["complete"] is False
    post_json(webapp, url + "3A", {"seeds": ["6", "2"], "scores": ["70", "20"]})

    done = webapp.get(url, headers=JSON).json
    assert done["complete"] is True
    # 6 won the tiebreaker; 2 runner-up; 2A's 3rd and 4th (1, 3); 1A's 3rd and 4th (4, 5).
    assert [p["seed"] for p in done["positions"]] == [6, 2, 1, 3, 4, 5]
    assert [p["player_id"] for p in done["positions"]] == [
        qualifiers[i - 1].id for i in (6, 2, 1, 3, 4, 5)
    ]
    login_as(webapp, demo_event, "td")
    over = post_json(webapp, url + "start-round", {}, status=409)
    assert over.json["error"] == "finals_over"


def test_free_machines_go_to_groups_by_seed(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    """Two groups of three; the bank has three machines up and one down. Free machines go to the
    group with the best seed first, a group gets one it has not played this round, and playing
    order rotates from the top seed."""
    t, _qualifiers = qualifying(dbsession, demo_event)
    first_machine = t.machines[0]
    bank = [first_machine]
    for name, status in (("Second", MachineStatus.ACTIVE), ("Third", MachineStatus.ACTIVE)):
        machine = Machine(name=f"{name} Finals Machine")
        dbsession.add(machine)
        dbsession.flush()
        tm = TournamentMachine(
            event_id=demo_event.id, tournament_id=t.id, machine_id=machine.id, status=status
        )
        dbsession.add(tm)
        dbsession.flush()
        bank.append(tm)
    down = Machine(name="Broken Finals Machine")
    dbsession.add(down)
    dbsession.flush()
    dbsession.add(
        TournamentMachine(
            event_id=demo_event.id,
            tournament_id=t.id,
            machine_id=down.id,
            status=MachineStatus.DISABLED,
        )
    )
    dbsession.flush()
    url = create(webapp, demo_event, "bank", 6, games="3")
    started = post_json(webapp, url + "start-round", {}).json
    assert [(g["label"], sorted(g["seeds"])) for g in started["groups"]] == [
        ("1A", [1, 4, 5]),
        ("1B", [2, 3, 6]),
    ]
    bracket = webapp.get(url, headers=JSON).json
    assert [g["play_order"] for g in bracket["rounds"][0]["groups"]] == [[1, 4, 5], [2, 3, 6]]
    # Before any machine is handed out the top seed picks.
    login_as(webapp, demo_event, "scorekeeper")
    assert "Seed 1 picks the machine." in webapp.get(url + "1A").text
    refused = post_json(webapp, url + "assign-machines", {}, status=403)
    assert refused.json["error"] == "forbidden"

    login_as(webapp, demo_event, "td")
    given = post_json(webapp, url + "assign-machines", {}).json["assigned"]
    # 1A holds seed 1, so it is served first; the machine that is down is never given.
    assert given == {"1A": bank[0].id, "1B": bank[1].id}
    login_as(webapp, demo_event, "scorekeeper")
    record(webapp, url + "1A", [4, 1, 5])
    game = dbsession.scalars(select(FinalsGame).order_by(FinalsGame.id.desc())).first()
    assert game is not None
    assert game.tournament_machine_id == bank[0].id
    bracket = webapp.get(url, headers=JSON).json
    group_1a, group_1b = bracket["rounds"][0]["groups"]
    # Recording the game freed 1A's machine; seed 4 plays first in game 2.
    assert group_1a["machine_id"] is None
    assert group_1b["machine_id"] == bank[1].id
    assert group_1a["play_order"] == [4, 5, 1]
    assert "Seed 4 picks the machine." in webapp.get(url + "1A").text

    login_as(webapp, demo_event, "td")
    # Free now: the first machine (1A played it) and the third: 1A gets the third.
    again = post_json(webapp, url + "assign-machines", {}).json["assigned"]
    assert again == {"1A": bank[2].id}
    # Nobody is waiting: nothing changes, and no audit row is written for it.
    assert post_json(webapp, url + "assign-machines", {}).json["assigned"] == {}
    rows = dbsession.scalars(
        select(AuditLog).where(AuditLog.action == "finals_machines_assigned")
    ).all()
    assert len(rows) == 2


def test_the_tv_shows_the_finals(webapp: TestApp, dbsession: Session, demo_event: Event) -> None:
    """No finals slide before a round starts; then the round's groups with points, best first;
    once the finals are over, the final positions."""
    qualifying(dbsession, demo_event)
    url = create(webapp, demo_event, "tv", 4, games="1")
    tv_url = f"/events/{demo_event.slug}/tv"

    def finals_slides() -> list[dict[str, Any]]:
        slides = webapp.get(tv_url, headers=JSON).json["slides"]
        return [s for s in slides if s["kind"] == "finals"]

    assert finals_slides() == []
    post_json(webapp, url + "start-round", {})
    [slide] = finals_slides()
    assert slide["tournament"]["name"] == "Qualifying: tv finals"
    assert slide["title"] == "Round 1"
    assert [(g["label"], [p["seed"] for p in g["players"]]) for g in slide["groups"]] == [
        ("1A", [1, 2, 3, 4])
    ]
    assert "Group 1A · 0/1 games" in webapp.get(tv_url).text
    login_as(webapp, demo_event, "scorekeeper")
    record(webapp, url + "1A", [3, 1, 4, 2])
    [slide] = finals_slides()
    assert slide["title"] == "Final positions"
    assert [(p["position"], p["seed"], p["name"]) for p in slide["positions"]] == [
        (1, 3, "Q3 Finalist"),
        (2, 1, "Q1 Finalist"),
        (3, 4, "Q4 Finalist"),
        (4, 2, "Q2 Finalist"),
    ]
    page = webapp.get(tv_url).text
    assert "tv finals" in page
    assert "Final positions" in page


def test_group_match_play_standings(webapp: TestApp, dbsession: Session, demo_event: Event) -> None:
    """Six players, two rounds of one game in groups of three, IFPA points (7-4-1): the
    standings after each group worked out by hand, countback splitting equal points."""
    qualifying(dbsession, demo_event)
    url = create(webapp, demo_event, "mp", 6, format="group_match_play", rounds="2", points="ifpa")
    first = post_json(webapp, url + "start-round", {}).json
    assert [(g["label"], g["seeds"]) for g in first["groups"]] == [
        ("1A", [1, 4, 5]),
        ("1B", [2, 3, 6]),
    ]

    def table() -> list[tuple[int, int, int, int]]:
        rows = webapp.get(url + "standings", headers=JSON).json["standings"]
        return [(r["rank"], r["seed"], r["points"], r["games"]) for r in rows]

    # Before any result everyone is on 0, level.
    assert table() == [(1, seed, 0, 0) for seed in range(1, 7)]
    login_as(webapp, demo_event, "scorekeeper")
    record(webapp, url + "1A", [4, 1, 5])
    record(webapp, url + "1B", [2, 6, 3])
    # 4 and 2 won (7), 1 and 6 second (4), 5 and 3 third (1): level pairs share the rank.
    assert table() == [
        (1, 2, 7, 1),
        (1, 4, 7, 1),
        (3, 1, 4, 1),
        (3, 6, 4, 1),
        (5, 3, 1, 1),
        (5, 5, 1, 1),
    ]
    login_as(webapp, demo_event, "td")
    second = post_json(webapp, url + "start-round", {}).json
    # Three-player groups from two groups of three always repeat one pair; no more than that.
    assert [(g["label"], sorted(g["seeds"])) for g in second["groups"]] == [
        ("2A", [1, 5, 6]),
        ("2B", [2, 3, 4]),
    ]
    login_as(webapp, demo_event, "scorekeeper")
    record(webapp, url + "2A", [5, 1, 6])
    # One group of round 2 in: 5 (1 + 7, a win) is ahead of 1 (4 + 4, no win) on countback.
    assert table() == [
        (1, 5, 8, 2),
        (2, 1, 8, 2),
        (3, 2, 7, 1),
        (3, 4, 7, 1),
        (5, 6, 5, 2),
        (6, 3, 1, 1),
    ]
    record(webapp, url + "2B", [3, 2, 4])
    # 2: 7 + 4; 3, 4 and 5: a win and a third each (8); 1: two seconds (8); 6: 4 + 1.
    assert table() == [
        (1, 2, 11, 2),
        (2, 3, 8, 2),
        (2, 4, 8, 2),
        (2, 5, 8, 2),
        (5, 1, 8, 2),
        (6, 6, 5, 2),
    ]
    done = webapp.get(url, headers=JSON).json
    # Final positions: level players after countback go by seed.
    assert done["complete"] is True
    assert [p["seed"] for p in done["positions"]] == [2, 3, 4, 5, 1, 6]
    page = webapp.get(url + "standings").text
    assert "After 2 complete rounds" in page
    assert "Q2 Finalist" in page
    assert "Standings" in webapp.get(url).text
    # A bracket has no running standings.
    bracket = create(webapp, demo_event, "plain", 4)
    assert webapp.get(bracket + "standings", headers=JSON).json["standings"] == []
