"""Formats: what a format plugin registers, a :class:`FormatSpec` holding a :class:`Format`
object.

pss calls the methods of the tournament's own format only, so a format never checks whether a
tournament is its own. Every method has a default that behaves like HERB; a minimal format is a
name, its options and :meth:`Format.standings_from_rows`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from pss_core.contract.options import OptionSpec, find_option, resolve_options, store_options

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pss_core.contract.plays import GameResult, GameStart, QueueJoin, TicketSale
    from pss_core.contract.standings import Ranking, ScoreRow, Standings
    from pss_core.models import Entry, EventPlayer, Tournament

# The models (SQLAlchemy) are imported where a default method needs them, not with the contract:
# ``import pss_core`` (and so ``pss --help``) stays free of the ORM.


class Format:
    """The behaviour of a tournament format. Subclass it and override what your format does
    differently; pss calls these methods only for tournaments of this format.

    ``options`` is always the tournament's resolved options: the format's defaults overlaid with
    what the organizer chose, each value parsed. Methods that refuse raise
    :class:`pss_core.errors.Refused` with a code and a message for the desk.
    """

    def check_options(self, options: Mapping[str, Any], machines: Sequence[str]) -> None:
        """Called when an organizer saves the tournament's options (creating it or editing
        them), after each value was parsed by its :class:`OptionSpec`: ``options`` holds every
        option together, ``machines`` the names of the tournament's machines (none yet when it
        is being created). Raise :class:`pss_core.errors.InvalidInput` for a combination the
        format cannot play ("Entries counted cannot exceed games per entry"); nothing is saved
        then. Default: accept. pss itself already refused ``per_machine`` values for machines
        the tournament does not have."""

    def tokens_per_ticket(self, tournament: Tournament, options: Mapping[str, Any]) -> int:
        """Called when a ticket is priced or sold: how many tokens (games) one ticket makes.
        Default: 1, as in HERB. A PAPA-style format returns its games per entry."""
        return 1

    def token_owner(
        self, session: Session, tournament: Tournament, player: EventPlayer
    ) -> int | None:
        """Called when ``player`` buys, queues or plays: the id of the team whose tokens they use,
        or ``None`` for their own tokens (the default). Team formats raise ``Refused`` for a
        player on no team."""
        return None

    def check_ticket_sale(
        self, session: Session, sale: TicketSale, options: Mapping[str, Any]
    ) -> None:
        """Called before tickets are sold, under the buyer's lock, before the
        ``pss_check_ticket_sale`` hook. Raise ``Refused`` to refuse (an entry cap reached).
        Default: allow."""

    def check_game_start(
        self, session: Session, game: GameStart, options: Mapping[str, Any]
    ) -> None:
        """Called before a game starts, with the machine and occupant locked, before the
        ``pss_check_game_start`` hook. Raise ``Refused`` to stop it (a machine already played).
        Default: allow."""

    def check_queue_join(
        self, session: Session, join: QueueJoin, options: Mapping[str, Any]
    ) -> None:
        """Called before a player or team joins a machine's queue, after pss's own checks and
        before the ``pss_check_queue_join`` hook. Raise ``Refused`` to refuse. Default: allow."""

    def entry_for_game(
        self, session: Session, game: GameStart, options: Mapping[str, Any]
    ) -> Entry:
        """Called when a game starts: the entry it belongs to, either an open entry of the
        owner's or a new (unsaved) :class:`~pss_core.models.Entry`. Default: every game is its own
        one-game entry, as in HERB."""
        from pss_core.models import Entry

        t = game.tournament
        if game.team is not None:
            return Entry(
                event_id=t.event_id, tournament_id=t.id, team_id=game.team.id, games_allowed=1
            )
        return Entry(
            event_id=t.event_id, tournament_id=t.id, player_id=game.player.id, games_allowed=1
        )

    def game_finished(
        self, session: Session, result: GameResult, options: Mapping[str, Any]
    ) -> None:
        """Called after a game ends (score recorded or voided), in the same transaction and
        before the ``pss_game_finished`` hook. Close entries here. Default: the game's entry is
        complete, or voided with the game, as in HERB."""
        from pss_core.models import EntryStatus

        entry = result.entry
        if result.voided:
            entry.status = EntryStatus.VOIDED
            entry.voided_at = result.token.voided_at
        else:
            entry.status = EntryStatus.COMPLETE
            entry.completed_at = result.token.used_at

    def standings_from_rows(
        self, rows: Sequence[ScoreRow], options: Mapping[str, Any], ranking: Ranking
    ) -> Standings | None:
        """The standings for plain score rows: the stored scores of complete entries on machines
        that are not removed, or the lines of a CSV file (``pss standings``). Raise
        :class:`pss_core.errors.InvalidInput` (``row.invalid(...)``) for a row the format cannot
        accept. ``ranking`` holds the points curves and pss's ranking engines. Default: ``None``,
        and pss says the format does not compute standings."""
        return None

    def standings_from_sql(
        self, session: Session, tournament: Tournament, options: Mapping[str, Any], ranking: Ranking
    ) -> Standings | None:
        """Optional: the standings of ``tournament`` ranked inside the database (faster for big
        events), for example with ``ranking.sql_herb``. Must equal
        :meth:`standings_from_rows` over the same scores. Default: ``None``, and pss ranks the
        stored scores with :meth:`standings_from_rows`."""
        return None


def _format_object(value: Format | type[Format]) -> Format:
    return value() if isinstance(value, type) else value


@attrs.frozen
class FormatSpec:
    """A tournament format as a plugin registers it in ``pss_register_formats``."""

    #: The name stored in ``Tournament.format`` (lower case, no spaces: ``herb``).
    name: str
    #: What organizers and players read ("HERB (best game)").
    title: str
    #: One or two sentences for the organizer choosing a format.
    description: str = ""
    #: The settings the organizer may choose; the admin form is built from them.
    options: tuple[OptionSpec, ...] = ()
    #: Teams, not players, own tokens and appear in standings.
    team: bool = False
    #: The behaviour: a :class:`Format` instance (a class is instantiated once).
    format: Format = attrs.field(factory=Format, converter=_format_object)
    #: The standings' column for totals ("Points"; pingolf: "Strokes").
    points_label: str = "Points"
    #: The column for a machine's score ("Score"; pingolf: "Strokes").
    score_label: str = "Score"

    def option(self, name: str) -> OptionSpec:
        """The option called ``name``; an ``InvalidInput`` listing the known ones otherwise."""
        return find_option(self.options, name, f"The {self.title} format has no option")

    def resolve_options(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with ``raw``, each parsed and validated; unknown names are refused."""
        return resolve_options(self.options, raw, f"The {self.title} format has no option")

    def store_options(self, resolved: Mapping[str, Any]) -> dict[str, Any]:
        """Resolved options as kept in ``Tournament.format_options`` (decimals as text)."""
        return store_options(self.options, resolved)
