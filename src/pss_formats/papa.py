"""PAPA-style entries: a ticket buys an entry of G games on distinct machines; every game of every
completed entry is ranked on its machine, and a player's standing is their best entry (or best
K)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pss_core import hookimpl
from pss_core.errors import Refused
from pss_core.formats import FormatSpec, OptionSpec, PointsCurve
from pss_core.models import Entry, EntryStatus, Score, Token, Tournament
from pss_core.plays import GameResult, GameStart
from pss_core.registry import Registry
from pss_core.standings import (
    ScoreRow,
    Standings,
    entry_standings,
    points_curve,
    sql_entry_standings,
)
from pss_formats.common import check_no_teams, open_entry, options_of

PAPA_OPTIONS = (
    OptionSpec("games_per_entry", "int", 5, "Games per entry",
               "How many games (on distinct machines) one entry is.", minimum=1, maximum=50),
    OptionSpec("entries_counted", "int", 1, "Entries counted",
               "How many of a player's best entries are summed for their standing.", minimum=1),
    OptionSpec("points_curve", "points_curve", "papa", "Points curve",
               "How a rank on a machine turns into points."),
)
DEFAULTS = {o.name: o.default for o in PAPA_OPTIONS}


@hookimpl
def pss_register_formats(registry: Registry[FormatSpec]) -> None:
    registry.add(FormatSpec(
        "papa", "PAPA-style entries",
        "A ticket is one entry of several games on different machines. An entry counts once "
        "complete; your best entry makes your standing.",
        PAPA_OPTIONS,
    ))


@hookimpl
def pss_tokens_per_ticket(tournament: Tournament, options: Mapping[str, Any]) -> int | None:
    if tournament.format != "papa":
        return None
    return int(options_of(tournament, DEFAULTS)["games_per_entry"])


@hookimpl
def pss_check_game_start(session: Session, game: GameStart) -> None:
    t = game.tournament
    if t.format != "papa":
        return
    entry = open_entry(session, t.id, game.player.id, None)
    if entry is None:
        return
    played = session.scalar(
        select(func.count(Score.id)).where(
            Score.entry_id == entry.id, Score.tournament_machine_id == game.machine.id
        )
    )
    if played:
        raise Refused(
            f"{game.player.name} already played {game.machine.machine.name} in this entry; "
            "each game of an entry must be on a different machine.",
            code="machine_already_in_entry",
        )


@hookimpl
def pss_entry_for_game(session: Session, game: GameStart) -> Entry | None:
    t = game.tournament
    if t.format != "papa":
        return None
    entry = open_entry(session, t.id, game.player.id, None)
    if entry is not None:
        return entry
    games = int(options_of(t, DEFAULTS)["games_per_entry"])
    return Entry(event_id=t.event_id, tournament_id=t.id, player_id=game.player.id,
                 games_allowed=games)


@hookimpl
def pss_game_finished(session: Session, result: GameResult) -> None:
    if result.tournament.format != "papa":
        return
    entry = result.entry
    session.flush()
    games = session.scalar(
        select(func.count(Token.id)).where(
            Token.entry_id == entry.id,
            (Token.used_at.is_not(None)) | (Token.voided_at.is_not(None)),
        )
    ) or 0
    if games >= entry.games_allowed and entry.status == EntryStatus.OPEN:
        entry.status = EntryStatus.COMPLETE
        entry.completed_at = result.token.used_at or result.token.voided_at


# --- standings ------------------------------------------------------------------------------


@hookimpl
def pss_compute_standings(
    session: Session, tournament: Tournament, options: Mapping[str, Any],
    curves: Registry[PointsCurve],
) -> Standings | None:
    if tournament.format != "papa":
        return None
    return sql_entry_standings(
        session, tournament, entries_counted=int(options["entries_counted"]),
        curve=points_curve(curves, options), options=options,
    )


@hookimpl
def pss_standings_from_rows(
    format: FormatSpec, options: Mapping[str, Any], rows: Sequence[ScoreRow],
    curves: Registry[PointsCurve],
) -> Standings | None:
    if format.name != "papa":
        return None
    check_no_teams(rows, format.title)
    # Rows carry no entry status: an entry with all its games is complete, one with fewer is not.
    return entry_standings(
        rows, entries_counted=int(options["entries_counted"]),
        curve=points_curve(curves, options), games_per_entry=int(options["games_per_entry"]),
        format=format.name, options=options,
    )
