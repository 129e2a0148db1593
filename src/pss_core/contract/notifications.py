"""Messages to players, handed to the ``pss_notify`` hook."""

from __future__ import annotations

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
