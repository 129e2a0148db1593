"""Every hook pss calls, in one place. Plugins implement them with ``pss_core.hookimpl``.

Hooks are for what is cross-cutting: registration, vetoes by house-rule plugins, observers and
notifications. What a format does is not a hook: pss calls the methods of the tournament's own
:class:`~pss_core.contract.Format` (and of a restriction's own
:class:`~pss_core.contract.RestrictionKind`), so no hook needs to ask "is this my format?".
Format methods run before the hooks of the same moment (a format's own checks first, then the
vetoes; closing entries first, then the observers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pss_core.contract import (
        FormatSpec,
        GameResult,
        GameStart,
        PaymentProviderSpec,
        PlayerNotification,
        PointsCurve,
        QueueChange,
        QueueJoin,
        Registry,
        RestrictionKind,
        TicketSale,
        TokenScope,
    )
    from pss_core.models import Tournament

hookspec = pluggy.HookspecMarker("pss")


# --- registration ---------------------------------------------------------------------------


@hookspec
def pss_register_formats(registry: Registry[FormatSpec]) -> None:
    """Called once, when the plugin manager is built: add formats with
    ``registry.add(FormatSpec(name, title, description, options, format=MyFormat()))``.

    A format name already registered by another plugin is an error
    (:class:`~pss_core.errors.DuplicateRegistration`, naming both plugins). Without any plugin
    answering there are no formats, and no tournament can be created.
    """


@hookspec
def pss_register_payment_providers(registry: Registry[PaymentProviderSpec]) -> None:
    """Called once, when the plugin manager is built: add payment providers with
    ``registry.add(PaymentProviderSpec(name, factory=MyProvider, label=...))``. The factory is
    called with the application's settings when a payment is first made through it.

    A provider name registered twice is an error. Stripe (``stripe``) is built in; an event uses
    the provider its ``payment_provider`` names.
    """


@hookspec
def pss_register_points_curves(registry: Registry[PointsCurve]) -> None:
    """Called once, when the plugin manager is built: add curves with
    ``registry.add(PointsCurve(...))``. A curve name registered twice is an error. The curves are
    what ``points_curve`` options may name."""


@hookspec
def pss_register_restrictions(registry: Registry[RestrictionKind]) -> None:
    """Called once, when the plugin manager is built: add restriction kinds (early bird, coupon,
    ...) with ``registry.add(MyKind(...))``, a :class:`~pss_core.contract.RestrictionKind`
    whose methods pss calls for restrictions of that kind. A kind name already registered is an
    error; without any, organizers can add no restrictions."""


# --- tickets --------------------------------------------------------------------------------


@hookspec
def pss_check_ticket_sale(session: Session, sale: TicketSale) -> None:
    """Called before tickets are sold (desk, comp or online), under the buyer's lock, after the
    tournament format's own :meth:`~pss_core.contract.Format.check_ticket_sale`. Every plugin is
    asked: raise :class:`pss_core.errors.Refused` to veto the sale; return nothing to allow it.
    When no plugin answers, the sale goes ahead."""


# --- tokens ---------------------------------------------------------------------------------


@hookspec
def pss_token_scopes(session: Session, tournament: Tournament) -> Sequence[TokenScope] | None:
    """Called when a game starts or a player queues in ``tournament``. Return extra places whose
    tokens are good there (a metatournament), each with a priority; lower priorities are used
    first. Every plugin's scopes are used; ``None`` adds none. The tournament's own tokens always
    count, at priority 0, so with no plugin answering only they are used."""


# --- games ----------------------------------------------------------------------------------


@hookspec
def pss_check_game_start(session: Session, game: GameStart) -> None:
    """Called before a game starts, with the machine and occupant locked, after the format's own
    :meth:`~pss_core.contract.Format.check_game_start`. Every plugin is asked: raise
    ``Refused`` to stop the game (a house rule); return nothing to allow it. When no plugin
    answers, the game starts."""


@hookspec
def pss_game_finished(session: Session, result: GameResult) -> None:
    """Called after a game ends (score recorded or voided), in the same transaction, after the
    format's :meth:`~pss_core.contract.Format.game_finished` closed its entry. For observers
    (a scoreboard feed, a statistics table); return nothing. Raising aborts the score."""


# --- queues ---------------------------------------------------------------------------------


@hookspec
def pss_check_queue_join(session: Session, join: QueueJoin) -> None:
    """Called before a player or team joins a machine's queue (or is put at its head), under the
    machine's and the player's locks, after pss's own checks and the format's
    :meth:`~pss_core.contract.Format.check_queue_join`. Every plugin is asked: raise
    ``Refused`` to veto the join; return nothing to allow it. Starting the head of a queue is a
    game start: veto that in ``pss_check_game_start``."""


@hookspec
def pss_queue_changed(session: Session, change: QueueChange) -> None:
    """Called after a queue changed, in the same transaction (see
    :attr:`~pss_core.contract.QueueChange.action` for what can happen). Every plugin is told;
    return nothing. Raising aborts the change. The built-in plugin records a "you are next"
    message for the new head."""


@hookspec(firstresult=True)
def pss_notify(session: Session, notification: PlayerNotification) -> bool | None:
    """Called to deliver a message to a player elsewhere than their page (your turn, bumped,
    you are next, ...), after the change that caused it committed — never for one that rolled
    back — in a session of its own (the ``pss.notify.deliver`` job). The message is on the
    player's page already (``notification.notification_id``), whatever is answered here. Return
    True once delivered (by SMS, push, ...), which stops the search; return ``None`` to pass. The
    built-in implementation runs last and sends "you are next" by e-mail to players who asked
    for it."""
