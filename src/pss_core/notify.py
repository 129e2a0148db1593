"""Messages to players, through one pipeline: :func:`tell` records the message for the player's
page, in the transaction of the change that caused it, and defers its delivery elsewhere; after
that change commits, the ``pss.notify.deliver`` job hands it to the ``pss_notify`` hooks (SMS, push,
the built-in e-mail). A change that rolls back leaves neither the message nor a delivery."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core import hookimpl, jobs, mail
from pss_core.contract import PlayerNotification, QueueChange
from pss_core.jobs.registry import Runtime, session_for, task
from pss_core.models import EventPlayer, Notification, QueueSlot, TeamMember, utcnow

__all__ = ["PlayerNotification", "deliver", "pss_notify", "pss_queue_changed", "tell"]

DELIVER_TASK = "pss.notify.deliver"


def tell(session: Session, notification: PlayerNotification) -> Notification:
    """Tell a player something: the message is recorded for their page now (it is there whatever
    a plugin does with it) and delivered through ``pss_notify`` once the caller's transaction
    commits, never if it rolls back."""
    row = Notification(
        event_id=notification.event_id,
        player_id=notification.player_id,
        kind=notification.kind,
        message=notification.message,
        details=dict(notification.details),
    )
    session.add(row)
    session.flush()
    jobs.defer(session, DELIVER_TASK, lock=f"pss.notify.{row.id}", notification_id=row.id)
    return row


def _notification(row: Notification) -> PlayerNotification:
    return PlayerNotification(
        event_id=row.event_id,
        player_id=row.player_id,
        kind=row.kind,
        message=row.message,
        details=dict(row.details or {}),
        notification_id=row.id,
    )


def deliver(session: Session, pss: Any, notification_id: int) -> str:
    """Hand a recorded message to the ``pss_notify`` hooks, once. Returns ``delivered`` (a
    plugin said so), ``recorded`` (no plugin delivered it: it is on the player's page only) or
    ``skipped`` (gone, or handed over already)."""
    row = session.get(Notification, notification_id)
    if row is None or row.delivered_at is not None:
        return "skipped"
    delivered = pss.hook.pss_notify(session=session, notification=_notification(row))
    row.delivered_at = utcnow()
    session.flush()
    return "delivered" if delivered else "recorded"


@task(DELIVER_TASK)
def deliver_task(runtime: Runtime, notification_id: int) -> dict[str, int]:
    """Deliver one message after the change that recorded it committed."""
    with session_for(runtime) as session:
        outcome = deliver(session, runtime.pss, notification_id)
        session.commit()
    return {outcome: 1}


@hookimpl(trylast=True)
def pss_notify(session: Session, notification: PlayerNotification) -> bool | None:
    """The built-in delivery: "you are next" by e-mail to a player who asked for it. Every other
    message is on the player's page only."""
    if notification.kind != "queue_next":
        return None
    player = session.get(EventPlayer, notification.player_id)
    if player is None:
        return None
    sent = mail.up_next(
        session,
        player,
        machine=str(notification.details.get("machine", "")),
        tournament=str(notification.details.get("tournament", "")),
    )
    return True if sent is not None else None


@hookimpl
def pss_queue_changed(session: Session, change: QueueChange) -> None:
    """Tell whoever is now first in the queue that they are next, when the head moved on: a game
    started from the queue (``advance``) or the head was bumped (``bump``)."""
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
    about = {"machine": name, "tournament": change.machine.tournament.name}
    for player_id in people:
        tell(
            session,
            PlayerNotification(
                event_id=change.machine.event_id,
                player_id=player_id,
                kind="queue_next",
                message=f"You are next on {name}. Please make your way to the machine.",
                details=about,
            ),
        )
