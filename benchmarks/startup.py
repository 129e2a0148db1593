"""How long does ``pss --help`` take to start? Interleaved in one run, each a fresh process:

* ``python``: the bare interpreter (``python -c pass``), the floor nothing can go below;
* ``pss --help``: the installed ``pss`` script building its whole parser (every subcommand,
  the ones contributed through the ``pss.commands`` entry points too) and printing the help.

Reported: the median and best wall time of each, and pss / python. The goal is ``pss --help``
under 0.3 s.

Run:  .venv/bin/python -m benchmarks.startup
      .venv/bin/python -m benchmarks.startup --quick      (a smoke run, not a measurement)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def pss_command() -> list[str]:
    script = Path(sys.executable).with_name("pss")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pss_core.cli"]


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def run(repeat: int) -> dict[str, float]:
    contenders = {
        "python": [sys.executable, "-c", "pass"],
        "pss --help": [*pss_command(), "--help"],
    }
    for command in contenders.values():  # warm the file cache
        timed(command)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, command in contenders.items():
            times[name].append(timed(command))
    python = statistics.median(times["python"])
    pss = statistics.median(times["pss --help"])
    return {
        "repeat": repeat,
        "python_ms": round(python * 1000, 1),
        "python_best_ms": round(min(times["python"]) * 1000, 1),
        "pss_help_ms": round(pss * 1000, 1),
        "pss_help_best_ms": round(min(times["pss --help"]) * 1000, 1),
        "pss_over_python": round(pss / python, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.startup", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--quick", action="store_true", help="one run of each")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    result = run(1 if args.quick else args.repeat)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"pss --help {result['pss_help_ms']} ms (best {result['pss_help_best_ms']}) vs "
        f"python -c pass {result['python_ms']} ms (best {result['python_best_ms']}): "
        f"x{result['pss_over_python']}, median of {result['repeat']}; load {load}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
