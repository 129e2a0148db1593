"""Team (split-flipper) play: teams of up to M players compete as one under HERB scoring; tokens
belong to the team, and a team cannot start a game while any member is on another machine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core import hookimpl
from pss_core.contract import (
    FormatSpec,
    GameStart,
    OptionSpec,
    QueueJoin,
    Ranking,
    Registry,
    ScoreRow,
    Standings,
)
from pss_core.errors import Refused
from pss_core.models import EventPlayer, Team, TeamMember, Tournament, TournamentMachine
from pss_formats.common import check_replays
from pss_formats.herb import HERB_OPTIONS, Herb, check_no_replay

TEAM_OPTIONS = (
    OptionSpec(
        "team_size",
        "int",
        2,
        "Players per team",
        "The most players one team may have.",
        minimum=1,
        maximum=8,
    ),
    *HERB_OPTIONS,
)


def team_of(session: Session, tournament: Tournament, player_id: int) -> Team | None:
    """The player's team in this tournament's event (a player is on one team per event here)."""
    return session.scalars(
        select(Team)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .where(Team.event_id == tournament.event_id, TeamMember.event_player_id == player_id)
        .order_by(Team.id)
    ).first()


def _member_busy(session: Session, team: Team, except_machine_id: int | None) -> str | None:
    member_ids = [m.event_player_id for m in team.members]
    q = select(TournamentMachine).where(TournamentMachine.player_id.in_(member_ids))
    busy = session.scalars(q).first()
    if busy is not None and busy.id != except_machine_id:
        return busy.machine.name
    return None


class TeamHerb(Herb):
    """HERB for teams: the team owns the tokens and is ranked; one game of a team at a time."""

    title = "Team (split-flipper)"

    def token_owner(
        self, session: Session, tournament: Tournament, player: EventPlayer
    ) -> int | None:
        team = team_of(session, tournament, player.id)
        if team is None:
            raise Refused(
                "This is a team tournament and the player is not on a team.", code="not_on_team"
            )
        return team.id

    def check_game_start(
        self, session: Session, game: GameStart, options: Mapping[str, Any]
    ) -> None:
        if game.team is not None:
            size = int(options["team_size"])
            if len(game.team.members) > size:
                raise Refused(
                    f"Team {game.team.name} has more than {size} players.", code="team_too_large"
                )
            where = _member_busy(session, game.team, game.machine.id)
            if where is not None:
                raise Refused(
                    f"A member of team {game.team.name} is playing {where}; the team can start "
                    "when they are done.",
                    code="team_member_busy",
                )
        check_no_replay(session, game, options)

    def check_queue_join(
        self, session: Session, join: QueueJoin, options: Mapping[str, Any]
    ) -> None:
        if join.team is not None and len(join.team.members) == 0:
            raise Refused(f"Team {join.team.name} has no players.", code="team_empty")

    def standings_from_sql(
        self, session: Session, tournament: Tournament, options: Mapping[str, Any], ranking: Ranking
    ) -> Standings:
        return ranking.sql_herb(
            session,
            tournament,
            machines_counted=int(options["machines_counted"]),
            curve=ranking.curve(options),
            team=True,
        )

    def standings_from_rows(
        self, rows: Sequence[ScoreRow], options: Mapping[str, Any], ranking: Ranking
    ) -> Standings:
        size = int(options["team_size"])
        team_of_player: dict[str, str] = {}
        members: dict[str, set[str]] = {}
        for row in rows:
            if row.team is None:
                raise row.invalid(
                    f"{row.player}'s score names no team; team scores need a 'team' column."
                )
            team = team_of_player.setdefault(row.player, row.team)
            if team != row.team:
                raise row.invalid(
                    f"{row.player} plays for {team}, not {row.team}; a player is on one team."
                )
            members.setdefault(row.team, set()).add(row.player)
            if len(members[row.team]) > size:
                raise row.invalid(f"Team {row.team} has more than {size} players.")
        check_replays(rows, bool(options["replay_same_machine"]))
        return ranking.herb(
            rows,
            machines_counted=int(options["machines_counted"]),
            curve=ranking.curve(options),
            team=True,
        )


@hookimpl
def pss_register_formats(registry: Registry[FormatSpec]) -> None:
    registry.add(
        FormatSpec(
            "team",
            TeamHerb.title,
            "Teams play as one under HERB scoring; any member may use the team's tickets.",
            TEAM_OPTIONS,
            team=True,
            format=TeamHerb(),
        )
    )
