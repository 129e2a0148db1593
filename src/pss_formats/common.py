"""Helpers the built-in formats share, built on the contract and the models only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from pss_core.contract import ScoreRow
from pss_core.models import Entry, EntryStatus, Purchase, Score, Token, utcnow


def owner_filter(model: Any, player_id: int | None, team_id: int | None) -> Any:
    if team_id is not None:
        return model.team_id == team_id
    return model.player_id == player_id


def tokens_held(
    session: Session, tournament_id: int, player_id: int | None, team_id: int | None
) -> int:
    """Tokens of this owner for this tournament that are paid, or unpaid on a hold that has not
    expired; refunded tokens and abandoned holds do not count."""
    live = Token.purchase_id.in_(select(Purchase.id).where(Purchase.live(utcnow())))
    return (
        session.scalar(
            select(func.count(Token.id)).where(
                Token.tournament_id == tournament_id,
                owner_filter(Token, player_id, team_id),
                Token.refunded_at.is_(None),
                or_(Token.paid_at.is_not(None), live),
            )
        )
        or 0
    )


def games_started(
    session: Session, tournament_id: int, player_id: int | None, team_id: int | None
) -> int:
    """Games the owner has started in the tournament (played, voided or in progress)."""
    return (
        session.scalar(
            select(func.count(Token.id))
            .join(Entry, Token.entry_id == Entry.id)
            .where(Entry.tournament_id == tournament_id, owner_filter(Entry, player_id, team_id))
        )
        or 0
    )


def has_played_machine(session: Session, tournament_machine_id: int, entry_ids: Any) -> bool:
    return (
        session.scalar(
            select(func.count(Score.id)).where(
                Score.tournament_machine_id == tournament_machine_id, Score.entry_id.in_(entry_ids)
            )
        )
        or 0
    ) > 0


def open_entry(
    session: Session, tournament_id: int, player_id: int | None, team_id: int | None
) -> Entry | None:
    return session.scalars(
        select(Entry)
        .where(
            Entry.tournament_id == tournament_id,
            owner_filter(Entry, player_id, team_id),
            Entry.status == EntryStatus.OPEN,
        )
        .order_by(Entry.id)
    ).first()


def check_no_teams(rows: Sequence[ScoreRow], title: str) -> None:
    for row in rows:
        if row.team is not None:
            raise row.invalid(
                f"{title} is not a team format, but this score names team "
                f"{row.team}; leave the team column out."
            )


def check_replays(rows: Sequence[ScoreRow], allowed: bool) -> None:
    """Without replays, an owner has at most one score per machine."""
    if allowed:
        return
    seen: set[tuple[str, str]] = set()
    for row in rows:
        key = (row.owner, row.machine)
        if key in seen:
            raise row.invalid(
                f"{row.owner} already has a score on {row.machine}, and replays "
                "are not allowed in this tournament."
            )
        seen.add(key)
