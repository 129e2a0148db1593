"""``pss standings``: standings for a CSV of scores, through ``main()`` and through the installed
``pss`` console script."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pss_core.cli import main

PSS = Path(sys.executable).parent / "pss"

HERB_CSV = """player,machine,score
P1,A,500
P2,A,500
P3,A,400
P4,A,300
P5,A,300
P3,B,90
P1,B,80
P4,B,80
P6,B,80
P2,B,70
P5,C,"1,000"
P4,C,900
P2,C,900
P6,C,900
"""

HERB_OUT = """rank,player,points
1,P1,190
1,P2,190
3,P3,185
4,P5,184
5,P4,180
5,P6,180
"""


@pytest.fixture
def csv_file(tmp_path):
    def write(text, name="scores.csv"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


def run(capsys, *argv):
    code = main(["standings", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_herb_csv_prints_rank_player_points(capsys, csv_file):
    code, out, err = run(
        capsys, "--format", "herb", "--set", "machines_counted=2", csv_file(HERB_CSV)
    )
    assert (code, out, err) == (0, HERB_OUT, "")


def test_options_change_the_standings(capsys, csv_file):
    code, out, _ = run(
        capsys,
        "--format",
        "herb",
        "--set",
        "machines_counted=1",
        "--set",
        "points_curve=linear",
        csv_file(HERB_CSV),
    )
    assert code == 0
    assert out.splitlines()[1:] == [
        "1,P1,100",
        "1,P2,100",
        "1,P3,100",
        "1,P5,100",
        "5,P4,99",
        "5,P6,99",
    ]


def test_json_has_the_full_breakdown_and_the_cut(capsys, csv_file):
    code, out, _ = run(
        capsys,
        "--format",
        "herb",
        "--set",
        "machines_counted=2",
        "--cut",
        "5",
        "--json",
        csv_file(HERB_CSV),
    )
    assert code == 0
    data = json.loads(out)
    assert (data["format"], data["cut"], data["qualifiers"]) == ("herb", 5, 6)
    p2 = data["standings"][1]
    assert (p2["name"], p2["rank"], p2["points"]) == ("P2", 1, 190)
    assert [
        (m["machine"], m["score"], m["rank"], m["points"], m["counted"]) for m in p2["machines"]
    ] == [("A", 500, 1, 100, True), ("C", 900, 2, 90, True), ("B", 70, 5, 83, False)]


def test_papa_csv_with_entries(capsys, csv_file):
    text = (
        "player,machine,score,entry\n"
        "Ada,A,100,1\nAda,B,10,1\nAda,A,90,2\nAda,B,40,2\nBo,A,95,3\nBo,B,30,3\n"
        "Cy,A,1000,4\n"
    )  # entry 4 has one game of two: incomplete
    code, out, err = run(capsys, "--format", "papa", "--set", "games_per_entry=2", csv_file(text))
    # A: 100 (1), 95 (2), 90 (3); B: 40 (1), 30 (2), 10 (3).
    # Entry 1: 100 + 85 = 185; entry 2: 85 + 100 = 185; entry 3: 90 + 90 = 180.
    assert code == 0
    assert out == "rank,player,points\n1,Ada,185\n2,Bo,180\n"
    assert err == "pss standings: note: Incomplete entries are not counted: 4.\n"
    code, out, _ = run(
        capsys,
        "--format",
        "papa",
        "--set",
        "games_per_entry=2",
        "--set",
        "entries_counted=2",
        "--json",
        csv_file(text),
    )
    ada = json.loads(out)["standings"][0]
    assert (ada["points"], [e["points"] for e in ada["entries"]]) == (370, [185, 185])


def test_team_csv_ranks_teams(capsys, csv_file):
    text = (
        "team,player,machine,score\n"
        "Flippers,Ada,A,50\nFlippers,Bo,B,70\nTilt,Cy,A,60\nTilt,Di,B,70\n"
    )
    code, out, _ = run(capsys, "--format", "team", "--json", csv_file(text))
    data = json.loads(out)
    assert code == 0
    assert [(r["name"], r["points"], r["competitor"]["members"]) for r in data["standings"]] == [
        ("Tilt", 200, ["Cy", "Di"]),
        ("Flippers", 190, ["Ada", "Bo"]),
    ]


def test_scores_from_stdin(capsys, csv_file, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("player,machine,score\nAda,A,1\nBo,A,2\n"))
    code, out, _ = run(capsys, "--format", "herb", "-")
    assert (code, out) == (0, "rank,player,points\n1,Bo,100\n2,Ada,90\n")


def test_names_with_commas_are_quoted(capsys, csv_file):
    code, out, _ = run(
        capsys, "--format", "herb", csv_file('player,machine,score\n"Flipper, Ada",A,1\n')
    )
    assert code == 0
    assert out == 'rank,player,points\n1,"Flipper, Ada",100\n'


@pytest.mark.parametrize(
    ("argv", "text", "message"),
    [
        (
            ["--format", "herb"],
            "player,machine,score\nAda,A,10\nBo,A,ten\n",
            "scores.csv: Line 3: the score 'ten' is not a whole number",
        ),
        (
            ["--format", "herb"],
            "player,machine,score\nAda,A,10\nBo,A\n",
            "scores.csv: Line 3: expected 3 values",
        ),
        (
            ["--format", "herb"],
            "name,machine,score\nAda,A,10\n",
            "scores.csv: Line 1: unknown column 'name'",
        ),
        (
            ["--format", "herb"],
            "player,machine,score,team\nAda,A,10,X\n",
            "Line 2: HERB (best game) is not a team format",
        ),
        (
            ["--format", "herb", "--set", "replay_same_machine=no"],
            "player,machine,score\nAda,A,10\nBo,A,5\nAda,A,11\n",
            "Line 4: Ada already has a score on A, and replays are not allowed",
        ),
        (
            ["--format", "limited_herb", "--set", "max_entries=2"],
            "player,machine,score\nAda,A,1\nAda,B,1\nBo,A,1\nAda,C,1\n",
            "Line 5: Ada has more than 2 entries",
        ),
        (["--format", "papa"], "player,machine,score\nAda,A,10\n", "Line 2: No entry given"),
        (
            ["--format", "papa", "--set", "games_per_entry=2"],
            "player,machine,score,entry\nAda,A,1,1\nAda,A,2,1\n",
            "Line 3: Entry 1 already has a game on A",
        ),
        (
            ["--format", "team"],
            "player,machine,score\nAda,A,1\n",
            "Line 1: the header needs the column(s) team",
        ),
        (
            ["--format", "team", "--set", "team_size=1"],
            "player,machine,score,team\nAda,A,1,T\nBo,A,1,T\n",
            "Line 3: Team T has more than 1",
        ),
        (
            ["--format", "team"],
            "player,machine,score,team\nAda,A,1,T\nAda,A,1,U\n",
            "Line 3: Ada plays for T, not U",
        ),
        (["--format", "chess"], "player,machine,score\n", "There is no format called 'chess'"),
        (
            ["--format", "herb", "--set", "machines=3"],
            "player,machine,score\n",
            "has no option 'machines'",
        ),
        (
            ["--format", "herb", "--set", "machines_counted=0"],
            "player,machine,score\n",
            "must be at least 1",
        ),
        (
            ["--format", "herb", "--set", "points_curve=steep"],
            "player,machine,score\n",
            "There is no points curve called 'steep'",
        ),
        (
            ["--format", "herb", "--set", "machines_counted"],
            "player,machine,score\n",
            "--set takes OPTION=VALUE",
        ),
        (["--format", "herb", "--cut", "-1"], "player,machine,score\n", "cannot be negative"),
        (["--format", "herb"], "", "The file is empty"),
    ],
)
def test_bad_input_prints_no_standings_and_exits_2(capsys, csv_file, argv, text, message):
    code, out, err = run(capsys, *argv, csv_file(text))
    assert code == 2
    assert out == ""
    assert err.startswith("pss standings: ")
    assert message in err
    assert err.count("\n") == 1


def test_missing_file(capsys, tmp_path):
    code, out, err = run(capsys, "--format", "herb", str(tmp_path / "nope.csv"))
    assert (code, out) == (2, "")
    assert "cannot read" in err


def test_not_utf8(capsys, tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("player,machine,score\nJosé,A,1\n".encode("latin-1"))
    code, out, err = run(capsys, "--format", "herb", str(path))
    assert (code, out) == (2, "")
    assert "not a UTF-8 text file" in err


# --- through the installed console script ---------------------------------------------------


def pss(*argv, stdin=None):
    return subprocess.run(
        [str(PSS), *argv], capture_output=True, text=True, input=stdin, timeout=60, check=False
    )


def test_console_script_prints_standings(csv_file):
    result = pss("standings", "--format", "herb", "--set", "machines_counted=2", csv_file(HERB_CSV))
    assert (result.returncode, result.stdout, result.stderr) == (0, HERB_OUT, "")


def test_console_script_refuses_a_bad_row_with_its_line(csv_file):
    bad = HERB_CSV.replace("P4,C,900", "P4,C,9.5")
    result = pss("standings", "--format", "herb", csv_file(bad))
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Line 13: the score '9.5' is not a whole number" in result.stderr


def test_console_script_uses_installed_plugin_curves():
    # plugins/pss-extra-curves is pip-installed: its curves work from the command line too.
    result = pss(
        "standings",
        "--format",
        "herb",
        "--set",
        "points_curve=top10",
        "--json",
        "-",
        stdin="player,machine,score\nAda,A,3\nBo,A,2\nCy,A,1\n",
    )
    assert result.returncode == 0, result.stderr
    assert [r["points"] for r in json.loads(result.stdout)["standings"]] == [25, 18, 15]
