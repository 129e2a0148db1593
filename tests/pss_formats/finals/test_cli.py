"""``pss bracket`` through ``main()``."""

import json

import pytest

from pss_core.cli import main


def run(capsys, *argv):
    code = main(["bracket", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_is_the_documented_shape(capsys):
    code, out, err = run(capsys, "--players", "24", "--byes", "8", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert list(data) == ["rounds"]
    assert data["rounds"][0] == {
        "number": 1,
        "groups": [[9, 16, 17, 24], [10, 15, 18, 23], [11, 14, 19, 22], [12, 13, 20, 21]],
    }
    assert data["rounds"][1]["groups"][0] == [1, 8, "1st in 1A", "2nd in 1A"]
    assert [r["number"] for r in data["rounds"]] == [1, 2, 3, 4]
    assert data["rounds"][3]["groups"] == [["1st in 3A", "1st in 3B", "2nd in 3B", "2nd in 3A"]]


def test_readable_bracket(capsys):
    code, out, _ = run(capsys, "--players", "8", "--byes", "2")
    assert code == 0
    assert out.splitlines() == [
        "8 players, 2 byes, groups of 4, top 2 of each group advance, ending in a final group.",
        "",
        "Round 1",
        "  1A: 3, 6, 7, top 2 advance",
        "  1B: 4, 5, 8, top 2 advance",
        "",
        "Round 2: seeds 1-2 enter",
        "  2A: 1, 1st in 1B, 2nd in 1B, top 2 advance",
        "  2B: 2, 1st in 1A, 2nd in 1A, top 2 advance",
        "",
        "Round 3 (final)",
        "  3A: 1st in 2A, 1st in 2B, 2nd in 2B, 2nd in 2A",
    ]


def test_final_of_two_and_group_size(capsys):
    code, out, _ = run(
        capsys, "--players", "9", "--group-size", "3", "--advance", "1", "--last", "two", "--json"
    )
    assert code == 0
    data = json.loads(out)
    assert data["rounds"][0]["groups"] == [[1, 6, 7], [2, 5, 8], [3, 4, 9]]
    assert data["rounds"][-1]["groups"] == [["1st in 2A", "2nd in 2A"]]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--players", "24", "--byes", "20"],
            "pss bracket: 24 players with 20 byes leaves 4 to play round 1, which cannot fill the "
            "round-2 groups",
        ),
        (["--players", "5"], "cannot be split into groups of 4 and 3"),
        (["--players", "16", "--byes", "-1"], "0 to 15 byes"),
    ],
)
def test_impossible_numbers_exit_2_with_the_reason(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert message in err


def test_the_command_comes_through_the_commands_entry_point_group():
    from importlib.metadata import entry_points

    from pss_core import cli

    assert [ep.value for ep in entry_points(group=cli.COMMANDS_GROUP) if ep.name == "bracket"] == [
        "pss_formats.finals.cli"
    ]
