"""The mails pss sends, each queued by the change that causes it (in its transaction)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core.mail import outbox
from pss_core.models import (
    Channel,
    Event,
    EventPlayer,
    Metatournament,
    OutgoingMail,
    Purchase,
    Refund,
    Token,
    Tournament,
)


def money(cents: int, currency: str) -> str:
    return f"{cents // 100}.{cents % 100:02d} {currency.upper()}"


def _scope_name(session: Session, purchase: Purchase) -> str:
    scope: Tournament | Metatournament | None
    if purchase.tournament_id is not None:
        scope = session.get(Tournament, purchase.tournament_id)
    else:
        scope = session.get(Metatournament, purchase.metatournament_id)
    return scope.name if scope is not None else ""


def _purchase_mail(
    session: Session, purchase: Purchase, kind: str, **context: Any
) -> OutgoingMail | None:
    event = session.get(Event, purchase.event_id)
    player = session.get(EventPlayer, purchase.player_id)
    if event is None or player is None:
        return None
    return outbox.queue(
        session,
        event=event,
        player=player,
        kind=kind,
        purchase=purchase,
        scope_name=_scope_name(session, purchase),
        amount=money(purchase.amount_cents, event.currency),
        online=purchase.channel == Channel.ONLINE,
        **context,
    )


def purchase_completed(session: Session, purchase: Purchase) -> OutgoingMail | None:
    """The receipt, with the unique id of every ticket bought (each game's token): sent when a
    desk sale is made and when an online payment is confirmed (it is the "payment completed"
    mail for an online purchase)."""
    session.flush()
    tickets = session.scalars(
        select(Token.id).where(Token.purchase_id == purchase.id).order_by(Token.id)
    ).all()
    return _purchase_mail(
        session, purchase, "purchase_confirmation", ticket_ids=[ticket_id(t) for t in tickets]
    )


def ticket_id(token_id: int) -> str:
    """How a ticket (one game's token) is named to the player and the desk."""
    return f"T{token_id:06d}"


def payment_failed(session: Session, purchase: Purchase, reason: str) -> OutgoingMail | None:
    return _purchase_mail(session, purchase, "payment_failed", reason=reason)


#: A refund whose reason starts with this is a cancelled tournament's: its mail says so.
TOURNAMENT_CANCELLED = "tournament cancelled"


def refund_done(session: Session, purchase: Purchase, refund: Refund) -> OutgoingMail | None:
    """Money given back, to the card or in cash at the desk: ``tournament_refund`` when the
    tournament was cancelled (the refund's reason starts with :data:`TOURNAMENT_CANCELLED`),
    else ``payment_refunded``."""
    event = session.get(Event, purchase.event_id)
    assert event is not None
    kind = (
        "tournament_refund"
        if refund.reason.startswith(TOURNAMENT_CANCELLED)
        else "payment_refunded"
    )
    return _purchase_mail(
        session,
        purchase,
        kind,
        refund=refund,
        refund_amount=money(refund.amount_cents, event.currency),
        to_card=refund.channel == Channel.ONLINE,
    )


def hold_expired(session: Session, purchase: Purchase) -> OutgoingMail | None:
    return _purchase_mail(session, purchase, "hold_expired")


def tournament_cancelled(
    session: Session, purchase: Purchase, *, games: int = 0
) -> OutgoingMail | None:
    """A cancelled tournament's news for what has no money to give back: a hold released
    (``purchase`` still pending when cancelled) or ``games`` free games voided (a comp). Paid
    games get :func:`refund_done`'s mail instead."""
    return _purchase_mail(session, purchase, "tournament_cancelled", held=games == 0, games=games)


def up_next(
    session: Session, player: EventPlayer, *, machine: str, tournament: str
) -> OutgoingMail | None:
    """ "You're up next" on a machine, for a player who asked for it."""
    if not player.email_when_next:
        return None
    event = session.get(Event, player.event_id)
    assert event is not None
    return outbox.queue(
        session, event=event, player=player, kind="up_next", machine=machine, tournament=tournament
    )
