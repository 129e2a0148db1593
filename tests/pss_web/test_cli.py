"""``pss serve`` comes from pss_web through the ``pss.commands`` entry point group."""

from __future__ import annotations

import subprocess
import sys

from pss_core import cli
from pss_web import cli as web_cli


def test_serve_is_contributed_through_the_entry_point() -> None:
    from importlib.metadata import entry_points

    assert [ep.value for ep in entry_points(group=cli.COMMANDS_GROUP) if ep.name == "serve"] == [
        "pss_web.cli"
    ]
    done = subprocess.run(
        [sys.executable, "-m", "pss_core.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--demo" in done.stdout
    assert "--workers" in done.stdout


def test_with_the_web_libraries_installed_nothing_is_missing() -> None:
    assert web_cli.missing_libraries() == []


def test_without_the_command_the_cli_says_which_extra_brings_it(capsys, monkeypatch) -> None:
    monkeypatch.setattr(cli, "entry_points", lambda group: [])
    assert cli.main(["serve", "--port", "1", "--demo"]) == 2
    assert "pip install 'pss[web]'" in capsys.readouterr().err


def test_an_unknown_argument_is_still_an_error(capsys) -> None:
    import pytest

    with pytest.raises(SystemExit):
        cli.main(["formats", "--no-such-option"])
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


def test_workers_are_at_least_one(capsys) -> None:
    assert cli.main(["--db", "sqlite://", "serve", "--workers", "0"]) == 2
    assert "--workers is at least 1" in capsys.readouterr().err
