"""The standings benchmark's CI smoke (untimed): it builds a tiny tournament, fills the kept
best scores in bulk, and exits non-zero unless pss and the hand-written queries over the raw
scores agree on every player's total and rank."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_run_agrees_with_the_hand_written_query():
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.standings", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "sqlite" in run.stdout
    assert "2000" in run.stdout
