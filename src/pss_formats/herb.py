"""HERB (best game) and limited HERB: every game is its own entry; a player's best score on each
machine is ranked against everyone's best there, and the best N machine results are summed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core import hookimpl
from pss_core.contract import (
    Format,
    FormatSpec,
    GameStart,
    OptionSpec,
    Ranking,
    Registry,
    ScoreRow,
    Standings,
    TicketSale,
)
from pss_core.errors import Refused
from pss_core.models import Entry, EntryStatus, Score, Tournament
from pss_formats.common import (
    check_no_teams,
    check_replays,
    games_started,
    owner_filter,
    tokens_held,
)

HERB_OPTIONS = (
    OptionSpec(
        "machines_counted",
        "int",
        4,
        "Machines counted",
        "How many of a player's best machine results are added up.",
        minimum=1,
    ),
    OptionSpec(
        "points_curve",
        "points_curve",
        "papa",
        "Points curve",
        "How a rank on a machine turns into points.",
    ),
    OptionSpec(
        "replay_same_machine",
        "bool",
        True,
        "Replays allowed",
        "Whether a player may play the same machine again to improve their best score.",
    ),
)
LIMITED_OPTIONS = (
    *HERB_OPTIONS,
    OptionSpec(
        "max_entries",
        "int",
        10,
        "Entries per player",
        "The most games (tokens) one player may buy and play in the whole tournament.",
        minimum=1,
    ),
)


def check_no_replay(session: Session, game: GameStart, options: Mapping[str, Any]) -> None:
    """Without replays, an owner may not start a second game on a machine they have a score on."""
    if options["replay_same_machine"]:
        return
    t = game.tournament
    team_id = game.team.id if game.team is not None else None
    player_id = None if team_id is not None else game.player.id
    played = session.scalar(
        select(Score.id)
        .join(Entry, Score.entry_id == Entry.id)
        .where(
            Score.tournament_machine_id == game.machine.id,
            Entry.tournament_id == t.id,
            owner_filter(Entry, player_id, team_id),
            Entry.status != EntryStatus.VOIDED,
        )
        .limit(1)
    )
    if played is not None:
        raise Refused(
            f"{game.player.name} has already played {game.machine.machine.name} in "
            f"{t.name}, and replays are not allowed there.",
            code="machine_already_played",
        )


class Herb(Format):
    """One game per ticket, every game its own entry (the defaults), ranked by best game."""

    title = "HERB (best game)"

    def check_game_start(
        self, session: Session, game: GameStart, options: Mapping[str, Any]
    ) -> None:
        check_no_replay(session, game, options)

    def standings_from_sql(
        self, session: Session, tournament: Tournament, options: Mapping[str, Any], ranking: Ranking
    ) -> Standings:
        return ranking.sql_herb(
            session,
            tournament,
            machines_counted=int(options["machines_counted"]),
            curve=ranking.curve(options),
        )

    def standings_from_rows(
        self, rows: Sequence[ScoreRow], options: Mapping[str, Any], ranking: Ranking
    ) -> Standings:
        check_no_teams(rows, self.title)
        check_replays(rows, bool(options["replay_same_machine"]))
        return self.rank(rows, options, ranking)

    def rank(
        self, rows: Sequence[ScoreRow], options: Mapping[str, Any], ranking: Ranking
    ) -> Standings:
        return ranking.herb(
            rows, machines_counted=int(options["machines_counted"]), curve=ranking.curve(options)
        )


class LimitedHerb(Herb):
    """HERB with a cap on the games one player may buy and play."""

    title = "Limited HERB"

    def check_ticket_sale(
        self, session: Session, sale: TicketSale, options: Mapping[str, Any]
    ) -> None:
        t = sale.tournament
        assert t is not None  # the format is asked about its own tournament's tickets only
        cap = options["max_entries"]
        held = tokens_held(session, t.id, sale.player.id, None)
        if held + sale.tokens > cap:
            left = max(cap - held, 0)
            raise Refused(
                f"{sale.player.name} may have at most {cap} entries in {t.name}; "
                f"they already have {held}, so at most {left} more can be sold.",
                code="entry_cap_reached",
                cap=cap,
                held=held,
            )

    def check_game_start(
        self, session: Session, game: GameStart, options: Mapping[str, Any]
    ) -> None:
        t = game.tournament
        team_id = game.team.id if game.team is not None else None
        player_id = None if team_id is not None else game.player.id
        if games_started(session, t.id, player_id, team_id) >= options["max_entries"]:
            raise Refused(
                f"{game.player.name} has already played all {options['max_entries']} entries "
                f"allowed in {t.name}.",
                code="entry_cap_reached",
            )
        super().check_game_start(session, game, options)

    def standings_from_rows(
        self, rows: Sequence[ScoreRow], options: Mapping[str, Any], ranking: Ranking
    ) -> Standings:
        check_no_teams(rows, self.title)
        check_replays(rows, bool(options["replay_same_machine"]))
        cap = int(options["max_entries"])
        played: Counter[str] = Counter()
        for row in rows:
            played[row.player] += 1
            if played[row.player] > cap:
                raise row.invalid(
                    f"{row.player} has more than {cap} entries, the most one "
                    "player may play in this tournament."
                )
        return self.rank(rows, options, ranking)


@hookimpl
def pss_register_formats(registry: Registry[FormatSpec]) -> None:
    registry.add(
        FormatSpec(
            "herb",
            Herb.title,
            "Buy a ticket, play one game. Your best score on each machine counts; your best "
            "machines are added up.",
            HERB_OPTIONS,
            format=Herb(),
        )
    )
    registry.add(
        FormatSpec(
            "limited_herb",
            LimitedHerb.title,
            "HERB with a cap on how many games each player may play in the whole tournament.",
            LIMITED_OPTIONS,
            format=LimitedHerb(),
        )
    )
