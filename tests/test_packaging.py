"""What ``pip install pss`` gives without extras: pss_core and the built-in formats work, with no
Pyramid, waitress or stripe in the environment, and ``pss serve`` says how to get the web app.

The check builds pss from a copy of this tree into a new virtual environment of its own (no system
site packages), installs only the core dependencies next to it, and runs Python there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Generous: the installs may have to fetch wheels on a loaded machine.
INSTALL_TIMEOUT = 900
RUN_TIMEOUT = 300

#: Python run in the core-only environment: imports every pss_core module and the built-in
#: formats, then prints which of the extras' libraries are importable or were imported.
PROBE = """
import importlib, importlib.util, json, pkgutil, sys
import pss_core, pss_formats
for info in pkgutil.walk_packages(pss_core.__path__, "pss_core."):
    if ".migrations" not in info.name:
        importlib.import_module(info.name)
for info in pkgutil.walk_packages(pss_formats.__path__, "pss_formats."):
    importlib.import_module(info.name)
from pss_core.plugins import get_plugin_manager
pss = get_plugin_manager(load_entrypoints=True)
extras = ["pyramid", "waitress", "stripe", "webtest", "pytest", "psycopg2"]
print(json.dumps({
    "version": pss_core.__version__,
    "formats": sorted(spec.name for spec in pss.formats),
    "installed": [m for m in extras if importlib.util.find_spec(m) is not None],
    "imported": sorted(m for m in sys.modules if m.split(".")[0] in extras or
                       m.split(".")[0] == "pss_web"),
}))
"""


def _run(
    cmd: list[str], *, timeout: int, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env, check=False
    )


@pytest.fixture(scope="module")
def core_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a new environment holding pss and its core dependencies only."""
    base = tmp_path_factory.mktemp("core-only")
    source = base / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    env_dir = base / "venv"
    # No pip of its own: this environment's pip installs into it (``--python``), which saves
    # bootstrapping one there.
    venv.create(env_dir, with_pip=False, system_site_packages=False)
    python = env_dir / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    core = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for cmd in ([*pip, *core], [*pip, "--no-deps", str(source)]):
        done = _run(cmd, timeout=INSTALL_TIMEOUT, cwd=base)
        assert done.returncode == 0, done.stdout + done.stderr
    return python


@pytest.mark.slow
def test_the_core_imports_without_the_extras(core_only: Path) -> None:
    import json

    done = _run([str(core_only), "-c", PROBE], timeout=RUN_TIMEOUT, cwd=core_only.parent)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["installed"] == []  # the environment really lacks the extras
    assert found["imported"] == []
    assert (
        found["version"]
        == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    )
    assert {"herb", "papa"} <= set(found["formats"])


@pytest.mark.slow
def test_the_command_works_and_serve_says_how_to_get_the_web_app(core_only: Path) -> None:
    pss = core_only.parent / "pss"
    formats = _run([str(pss), "formats"], timeout=RUN_TIMEOUT, cwd=core_only.parent)
    assert formats.returncode == 0, formats.stderr
    assert "herb:" in formats.stdout

    serve = _run([str(pss), "serve", "--port", "1"], timeout=RUN_TIMEOUT, cwd=core_only.parent)
    assert serve.returncode == 2
    assert "pip install 'pss[web]'" in serve.stderr
    assert not (core_only.parent / "pss.sqlite").exists()  # refused before touching a database


def test_this_environment_is_not_the_core_only_one() -> None:
    """The probe's empty lists mean something only if the same probe sees the extras here."""
    done = _run([sys.executable, "-c", PROBE], timeout=RUN_TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert "pyramid" in done.stdout
    assert "stripe" in done.stdout
