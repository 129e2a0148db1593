"""Every hook pss calls, in one place. Plugins implement them with ``pss_core.hookimpl``.

Hooks come in families: registration (formats, points curves), tickets, tokens, games and scoring,
and queues. A hook that is called for every tournament must first check ``tournament.format`` and
return ``None`` (or do nothing) for formats it does not own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pss_core.formats import FormatSpec, PointsCurve
    from pss_core.models import Entry, Tournament
    from pss_core.notify import PlayerNotification
    from pss_core.plays import GameResult, GameStart, QueueChange, QueueJoin, TicketSale, TokenScope
    from pss_core.registry import Registry
    from pss_core.standings import ScoreRow, Standings

hookspec = pluggy.HookspecMarker("pss")


# --- registration ---------------------------------------------------------------------------


@hookspec
def pss_register_formats(registry: Registry[FormatSpec]) -> None:
    """Called once, when the plugin manager is built: add formats with
    ``registry.add(FormatSpec(...))``.

    A format name already registered by another plugin is an error.
    """


@hookspec
def pss_register_points_curves(registry: Registry[PointsCurve]) -> None:
    """Called once, when the plugin manager is built: add curves with
    ``registry.add(PointsCurve(...))``."""


# --- tickets --------------------------------------------------------------------------------


@hookspec(firstresult=True)
def pss_tokens_per_ticket(tournament: Tournament, options: Mapping[str, Any]) -> int | None:
    """Called when a ticket for ``tournament`` is sold. Return how many tokens (games) one ticket
    makes (HERB: 1, PAPA-style: the games per entry), or ``None`` if the format is not yours."""


@hookspec
def pss_check_ticket_sale(session: Session, sale: TicketSale) -> None:
    """Called before tickets are sold, under the buyer's lock. Raise ``pss_core.errors.Refused`` to
    refuse the sale (an entry cap reached, say); return nothing to allow it."""


# --- tokens ---------------------------------------------------------------------------------


@hookspec
def pss_token_scopes(session: Session, tournament: Tournament) -> Sequence[TokenScope] | None:
    """Called when a game starts or a player queues in ``tournament``. Return extra places whose
    tokens are good there (a metatournament), each with a priority; lower priorities are used first.
    The tournament's own tokens always count, at priority 0."""


@hookspec(firstresult=True)
def pss_token_owner(session: Session, tournament: Tournament, player_id: int) -> int | None:
    """Called when ``player_id`` buys, queues or plays in a team tournament. Return the id of the
    team whose tokens the player uses, or ``None`` if the format is not yours."""


# --- games and scoring ----------------------------------------------------------------------


@hookspec
def pss_check_game_start(session: Session, game: GameStart) -> None:
    """Called before a game starts, with the machine and occupant locked. Raise ``Refused`` to stop
    it (a team member on another machine, an entry cap reached, a machine already played)."""


@hookspec(firstresult=True)
def pss_entry_for_game(session: Session, game: GameStart) -> Entry | None:
    """Called when a game starts. Return the entry the game belongs to: an open entry of the
    owner's,
    or a new (unsaved) ``Entry``. ``None`` if the format is not yours."""


@hookspec
def pss_game_finished(session: Session, result: GameResult) -> None:
    """Called after a game ends (score recorded or voided) in the same transaction. Formats close
    entries here (a PAPA-style entry is complete after its last game)."""


@hookspec(firstresult=True)
def pss_compute_standings(
    session: Session,
    tournament: Tournament,
    options: Mapping[str, Any],
    curves: Registry[PointsCurve],
) -> Standings | None:
    """Called by ``pss_core.standings.compute_standings`` (standings pages, the TV view). Return the
    standings of ``tournament`` from its stored scores — complete entries only, removed machines
    left out — or ``None`` if the format is not yours. ``options`` are the tournament's resolved
    format options and ``curves`` the installed points curves. The SQL helpers in
    ``pss_core.standings`` (``sql_herb_standings``, ``sql_entry_standings``) do the ranking in one
    query; the caller marks the qualifying cut and the version. A format without this hook but with
    ``pss_standings_from_rows`` is given its stored scores as rows instead."""


@hookspec(firstresult=True)
def pss_standings_from_rows(
    format: FormatSpec,
    options: Mapping[str, Any],
    rows: Sequence[ScoreRow],
    curves: Registry[PointsCurve],
) -> Standings | None:
    """Return standings for plain score rows (no database), or ``None`` if ``format`` is not yours;
    raise ``pss_core.errors.InvalidInput`` naming ``row.line`` for a row your format cannot accept.
    Used by ``pss standings`` for CSV files and as the reference the database engine is tested
    against; ``pss_core.standings.herb_standings`` and ``entry_standings`` do the ranking."""


# --- queues ---------------------------------------------------------------------------------


@hookspec
def pss_check_queue_join(session: Session, join: QueueJoin) -> None:
    """Called before a player or team joins a machine's queue (or is put at its head), under the
    machine's and the player's locks, after pss's own checks. Raise ``Refused`` to veto it.
    Starting the head of a queue is a game start: veto that in ``pss_check_game_start``."""


@hookspec
def pss_queue_changed(session: Session, change: QueueChange) -> None:
    """Called after a queue changed, in the same transaction, with ``change.action`` one of join,
    insert (at the head), leave, bump, advance (the head started), clear, freeze (machine down) or
    unfreeze (machine back up). Return nothing; raising aborts the change."""


@hookspec(firstresult=True)
def pss_notify(session: Session, notification: PlayerNotification) -> bool | None:
    """Deliver a message to a player (by SMS, push, ...). Return True once delivered; the built-in
    implementation, which runs last, records it as a ``Notification`` row."""


# --- restrictions and pricing ---------------------------------------------------------------

if TYPE_CHECKING:
    from pss_core.models import PriceRestriction
    from pss_core.restrictions import PriceRequest, RestrictionKind, RestrictionVerdict


@hookspec
def pss_register_restrictions(registry: Registry[RestrictionKind]) -> None:
    """Called once when the plugin manager is built. Add restriction kinds (early bird, coupon, ...)
    with ``registry.add(RestrictionKind(...))``. A kind name already registered is an error."""


@hookspec(firstresult=True)
def pss_check_restriction_config(
    kind: RestrictionKind, config: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Called when an organizer creates or edits a restriction of ``kind``, after each value was
    parsed by the kind's ``options``. Return the config to store (normalised), raise
    ``pss_core.errors.InvalidInput`` for a bad combination, or return ``None`` if the kind is not
    yours."""


@hookspec(firstresult=True)
def pss_evaluate_restriction(
    session: Session, restriction: PriceRestriction, request: PriceRequest
) -> RestrictionVerdict | None:
    """Called for every active restriction on the tickets being priced (a quote, a purchase, a late
    payment), possibly while the quota and the restriction rows are locked, so it must not commit or
    call the network. The plugin that registered ``restriction.kind`` returns its verdict: whether
    the tickets may be sold (or no opinion) and at what total price. Others return ``None``.

    Uses are counted by pss, not by the plugin: a restriction with ``max_uses`` stops applying once
    that many live purchases used it."""
