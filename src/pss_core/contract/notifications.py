"""Messages to players, handed to the ``pss_notify`` hook."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs


@attrs.frozen
class PlayerNotification:
    """A message for one player (your turn, you were bumped, ...)."""

    #: The event the message is about.
    event_id: int
    #: The ``EventPlayer.id`` to tell.
    player_id: int
    #: What happened, for code: ``your_turn``, ``bumped``, ``queue_next``, ...
    kind: str
    #: What the player reads.
    message: str
    #: What the message is about, for a delivery that words it itself (``machine``,
    #: ``tournament`` for the queue's messages). JSON values.
    details: Mapping[str, Any] = attrs.field(factory=dict)
    #: The recorded message (``Notification.id``) the player's page shows; set once recorded.
    notification_id: int | None = None
