"""What a tournament director can correct, and the lookups that keep a correction to its own
machine or player: the scores on a machine, a player's entries, the games voided for misconduct
that can still be reversed. The corrections themselves are :mod:`pss_core.services.corrections`."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

import attrs
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from pss_core.errors import NotFound
from pss_core.models import (
    AuditLog,
    Entry,
    EventPlayer,
    Score,
    TeamMember,
    Token,
    TournamentMachine,
)


@attrs.frozen
class ScoreLine:
    """One recorded score on a machine, with the entry it counts for."""

    score: Score
    entry: Entry


def machine_scores(session: Session, machine: TournamentMachine) -> list[ScoreLine]:
    """Every score recorded on ``machine``, newest first (voided entries too: they can be
    counted again)."""
    rows = session.execute(
        select(Score, Entry)
        .join(Entry, Entry.id == Score.entry_id)
        .where(Score.tournament_machine_id == machine.id)
        .order_by(Score.recorded_at.desc(), Score.id.desc())
    ).all()
    return [ScoreLine(score, entry) for score, entry in rows]


def score_on_machine(session: Session, machine: TournamentMachine, score_id: int) -> Score:
    """The score ``score_id`` if it was recorded on ``machine``; otherwise a 404."""
    score = session.get(Score, score_id)
    if score is None or score.tournament_machine_id != machine.id:
        raise NotFound(
            f"There is no score #{score_id} on {machine.machine.name}.", code="no_such_score"
        )
    return score


def _owned_by(
    player: InstrumentedAttribute[int | None],
    team: InstrumentedAttribute[int | None],
    ep: EventPlayer,
) -> ColumnElement[bool]:
    """The row is ``ep``'s own or one of their teams'."""
    teams = select(TeamMember.team_id).where(TeamMember.event_player_id == ep.id)
    return or_(player == ep.id, team.in_(teams))


def player_entries(session: Session, ep: EventPlayer) -> list[Entry]:
    """The entries of ``ep`` and of their teams, in every tournament, newest first."""
    return list(
        session.scalars(
            select(Entry)
            .where(
                Entry.event_id == ep.event_id,
                _owned_by(Entry.player_id, Entry.team_id, ep),
            )
            .order_by(Entry.created_at.desc(), Entry.id.desc())
        )
    )


_Owned = TypeVar("_Owned", Entry, Token)


def _owned(session: Session, model: type[_Owned], row_id: int, ep: EventPlayer) -> _Owned | None:
    return session.scalars(
        select(model).where(
            model.id == row_id,
            model.event_id == ep.event_id,
            _owned_by(model.player_id, model.team_id, ep),
        )
    ).first()


def entry_of_player(session: Session, ep: EventPlayer, entry_id: int) -> Entry:
    """The entry ``entry_id`` if it is ``ep``'s (or their team's); otherwise a 404."""
    entry = _owned(session, Entry, entry_id, ep)
    if entry is None:
        raise NotFound(f"{ep.name} has no entry #{entry_id}.", code="no_such_entry")
    return entry


@attrs.frozen
class MisconductGame:
    """A game voided for misconduct whose token is still void (so it can be reversed)."""

    token: Token
    machine: str
    at: datetime
    reason: str


def misconduct_games(session: Session, ep: EventPlayer) -> list[MisconductGame]:
    """The games of ``ep`` (or their team) voided for misconduct and not reversed, newest first."""
    rows = session.scalars(
        select(AuditLog)
        .where(
            AuditLog.event_id == ep.event_id,
            AuditLog.player_id == ep.id,
            AuditLog.action == "game.misconduct",
        )
        .order_by(AuditLog.id.desc())
    ).all()
    seen: set[int] = set()
    games = []
    for row in rows:
        token_id = (row.details or {}).get("token_id")
        if not isinstance(token_id, int) or token_id in seen:
            continue
        seen.add(token_id)
        token = session.get(Token, token_id)
        if token is None or token.voided_at is None:
            continue
        details = row.details or {}
        games.append(
            MisconductGame(
                token=token,
                machine=str(details.get("machine") or ""),
                at=row.created_at,
                reason=str(details.get("reason") or ""),
            )
        )
    return games


def misconduct_token_of_player(session: Session, ep: EventPlayer, token_id: int) -> Token:
    """The token of a game ``ep`` (or their team) played; otherwise a 404 (a token of someone
    else's is never reached from this player). Whether it was voided for misconduct is
    :func:`pss_core.services.corrections.reverse_misconduct`'s to say."""
    token = _owned(session, Token, token_id, ep)
    if token is None:
        raise NotFound(f"{ep.name} has no game #{token_id}.", code="no_such_game")
    return token
