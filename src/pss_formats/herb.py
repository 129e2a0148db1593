"""HERB (best game) and limited HERB: every game is its own entry; a player's best score on each
machine is ranked against everyone's best there, and the best N machine results are summed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core import hookimpl
from pss_core.errors import Refused
from pss_core.formats import FormatSpec, OptionSpec, PointsCurve
from pss_core.models import Entry, EntryStatus, Score, Tournament
from pss_core.plays import GameResult, GameStart, TicketSale
from pss_core.registry import Registry
from pss_core.standings import (
    ScoreRow,
    Standings,
    herb_standings,
    points_curve,
    sql_herb_standings,
)
from pss_formats.common import (
    bad_row,
    check_no_teams,
    check_replays,
    games_started,
    options_of,
    owner_filter,
    tokens_held,
)

HERB_FORMATS = ("herb", "limited_herb", "team")

HERB_OPTIONS = (
    OptionSpec("machines_counted", "int", 4, "Machines counted",
               "How many of a player's best machine results are added up.", minimum=1),
    OptionSpec("points_curve", "points_curve", "papa", "Points curve",
               "How a rank on a machine turns into points."),
    OptionSpec("replay_same_machine", "bool", True, "Replays allowed",
               "Whether a player may play the same machine again to improve their best score."),
)
LIMITED_OPTIONS = (
    *HERB_OPTIONS,
    OptionSpec("max_entries", "int", 10, "Entries per player",
               "The most games (tokens) one player may buy and play in the whole tournament.",
               minimum=1),
)
DEFAULTS = {o.name: o.default for o in LIMITED_OPTIONS}


@hookimpl
def pss_register_formats(registry: Registry[FormatSpec]) -> None:
    registry.add(FormatSpec(
        "herb", "HERB (best game)",
        "Buy a ticket, play one game. Your best score on each machine counts; your best "
        "machines are added up.",
        HERB_OPTIONS,
    ))
    registry.add(FormatSpec(
        "limited_herb", "Limited HERB",
        "HERB with a cap on how many games each player may play in the whole tournament.",
        LIMITED_OPTIONS,
    ))


@hookimpl
def pss_tokens_per_ticket(tournament: Tournament, options: Mapping[str, Any]) -> int | None:
    return 1 if tournament.format in HERB_FORMATS else None


@hookimpl
def pss_check_ticket_sale(session: Session, sale: TicketSale) -> None:
    t = sale.tournament
    if t is None or t.format != "limited_herb":
        return
    cap = options_of(t, DEFAULTS)["max_entries"]
    held = tokens_held(session, t.id, sale.player.id, None)
    if held + sale.tokens > cap:
        left = max(cap - held, 0)
        raise Refused(
            f"{sale.player.name} may have at most {cap} entries in {t.name}; "
            f"they already have {held}, so at most {left} more can be sold.",
            code="entry_cap_reached", cap=cap, held=held,
        )


@hookimpl
def pss_check_game_start(session: Session, game: GameStart) -> None:
    t = game.tournament
    if t.format not in HERB_FORMATS:
        return
    opts = options_of(t, DEFAULTS)
    team_id = game.team.id if game.team is not None else None
    player_id = None if team_id is not None else game.player.id
    if t.format == "limited_herb":
        started = games_started(session, t.id, player_id, team_id)
        if started >= opts["max_entries"]:
            raise Refused(
                f"{game.player.name} has already played all {opts['max_entries']} entries "
                f"allowed in {t.name}.",
                code="entry_cap_reached",
            )
    if not opts["replay_same_machine"]:
        played = session.scalar(
            select(Score.id).join(Entry, Score.entry_id == Entry.id).where(
                Score.tournament_machine_id == game.machine.id,
                Entry.tournament_id == t.id,
                owner_filter(Entry, player_id, team_id),
                Entry.status != EntryStatus.VOIDED,
            ).limit(1)
        )
        if played is not None:
            raise Refused(
                f"{game.player.name} has already played {game.machine.machine.name} in "
                f"{t.name}, and replays are not allowed there.",
                code="machine_already_played",
            )


@hookimpl
def pss_entry_for_game(session: Session, game: GameStart) -> Entry | None:
    t = game.tournament
    if t.format not in HERB_FORMATS:
        return None
    # Every HERB game is its own one-game entry.
    if game.team is not None:
        return Entry(event_id=t.event_id, tournament_id=t.id, team_id=game.team.id,
                     games_allowed=1)
    return Entry(event_id=t.event_id, tournament_id=t.id, player_id=game.player.id,
                 games_allowed=1)


@hookimpl
def pss_game_finished(session: Session, result: GameResult) -> None:
    if result.tournament.format not in HERB_FORMATS:
        return
    entry = result.entry
    if result.voided:
        entry.status = EntryStatus.VOIDED
        entry.voided_at = result.token.voided_at
    else:
        entry.status = EntryStatus.COMPLETE
        entry.completed_at = result.token.used_at


# --- standings ------------------------------------------------------------------------------

#: The HERB formats this module ranks (the team format ranks itself, with the same engine).
RANKED_HERE = ("herb", "limited_herb")


@hookimpl
def pss_compute_standings(
    session: Session, tournament: Tournament, options: Mapping[str, Any],
    curves: Registry[PointsCurve],
) -> Standings | None:
    if tournament.format not in RANKED_HERE:
        return None
    return sql_herb_standings(
        session, tournament, machines_counted=int(options["machines_counted"]),
        curve=points_curve(curves, options), options=options,
    )


@hookimpl
def pss_standings_from_rows(
    format: FormatSpec, options: Mapping[str, Any], rows: Sequence[ScoreRow],
    curves: Registry[PointsCurve],
) -> Standings | None:
    if format.name not in RANKED_HERE:
        return None
    check_no_teams(rows, format.title)
    check_replays(rows, bool(options["replay_same_machine"]))
    if format.name == "limited_herb":
        cap = int(options["max_entries"])
        played: Counter[str] = Counter()
        for row in rows:
            played[row.player] += 1
            if played[row.player] > cap:
                raise bad_row(row, f"{row.player} has more than {cap} entries, the most one "
                                   "player may play in this tournament.")
    return herb_standings(
        rows, machines_counted=int(options["machines_counted"]),
        curve=points_curve(curves, options), format=format.name, options=options,
    )
