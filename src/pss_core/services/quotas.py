"""Ticket quotas: how many tickets of a tournament or metatournament are sold or held right now.

The count is always derived from purchases (completed ones, plus pending online ones whose hold
has not expired), never kept in a separate counter, so it cannot drift. Callers hold the scope's
row lock (:func:`pss_core.services.locking.lock_scope`) between checking and selling, so two desks
(or a desk and an online checkout) can never both sell the last tickets.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from pss_core.errors import Refused
from pss_core.models import Metatournament, Purchase, Tournament


def _scope_filter(scope: Tournament | Metatournament) -> ColumnElement[bool]:
    if isinstance(scope, Tournament):
        return Purchase.tournament_id == scope.id
    return Purchase.metatournament_id == scope.id


def live_purchase_filter(now: datetime) -> ColumnElement[bool]:
    """Purchases that count: completed, or pending with a hold that has not expired."""
    return Purchase.live(now)


def sold_or_held(session: Session, scope: Tournament | Metatournament, now: datetime) -> int:
    """Tickets of completed purchases plus pending purchases still on hold at ``now``."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Purchase.tickets), 0)).where(
                _scope_filter(scope),
                live_purchase_filter(now),
            )
        )
        or 0
    )


def available(session: Session, scope: Tournament | Metatournament, now: datetime) -> int | None:
    """Tickets still for sale, or ``None`` when the scope has no quota."""
    if scope.ticket_quota is None:
        return None
    return max(scope.ticket_quota - sold_or_held(session, scope, now), 0)


def check_quota(
    session: Session, scope: Tournament | Metatournament, tickets: int, now: datetime
) -> None:
    """Refuse selling ``tickets`` more if the quota would be exceeded. Call under the scope lock."""
    left = available(session, scope, now)
    if left is None or tickets <= left:
        return
    if left == 0:
        raise Refused(f"{scope.name} is sold out.", code="sold_out", available=0)
    raise Refused(
        f"Only {left} ticket{'s' if left != 1 else ''} left for {scope.name}; "
        f"{tickets} cannot be sold.",
        code="quota_exceeded",
        available=left,
    )
