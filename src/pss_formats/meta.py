"""Metatournaments: tickets good in any member tournament, used after the member's own tokens."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core import hookimpl
from pss_core.contract import TokenScope
from pss_core.models import MetatournamentMember, Tournament


@hookimpl
def pss_token_scopes(session: Session, tournament: Tournament) -> Sequence[TokenScope] | None:
    meta_id = session.scalar(
        select(MetatournamentMember.metatournament_id).where(
            MetatournamentMember.tournament_id == tournament.id
        )
    )
    if meta_id is None:
        return None
    # Priority 10: the member tournament's own tokens (priority 0) go first.
    return [TokenScope(priority=10, metatournament_id=meta_id)]
