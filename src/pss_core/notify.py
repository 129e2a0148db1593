"""Messages to players, and the built-in delivery that records them for the player's page."""

from __future__ import annotations

import attrs
from sqlalchemy.orm import Session

from pss_core import hookimpl
from pss_core.models import Notification


@attrs.frozen
class PlayerNotification:
    event_id: int
    player_id: int
    kind: str
    message: str


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
