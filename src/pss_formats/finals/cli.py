"""``pss bracket``: print a finals bracket from the numbers alone, without a database."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pss_core.errors import DomainError

EXIT_BAD_INPUT = 2


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bracket",
        help="print a finals bracket for N qualifiers (no database)",
        description=(
            "Print the finals bracket for N qualifiers: round 1 lists qualifying seeds, later "
            "rounds name byes by seed and the others by the group they come from (2nd in 1A). "
            "Impossible numbers stop with a message and exit status 2."
        ),
    )
    parser.add_argument(
        "--players", type=int, required=True, metavar="N", help="how many qualify for the finals"
    )
    parser.add_argument(
        "--byes",
        type=int,
        default=0,
        metavar="B",
        help="seeds 1..B skip round 1 and enter in round 2 (default 0)",
    )
    parser.add_argument(
        "--group-size",
        type=int,
        default=4,
        metavar="S",
        help="players per group; one fewer where the numbers force it (default 4)",
    )
    parser.add_argument(
        "--advance",
        type=int,
        default=2,
        metavar="K",
        help="how many advance from each group (default 2)",
    )
    parser.add_argument(
        "--last",
        choices=("group", "two"),
        default="group",
        help="end in one final group, or a final of 2 (default group)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='print {"rounds": [{"number": 1, "groups": [[9, 16, 17, 24], ...]}]}',
    )
    parser.set_defaults(func=cmd_bracket)


def cmd_bracket(args: argparse.Namespace) -> int:
    from pss_formats.finals.bracket import build_bracket

    try:
        bracket = build_bracket(
            args.players,
            args.byes,
            group_size=args.group_size,
            advance=args.advance,
            last=args.last,
        )
    except DomainError as exc:
        print(f"pss bracket: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        json.dump(bracket.as_json(), sys.stdout)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(bracket.describe())
    return 0
