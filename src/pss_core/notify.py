"""Messages to players, and the built-in delivery that records them for the player's page."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core import hookimpl, mail
from pss_core.contract import PlayerNotification, QueueChange
from pss_core.models import EventPlayer, Notification, QueueSlot, TeamMember

__all__ = ["PlayerNotification", "pss_notify", "pss_queue_changed"]


@hookimpl(trylast=True)
def pss_notify(session: Session, notification: PlayerNotification) -> bool:
    session.add(
        Notification(
            event_id=notification.event_id,
            player_id=notification.player_id,
            kind=notification.kind,
            message=notification.message,
        )
    )
    return True


@hookimpl
def pss_queue_changed(session: Session, change: QueueChange) -> None:
    """Record a "you are next" message for whoever is now first in the queue, when the head moved
    on: a game started from the queue (``advance``) or the head was bumped (``bump``)."""
    if change.action not in ("advance", "bump"):
        return
    head = session.scalars(
        select(QueueSlot)
        .where(QueueSlot.tournament_machine_id == change.machine.id)
        .order_by(QueueSlot.position)
        .limit(1)
    ).first()
    if head is None:
        return
    if head.team_id is not None:
        people = list(
            session.scalars(
                select(TeamMember.event_player_id).where(TeamMember.team_id == head.team_id)
            )
        )
    else:
        people = [head.player_id] if head.player_id is not None else []
    name = change.machine.machine.name
    for player_id in people:
        session.add(
            Notification(
                event_id=change.machine.event_id,
                player_id=player_id,
                kind="queue_next",
                message=f"You are next on {name}. Please make your way to the machine.",
            )
        )
        player = session.get(EventPlayer, player_id)
        if player is not None:
            mail.up_next(session, player, machine=name,
                         tournament=change.machine.tournament.name)
