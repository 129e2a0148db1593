"""``pss export``: a tournament's standings, scores or IFPA results, or a whole event as a zip,
written exactly as the web downloads are; scores stream with a progress bar on standard error."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, TextIO

from pss_core.errors import DomainError

EXIT_BAD_INPUT = 2
KINDS = ("results", "results-json", "scores", "ifpa")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a tournament's results or scores, or an event as a zip",
        description=(
            "Write one tournament's results (standings CSV), results-json, scores (every game "
            "as CSV) or ifpa (the IFPA results template), or with --zip every tournament of the "
            "event. Output goes to standard output unless -o names a file."
        ),
    )
    parser.add_argument("event", metavar="EVENT", help="the event's slug")
    parser.add_argument(
        "tournament", metavar="TOURNAMENT", nargs="?", help="the tournament's slug (not with --zip)"
    )
    parser.add_argument(
        "--what", choices=KINDS, default="results", help="what to export (default: results)"
    )
    parser.add_argument(
        "--zip", action="store_true", help="everything of the event in one zip (needs -o)"
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (it is shown only on a terminal anyway)",
    )
    parser.set_defaults(func=cmd_export)


def _fail(message: str) -> int:
    print(f"pss export: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


class ProgressBar:
    """``[#####.....] 5,000/10,000 scores`` on one line of ``stream``, redrawn per batch."""

    def __init__(self, total: int, stream: TextIO, width: int = 30) -> None:
        self.total, self.done, self.stream, self.width = total, 0, stream, width

    def __call__(self, n: int) -> None:
        self.done += n
        filled = self.width * self.done // self.total if self.total else self.width
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (self.width - filled)}] {self.done:,}/{self.total:,} scores"
        )
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def cmd_export(args: argparse.Namespace) -> int:
    from pss_core import db
    from pss_core.services import setup

    if args.zip and not args.output:
        return _fail("--zip writes a binary file: give it -o FILE.zip.")
    if not args.zip and not args.tournament:
        return _fail("name a tournament, or give --zip for the whole event.")
    engine = db.make_engine(args.db)
    with db.session_scope(engine) as session:
        event = setup.event_by_slug(session, args.event)
        if event is None:
            return _fail(f"there is no event {args.event!r}.")
        try:
            if args.zip:
                return _write_zip(session, event, args.output)
            tournament = next((t for t in event.tournaments if t.slug == args.tournament), None)
            if tournament is None:
                return _fail(f"{event.name} has no tournament {args.tournament!r}.")
            return _write_one(session, event, tournament, args)
        except DomainError as exc:
            return _fail(exc.message)


def _write_zip(session: Any, event: Any, path: str) -> int:
    from pss_core import exports
    from pss_core.plugins import default_pss

    data = exports.event_zip(session, default_pss(), event)
    with open(path, "wb") as handle:
        handle.write(data)
    print(f"pss export: wrote {path} ({len(data):,} bytes)", file=sys.stderr)
    return 0


def _write_one(session: Any, event: Any, tournament: Any, args: argparse.Namespace) -> int:
    from pss_core import exports
    from pss_core.plugins import default_pss

    exports.check_exportable(tournament)
    out: TextIO
    # stdout is not ours to close; a named file is closed in the finally below.
    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout  # noqa: SIM115
    try:
        if args.what == "scores":
            bar: ProgressBar | None = None
            progress: Callable[[int], None] | None = None
            if not args.no_progress and sys.stderr.isatty():
                bar = ProgressBar(exports.count_scores(session, tournament), sys.stderr)
                progress = bar
            for line in exports.scores_lines(session, tournament, progress=progress):
                out.write(line)
            if bar is not None:
                bar.finish()
            return 0
        pss = default_pss()
        standings = exports.tournament_standings(session, pss, tournament)
        if args.what == "results":
            out.write(exports.standings_csv(standings))
        elif args.what == "results-json":
            out.write(exports.standings_json(event, tournament, standings))
        else:
            order = exports.finishing_order(session, tournament, standings)
            out.write(order.csv())
            for person in order.left_out:
                print(
                    f"pss export: left out #{person.number} {person.name}: {person.reason}",
                    file=sys.stderr,
                )
        return 0
    finally:
        if out is not sys.stdout:
            out.close()
