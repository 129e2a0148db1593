"""``pss standings``: standings for a CSV of scores in any installed format, without a database."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Any

from pss_core.errors import DomainError

EXIT_BAD_INPUT = 2


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "standings",
        help="compute standings from a CSV of scores (no database)",
        description=(
            "Read SCORES.csv (a header naming player, machine and score; entry for PAPA-style, "
            "team for team play) and print rank,player,points, best first. Scores may be grouped "
            "in threes (1,234,567 in a quoted field, or 1.234.567). A bad row stops with its line "
            "number and exit status 2, and no standings are printed."
        ),
    )
    parser.add_argument(
        "--format",
        required=True,
        dest="format_name",
        metavar="NAME",
        help="the format (see `pss formats`)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        dest="options",
        metavar="OPTION=VALUE",
        help="a format option; repeat for more",
    )
    parser.add_argument(
        "--cut",
        type=int,
        default=None,
        metavar="N",
        help="mark the qualifying cut at N (ties at the line qualify)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the full breakdown as JSON instead"
    )
    parser.add_argument("scores", metavar="SCORES.csv", help="the scores file ('-' reads stdin)")
    parser.set_defaults(func=cmd_standings)


def _fail(message: str) -> int:
    print(f"pss standings: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def cmd_standings(args: argparse.Namespace) -> int:
    from pss_core.plugins import default_pss
    from pss_core.standings import read_score_rows, standings_from_rows

    options: dict[str, str] = {}
    for item in args.options:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            return _fail(f"--set takes OPTION=VALUE, not {item!r}.")
        options[name.strip()] = value
    if args.cut is not None and args.cut < 0:
        return _fail("--cut cannot be negative.")
    source = "<stdin>" if args.scores == "-" else args.scores
    pss = default_pss()
    try:
        spec = pss.formats[args.format_name]
        resolved = spec.resolve_options(options)
        for opt in spec.options:
            if opt.type == "points_curve":
                pss.curves[str(resolved[opt.name])]
        if args.scores == "-":
            rows = read_score_rows(sys.stdin, team=spec.team)
        else:
            with open(args.scores, encoding="utf-8-sig", newline="") as handle:
                rows = read_score_rows(handle, team=spec.team)
        standings = standings_from_rows(pss, spec.name, rows, options=resolved, cut=args.cut)
    except OSError as exc:
        return _fail(f"cannot read {args.scores}: {exc.strerror or exc}.")
    except UnicodeDecodeError:
        return _fail(f"{args.scores} is not a UTF-8 text file.")
    except DomainError as exc:
        line = exc.details.get("line")
        where = f"{source}: " if line is not None else ""
        return _fail(f"{where}{exc.message}")
    for note in standings.notes:
        print(f"pss standings: note: {note}", file=sys.stderr)
    if args.json:
        json.dump(standings.as_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(("rank", "player", "points"))
        writer.writerows(standings.csv_rows())
    return 0
