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
    #: The tournament whose tokens these are, or ``None``.
    tournament_id: int | None = None
    #: The metatournament whose tokens these are, or ``None``.
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
    #: How many tickets are being sold.
    tickets: int
    #: The tokens (games) the tickets make.
    tokens: int
    #: ``desk``, ``comp`` or ``online``.
    channel: str


@attrs.frozen
class GameStart:
    """A game about to start on ``machine``; ``token`` is the one it will use."""

    #: The tournament the game is in.
    tournament: Tournament
    #: The machine, locked.
    machine: TournamentMachine
    #: Who steps up to the machine.
    player: EventPlayer
    #: The team the game is for (team formats), otherwise ``None``.
    team: Team | None
    #: The token the game will use (the oldest usable one).
    token: Token


@attrs.frozen
class GameResult:
    """A game that just ended: ``score`` is ``None`` for a voided game."""

    #: The tournament the game was in.
    tournament: Tournament
    #: The machine it was played on.
    machine: TournamentMachine
    #: The entry the game belonged to (from :meth:`~pss_core.contract.Format.entry_for_game`).
    entry: Entry
    #: The token it used (``used_at`` or ``voided_at`` set).
    token: Token
    #: The score recorded; ``None`` for a voided game.
    score: int | None
    #: The game was voided rather than scored.
    voided: bool = False


@attrs.frozen
class QueueJoin:
    """A player (or a team, in team formats) about to join ``machine``'s queue."""

    #: The tournament of the machine.
    tournament: Tournament
    #: The machine whose queue it is.
    machine: TournamentMachine
    #: Who joins (in team play, the member who asked).
    player: EventPlayer
    #: The team that joins (team formats), otherwise ``None``.
    team: Team | None


@attrs.frozen
class QueueChange:
    """What happened to a queue."""

    #: The machine whose queue changed.
    machine: TournamentMachine
    #: ``join``, ``insert`` (at the head), ``leave``, ``bump``, ``advance`` (the head started),
    #: ``clear``, ``freeze`` (machine down) or ``unfreeze``.
    action: str
    #: Whose place it was (``None`` for changes to the whole queue).
    player_id: int | None = None
    #: Whose place it was, in team play.
    team_id: int | None = None
