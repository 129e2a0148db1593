"""Exports on a played demo event: standings CSV and JSON, every score, the IFPA finishing order
(qualifying only and with finals places put first), the event zip and ``pss export``."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pss_core import db, exports
from pss_core.cli import main
from pss_core.demo import CLASSICS_SCORES, MAIN_SCORES, PLAYERS, create_demo, play_demo
from pss_core.errors import Refused
from pss_core.export_cli import ProgressBar
from pss_core.models import Event, EventPlayer, Tournament, TournamentStatus
from pss_core.plugins import Pss
from pss_core.services import setup
from pss_core.standings import compute_standings


@pytest.fixture
def played(dbsession: Session, pss: Pss, demo_event: Event) -> Event:
    play_demo(dbsession, pss, demo_event)
    dbsession.flush()
    return demo_event


def tournament(event: Event, slug: str) -> Tournament:
    return next(t for t in event.tournaments if t.slug == slug)


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_standings_csv_is_the_standings(dbsession: Session, pss: Pss, played: Event) -> None:
    main_t = tournament(played, "main")
    standings = compute_standings(dbsession, pss, main_t)
    rows = parse(exports.standings_csv(standings))
    assert len(rows) == len(standings) == len(PLAYERS)
    assert [(int(r["rank"]), r["name"], int(r["points"])) for r in rows] == standings.csv_rows()
    assert [r["qualified"] for r in rows].count("yes") == len(standings.qualifiers) >= 4
    assert {int(r["number"]) for r in rows} == set(range(101, 101 + len(PLAYERS)))


def test_standings_json_names_the_tournament(dbsession: Session, pss: Pss, played: Event) -> None:
    main_t = tournament(played, "main")
    standings = compute_standings(dbsession, pss, main_t)
    doc = json.loads(exports.standings_json(played, main_t, standings))
    assert doc["tournament"]["slug"] == "main"
    assert doc["cut"] == 4
    assert [r["name"] for r in doc["standings"]] == [r.name for r in standings.rows]
    assert doc["standings"][0]["machines"]  # the breakdown is there


def test_every_score_is_a_line(dbsession: Session, played: Event) -> None:
    main_t = tournament(played, "main")
    lines = list(exports.scores_lines(dbsession, main_t))
    rows = parse("".join(lines))
    assert len(rows) == len(MAIN_SCORES) == exports.count_scores(dbsession, main_t)
    assert list(rows[0]) == list(exports.SCORE_COLUMNS)
    expected = {(" ".join(PLAYERS[who]), score) for who, _m, score in MAIN_SCORES}
    assert {(r["player"], int(r["score"])) for r in rows} == expected
    flo = next(r for r in rows if r["player"] == "Flo Jackpot")
    assert flo["machine"] == "Twilight Zone"
    assert flo["score"] == "210450000"
    assert flo["entry_status"] == "complete"
    assert flo["recorded_at"].endswith("+00:00")
    classics = parse("".join(exports.scores_lines(dbsession, tournament(played, "classics"))))
    assert [r["entry_status"] for r in classics] == ["open"] * len(CLASSICS_SCORES)


def test_scores_are_read_in_batches_with_progress(dbsession: Session, played: Event) -> None:
    seen: list[int] = []
    rows = list(
        exports.iter_scores(dbsession, tournament(played, "main"), batch=3, progress=seen.append)
    )
    assert len(rows) == len(MAIN_SCORES)
    assert seen == [3, 3, 3, 1]


def test_ifpa_id_is_exported(dbsession: Session, played: Event) -> None:
    ada = dbsession.scalars(
        select(EventPlayer).where(EventPlayer.event_id == played.id, EventPlayer.number == 101)
    ).one()
    ada.player.ifpa_id = 12345
    dbsession.flush()
    rows = parse("".join(exports.scores_lines(dbsession, tournament(played, "main"))))
    assert {r["ifpa_id"] for r in rows if r["player"] == "Ada Flipper"} == {"12345"}
    assert {r["ifpa_id"] for r in rows if r["player"] != "Ada Flipper"} == {""}


def test_ifpa_qualifying_only_follows_the_standings(
    dbsession: Session, pss: Pss, played: Event
) -> None:
    main_t = tournament(played, "main")
    standings = compute_standings(dbsession, pss, main_t)
    order = exports.finishing_order(dbsession, main_t, standings)
    assert [p.place for p in order.placings] == [r.rank for r in standings.rows]
    assert [p.player_id for p in order.placings] == [r.competitor.id for r in standings.rows]
    assert {p.decided_in for p in order.placings} == {"qualifying"}
    rows = parse(order.csv())
    assert list(rows[0]) == list(exports.IFPA_COLUMNS)
    first = standings.rows[0].competitor.name.split(" ", 1)
    assert (rows[0]["First Name"], rows[0]["Last Name"]) == (first[0], first[1])
    assert order.left_out == ()  # every Main player has a score


def test_ifpa_ties_share_a_place(dbsession: Session, pss: Pss, played: Event) -> None:
    main_t = tournament(played, "main")
    standings = compute_standings(dbsession, pss, main_t)
    order = exports.finishing_order(dbsession, main_t, standings)
    ranks = [r.rank for r in standings.rows]
    # Competition ranking (1, 1, 3) in the standings gives the same places.
    for i, p in enumerate(order.placings):
        assert p.place == 1 + sum(1 for r in ranks if r < ranks[i])


def test_finals_places_come_first(dbsession: Session, pss: Pss, played: Event) -> None:
    main_t = tournament(played, "main")
    standings = compute_standings(dbsession, pss, main_t)
    third, first = standings.rows[2].competitor.id, standings.rows[0].competitor.id
    assert third is not None
    assert first is not None
    finals = [exports.FinalsPlace(2, first), exports.FinalsPlace(1, third)]
    order = exports.finishing_order(dbsession, main_t, standings, finals=finals)
    assert [(p.place, p.player_id, p.decided_in) for p in order.placings[:2]] == [
        (1, third, "finals"),
        (2, first, "finals"),
    ]
    rest = [r for r in standings.rows if r.competitor.id not in (first, third)]
    assert [p.player_id for p in order.placings[2:]] == [r.competitor.id for r in rest]
    assert order.placings[2].place == 3
    assert len(order.placings) == len(standings)


def test_finals_cannot_place_a_player_twice(dbsession: Session, pss: Pss, played: Event) -> None:
    main_t = tournament(played, "main")
    standings = compute_standings(dbsession, pss, main_t)
    pid = standings.rows[0].competitor.id
    assert pid is not None
    with pytest.raises(Refused) as err:
        exports.finishing_order(
            dbsession,
            main_t,
            standings,
            finals=[exports.FinalsPlace(1, pid), exports.FinalsPlace(2, pid)],
        )
    assert err.value.code == "finals_duplicate"


def test_ifpa_leaves_out_who_never_played(dbsession: Session, pss: Pss, played: Event) -> None:
    classics = tournament(played, "classics")
    standings = compute_standings(dbsession, pss, classics)
    order = exports.finishing_order(dbsession, classics, standings)
    # Four bought a Classics entry; Ada's is unfinished, the other three never played.
    assert order.placings == ()
    assert [(p.number, p.reason) for p in order.left_out] == [
        (101, "only incomplete entries"),
        (102, "never played"),
        (103, "never played"),
        (104, "never played"),
    ]
    assert parse(order.csv()) == []
    assert order.csv().startswith("Place,First Name,Last Name,IFPA ID")


def test_ifpa_refuses_team_tournaments(dbsession: Session, pss: Pss, played: Event) -> None:
    team_t = setup.create_tournament(dbsession, pss, played, "Pairs", "team", slug="pairs")
    standings = compute_standings(dbsession, pss, team_t)
    with pytest.raises(Refused) as err:
        exports.finishing_order(dbsession, team_t, standings)
    assert err.value.code == "ifpa_team"


def test_drafts_are_not_exportable(dbsession: Session, played: Event) -> None:
    main_t = tournament(played, "main")
    main_t.status = TournamentStatus.DRAFT
    with pytest.raises(Refused) as err:
        exports.check_exportable(main_t)
    assert err.value.code == "draft_tournament"
    assert main_t not in exports.exportable_tournaments(played)


def test_event_zip_has_every_tournament(dbsession: Session, pss: Pss, played: Event) -> None:
    data = exports.event_zip(dbsession, pss, played)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        assert {
            "event.json",
            "main/results.csv",
            "main/results.json",
            "main/scores.csv",
            "main/ifpa.csv",
            "classics/scores.csv",
        } <= names
        scores = parse(archive.read("main/scores.csv").decode())
        index = json.loads(archive.read("event.json"))
    assert len(scores) == len(MAIN_SCORES)
    assert [t["slug"] for t in index["tournaments"]] == ["main", "classics"]


def test_progress_bar_counts_to_the_total() -> None:
    out = io.StringIO()
    bar = ProgressBar(10, out, width=10)
    bar(4)
    bar(6)
    bar.finish()
    assert out.getvalue().endswith("\r[##########] 10/10 scores\n")
    assert "[####......] 4/10" in out.getvalue()


# --- pss export ---------------------------------------------------------------------------


@pytest.fixture
def committed_demo(committed_engine: Engine, database_url: str, pss: Pss) -> str:
    with db.session_scope(committed_engine) as session:
        create_demo(session, pss, play=True)
    return database_url


def test_pss_export_writes_what_the_service_does(
    committed_demo: str,
    tmp_path: Any,
    capsys: pytest.CaptureFixture[str],
    committed_engine: Engine,
    pss: Pss,
) -> None:
    assert main(["--db", committed_demo, "export", "demo", "main", "--what", "scores"]) == 0
    printed = capsys.readouterr().out
    with db.session_scope(committed_engine) as session:
        event = setup.event_by_slug(session, "demo")
        assert event is not None
        main_t = tournament(event, "main")
        assert printed == "".join(exports.scores_lines(session, main_t))
        expected_results = exports.standings_csv(compute_standings(session, pss, main_t))
    out = tmp_path / "results.csv"
    assert main(["--db", committed_demo, "export", "demo", "main", "-o", str(out)]) == 0
    assert out.read_bytes().decode() == expected_results
    assert main(["--db", committed_demo, "export", "demo", "classics", "--what", "ifpa"]) == 0
    err = capsys.readouterr().err
    assert "left out #102 Bo Tilt: never played" in err
    archive = tmp_path / "demo.zip"
    assert main(["--db", committed_demo, "export", "demo", "--zip", "-o", str(archive)]) == 0
    with zipfile.ZipFile(archive) as z:
        assert "main/ifpa.csv" in z.namelist()


def test_pss_export_refusals(committed_demo: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", committed_demo, "export", "nope", "main"]) == 2
    assert "there is no event 'nope'" in capsys.readouterr().err
    assert main(["--db", committed_demo, "export", "demo", "nope"]) == 2
    assert "has no tournament 'nope'" in capsys.readouterr().err
    assert main(["--db", committed_demo, "export", "demo", "--zip"]) == 2
    assert "-o FILE.zip" in capsys.readouterr().err
