"""The benchmarks still run: ``python -m benchmarks.<name> --quick`` is a smoke run that checks
its own results (the purchases: exactly as many sold as there were entries, in the race and one
after another). Nothing here looks at a time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _quick(name: str, tmp_path: Path, *args: str) -> Any:
    out = tmp_path / f"{name}.json"
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", "--quick", "--json", str(out), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(out.read_text())


def test_startup_runs(tmp_path: Path) -> None:
    result = _quick("startup", tmp_path)
    assert isinstance(result, dict)
    assert result["repeat"] == 1
    assert result["pss_help_ms"] > 0


def test_purchases_race_and_sequential_sell_exactly_the_entries_left(tmp_path: Path) -> None:
    url = os.environ.get("PSS_TEST_DATABASE_URL")
    if not url:
        pytest.skip("needs PostgreSQL (PSS_TEST_DATABASE_URL)")
    results: list[dict[str, Any]] = _quick("purchases", tmp_path, "--pg-url", url)
    (result,) = results
    assert result["race_outcomes"] == {"paid": 5, "sold_out": 45}
    assert result["sequential_outcomes"] == {"paid": 5, "sold_out": 45}
