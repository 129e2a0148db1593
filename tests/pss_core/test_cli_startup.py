"""``pss --help`` builds the whole parser — every subcommand, the entry points' too — without
importing the database layer, the web framework, the password hasher or the job engine: each
command imports what it needs when it runs. (How long it takes is measured by
``benchmarks/startup.py``, not here.)"""

from __future__ import annotations

import json
import subprocess
import sys

#: Libraries none of which ``pss --help`` may load.
HEAVY = (
    "sqlalchemy",
    "pyramid",
    "argon2",
    "procrastinate",
    "psycopg",
    "psycopg2",
    "jinja2",
    "webob",
)

PROBE = """
import contextlib, io, json, sys
from pss_core.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main(["--help"])
    except SystemExit:
        pass
print(json.dumps({"help": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def _help_in_a_fresh_interpreter() -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_pss_help_imports_nothing_heavy() -> None:
    seen = _help_in_a_fresh_interpreter()
    modules = seen["modules"]
    assert isinstance(modules, list)
    loaded = sorted({m.split(".")[0] for m in modules} & set(HEAVY))
    assert loaded == []
    # The help is the whole one: the built-in commands and the contributed ones alike.
    help_text = seen["help"]
    assert isinstance(help_text, str)
    for command in ("initdb", "worker", "admin", "backup", "serve", "bracket"):
        assert command in help_text


def test_the_probe_sees_a_heavy_import() -> None:
    """The negative control: a command that runs does load the database layer, and the probe
    notices it."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, json; from pss_core import cli; cli._engine(cli.build_parser()"
            ".parse_args(['--db', 'sqlite://', 'initdb'])); print(json.dumps(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "sqlalchemy" in json.loads(done.stdout)
