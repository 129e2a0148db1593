"""PAPA-style entries: a ticket buys an entry of G games on distinct machines; every game of every
completed entry is ranked on its machine, and a player's standing is their best entry (or best
K)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pss_core import hookimpl
from pss_core.contract import (
    Format,
    FormatSpec,
    GameResult,
    GameStart,
    OptionSpec,
    QueueJoin,
    Ranking,
    Registry,
    ScoreRow,
    Standings,
)
from pss_core.errors import Refused
from pss_core.models import (
    Entry,
    EntryStatus,
    EventPlayer,
    Score,
    Token,
    Tournament,
    TournamentMachine,
)
from pss_formats.common import check_no_teams, open_entry

PAPA_OPTIONS = (
    OptionSpec(
        "games_per_entry",
        "int",
        5,
        "Games per entry",
        "How many games (on distinct machines) one entry is.",
        minimum=1,
        maximum=50,
    ),
    OptionSpec(
        "entries_counted",
        "int",
        1,
        "Entries counted",
        "How many of a player's best entries are summed for their standing.",
        minimum=1,
    ),
    OptionSpec(
        "points_curve",
        "points_curve",
        "papa",
        "Points curve",
        "How a rank on a machine turns into points.",
    ),
)


class Papa(Format):
    """A ticket is an entry of ``games_per_entry`` games on distinct machines; an entry is
    complete after its last game."""

    title = "PAPA-style entries"

    def tokens_per_ticket(self, tournament: Tournament, options: Mapping[str, Any]) -> int:
        return int(options["games_per_entry"])

    def check_game_start(
        self, session: Session, game: GameStart, options: Mapping[str, Any]
    ) -> None:
        _refuse_if_played(session, game.tournament, game.machine, game.player)

    def check_queue_join(
        self, session: Session, join: QueueJoin, options: Mapping[str, Any]
    ) -> None:
        # Waiting for a machine the open entry already played would end in a start the
        # scorekeeper cannot make, holding up everyone behind.
        _refuse_if_played(session, join.tournament, join.machine, join.player)

    def entry_for_game(
        self, session: Session, game: GameStart, options: Mapping[str, Any]
    ) -> Entry:
        t = game.tournament
        entry = open_entry(session, t.id, game.player.id, None)
        if entry is not None:
            return entry
        return Entry(
            event_id=t.event_id,
            tournament_id=t.id,
            player_id=game.player.id,
            games_allowed=int(options["games_per_entry"]),
        )

    def game_finished(
        self, session: Session, result: GameResult, options: Mapping[str, Any]
    ) -> None:
        entry = result.entry
        session.flush()
        games = (
            session.scalar(
                select(func.count(Token.id)).where(
                    Token.entry_id == entry.id,
                    (Token.used_at.is_not(None)) | (Token.voided_at.is_not(None)),
                )
            )
            or 0
        )
        if games >= entry.games_allowed and entry.status == EntryStatus.OPEN:
            entry.status = EntryStatus.COMPLETE
            entry.completed_at = result.token.used_at or result.token.voided_at

    def standings_from_sql(
        self, session: Session, tournament: Tournament, options: Mapping[str, Any], ranking: Ranking
    ) -> Standings:
        return ranking.sql_entries(
            session,
            tournament,
            entries_counted=int(options["entries_counted"]),
            curve=ranking.curve(options),
        )

    def standings_from_rows(
        self, rows: Sequence[ScoreRow], options: Mapping[str, Any], ranking: Ranking
    ) -> Standings:
        check_no_teams(rows, self.title)
        # Rows carry no entry status: an entry with all its games is complete, one with fewer
        # is not.
        return ranking.entries(
            rows,
            entries_counted=int(options["entries_counted"]),
            curve=ranking.curve(options),
            games_per_entry=int(options["games_per_entry"]),
        )


def _refuse_if_played(
    session: Session, tournament: Tournament, machine: TournamentMachine, player: EventPlayer
) -> None:
    entry = open_entry(session, tournament.id, player.id, None)
    if entry is None:
        return
    played = session.scalar(
        select(func.count(Score.id)).where(
            Score.entry_id == entry.id, Score.tournament_machine_id == machine.id
        )
    )
    if played:
        raise Refused(
            f"{player.name} already played {machine.machine.name} in this entry; "
            "each game of an entry must be on a different machine.",
            code="machine_already_in_entry",
        )


@hookimpl
def pss_register_formats(registry: Registry[FormatSpec]) -> None:
    registry.add(
        FormatSpec(
            "papa",
            Papa.title,
            "A ticket is one entry of several games on different machines. An entry counts once "
            "complete; your best entry makes your standing.",
            PAPA_OPTIONS,
            format=Papa(),
        )
    )
