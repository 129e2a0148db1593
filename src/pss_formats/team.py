"""Team (split-flipper) play: teams of up to M players compete as one under HERB scoring; tokens
belong to the team, and a team cannot start a game while any member is on another machine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core import hookimpl
from pss_core.errors import Refused
from pss_core.formats import FormatSpec, OptionSpec, PointsCurve
from pss_core.models import Team, TeamMember, Tournament, TournamentMachine
from pss_core.plays import GameStart, QueueJoin
from pss_core.registry import Registry
from pss_core.standings import (
    ScoreRow,
    Standings,
    herb_standings,
    points_curve,
    sql_herb_standings,
)
from pss_formats.common import bad_row, check_replays
from pss_formats.herb import HERB_OPTIONS

TEAM_OPTIONS = (
    OptionSpec("team_size", "int", 2, "Players per team",
               "The most players one team may have.", minimum=1, maximum=8),
    *HERB_OPTIONS,
)


@hookimpl
def pss_register_formats(registry: Registry[FormatSpec]) -> None:
    registry.add(FormatSpec(
        "team", "Team (split-flipper)",
        "Teams play as one under HERB scoring; any member may use the team's tickets.",
        TEAM_OPTIONS, team=True,
    ))


def team_of(session: Session, tournament: Tournament, player_id: int) -> Team | None:
    """The player's team in this tournament's event (a player is on one team per event here)."""
    return session.scalars(
        select(Team).join(TeamMember, TeamMember.team_id == Team.id).where(
            Team.event_id == tournament.event_id, TeamMember.event_player_id == player_id
        ).order_by(Team.id)
    ).first()


@hookimpl
def pss_token_owner(session: Session, tournament: Tournament, player_id: int) -> int | None:
    if tournament.format != "team":
        return None
    team = team_of(session, tournament, player_id)
    if team is None:
        raise Refused("This is a team tournament and the player is not on a team.",
                      code="not_on_team")
    return team.id


def _member_busy(session: Session, team: Team, except_machine_id: int | None) -> str | None:
    member_ids = [m.event_player_id for m in team.members]
    q = select(TournamentMachine).where(TournamentMachine.player_id.in_(member_ids))
    busy = session.scalars(q).first()
    if busy is not None and busy.id != except_machine_id:
        return busy.machine.name
    return None


@hookimpl
def pss_check_game_start(session: Session, game: GameStart) -> None:
    if game.tournament.format != "team" or game.team is None:
        return
    size = int({**{"team_size": 2}, **game.tournament.format_options}["team_size"])
    if len(game.team.members) > size:
        raise Refused(f"Team {game.team.name} has more than {size} players.",
                      code="team_too_large")
    where = _member_busy(session, game.team, game.machine.id)
    if where is not None:
        raise Refused(
            f"A member of team {game.team.name} is playing {where}; the team can start when "
            "they are done.",
            code="team_member_busy",
        )


@hookimpl
def pss_check_queue_join(session: Session, join: QueueJoin) -> None:
    if join.tournament.format != "team" or join.team is None:
        return
    if len(join.team.members) == 0:
        raise Refused(f"Team {join.team.name} has no players.", code="team_empty")


# --- standings ------------------------------------------------------------------------------


@hookimpl
def pss_compute_standings(
    session: Session, tournament: Tournament, options: Mapping[str, Any],
    curves: Registry[PointsCurve],
) -> Standings | None:
    if tournament.format != "team":
        return None
    return sql_herb_standings(
        session, tournament, machines_counted=int(options["machines_counted"]),
        curve=points_curve(curves, options), team=True, options=options,
    )


@hookimpl
def pss_standings_from_rows(
    format: FormatSpec, options: Mapping[str, Any], rows: Sequence[ScoreRow],
    curves: Registry[PointsCurve],
) -> Standings | None:
    if format.name != "team":
        return None
    size = int(options["team_size"])
    team_of_player: dict[str, str] = {}
    members: dict[str, set[str]] = {}
    for row in rows:
        if row.team is None:
            raise bad_row(row, f"{row.player}'s score names no team; team scores need a 'team' "
                               "column.")
        team = team_of_player.setdefault(row.player, row.team)
        if team != row.team:
            raise bad_row(row, f"{row.player} plays for {team}, not {row.team}; a player is on "
                               "one team.")
        members.setdefault(row.team, set()).add(row.player)
        if len(members[row.team]) > size:
            raise bad_row(row, f"Team {row.team} has more than {size} players.")
    check_replays(rows, bool(options["replay_same_machine"]))
    return herb_standings(
        rows, machines_counted=int(options["machines_counted"]),
        curve=points_curve(curves, options), format=format.name, options=options, team=True,
    )
