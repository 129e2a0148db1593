"""The values handed to a format's methods and to the ticket, token, game and queue hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from pss_core.models import Entry, EventPlayer, Team, Token, Tournament, TournamentMachine


@attrs.frozen
class TokenScope:
    """A place whose tokens are good in a tournament: the tournament itself or a metatournament
    (one of the two ids is set)."""

    #: Lower priorities are used first; the tournament's own tokens have priority 0.
    priority: int
    tournament_id: int | None = None
    metatournament_id: int | None = None


@attrs.frozen
class TicketSale:
    """Tickets about to be sold (desk, comp or online)."""

    #: The tournament the tickets are for; ``None`` for metatournament tickets.
    tournament: Tournament | None
    #: The metatournament the tickets are for; ``None`` for tournament tickets.
    metatournament_id: int | None
    #: The buyer.
    player: EventPlayer
    #: The team whose tokens these are (team formats), otherwise ``None``.
    team: Team | None
    tickets: int
    #: The tokens (games) the tickets make.
    tokens: int
    #: ``desk``, ``comp`` or ``online``.
    channel: str


@attrs.frozen
class GameStart:
    """A game about to start on ``machine``; ``token`` is the one it will use."""

    tournament: Tournament
    machine: TournamentMachine
    #: Who steps up to the machine.
    player: EventPlayer
    #: The team the game is for (team formats), otherwise ``None``.
    team: Team | None
    token: Token


@attrs.frozen
class GameResult:
    """A game that just ended: ``score`` is ``None`` for a voided game."""

    tournament: Tournament
    machine: TournamentMachine
    #: The entry the game belonged to (from :meth:`~pss_core.contract.Format.entry_for_game`).
    entry: Entry
    token: Token
    score: int | None
    #: The game was voided rather than scored.
    voided: bool = False


@attrs.frozen
class QueueJoin:
    """A player (or a team, in team formats) about to join ``machine``'s queue."""

    tournament: Tournament
    machine: TournamentMachine
    player: EventPlayer
    team: Team | None


@attrs.frozen
class QueueChange:
    """What happened to a queue."""

    machine: TournamentMachine
    #: ``join``, ``insert`` (at the head), ``leave``, ``bump``, ``advance`` (the head started),
    #: ``clear``, ``freeze`` (machine down) or ``unfreeze``.
    action: str
    #: Whose place it was (``None`` for changes to the whole queue).
    player_id: int | None = None
    team_id: int | None = None
