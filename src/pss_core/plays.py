"""Value objects handed to the ticket, token, game and queue hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from pss_core.models import Entry, EventPlayer, Team, Token, Tournament, TournamentMachine


@attrs.frozen
class TokenScope:
    """A place whose tokens are good in a tournament: the tournament itself or a metatournament."""

    priority: int
    tournament_id: int | None = None
    metatournament_id: int | None = None


@attrs.frozen
class TicketSale:
    """Tickets about to be sold (desk, comp or online)."""

    tournament: Tournament | None
    metatournament_id: int | None
    player: EventPlayer
    team: Team | None
    tickets: int
    tokens: int
    channel: str


@attrs.frozen
class GameStart:
    """A game about to start on ``machine``; ``token`` is the one it will use."""

    tournament: Tournament
    machine: TournamentMachine
    player: EventPlayer
    team: Team | None
    token: Token


@attrs.frozen
class GameResult:
    """A game that just ended: ``score`` is ``None`` for a voided game."""

    tournament: Tournament
    machine: TournamentMachine
    entry: Entry
    token: Token
    score: int | None
    voided: bool = False


@attrs.frozen
class QueueJoin:
    tournament: Tournament
    machine: TournamentMachine
    player: EventPlayer
    team: Team | None


@attrs.frozen
class QueueChange:
    """What happened to a queue: ``action`` is join, leave, bump, insert, advance, clear, freeze."""

    machine: TournamentMachine
    action: str
    player_id: int | None = None
    team_id: int | None = None
