"""The ``best_scores`` table the standings read instead of every score, kept up to date in the
transaction of each change: one row per game of a complete entry (what PAPA-style standings
rank) and one per player (or team) and machine with their best and lowest score over their
complete entries (what HERB ranks). Every write that adds, changes or voids a score or changes
an entry's status calls :func:`refresh_entry` with one line; bulk loads (a migration, the test
kit, a benchmark, a player merge) call :func:`rebuild`.

Machine removal and restore change no row: whether a removed machine's scores count is the
tournament's own choice and is read with the rows (a join on the tournament's few machines), so
it can never be out of step with them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, null, select
from sqlalchemy.orm import Session

from pss_core.models import BestScore, Entry, EntryStatus, Score

_COLUMNS = (
    "event_id",
    "tournament_id",
    "tournament_machine_id",
    "player_id",
    "team_id",
    "entry_id",
    "high",
    "low",
)


def _games(where: Iterable[ColumnElement[bool]]) -> Any:
    # Each game of a complete entry, as an entry row.
    return (
        select(
            Entry.event_id,
            Entry.tournament_id,
            Score.tournament_machine_id,
            Entry.player_id,
            Entry.team_id,
            Entry.id,
            Score.score,
            Score.score,
        )
        .join(Entry, Entry.id == Score.entry_id)
        .where(Entry.status == EntryStatus.COMPLETE, *where)
    )


def _bests(where: Iterable[ColumnElement[bool]]) -> Any:
    # Each owner's best and lowest score per machine over their complete entries.
    return (
        select(
            Entry.event_id,
            Entry.tournament_id,
            Score.tournament_machine_id,
            Entry.player_id,
            Entry.team_id,
            null(),
            func.max(Score.score),
            func.min(Score.score),
        )
        .join(Entry, Entry.id == Score.entry_id)
        .where(Entry.status == EntryStatus.COMPLETE, *where)
        .group_by(
            Entry.event_id,
            Entry.tournament_id,
            Score.tournament_machine_id,
            Entry.player_id,
            Entry.team_id,
        )
    )


def _fill(session: Session, query: Any) -> None:
    session.execute(insert(BestScore).from_select(list(_COLUMNS), query))


def refresh_entry(session: Session, entry_id: int | None) -> None:
    """Bring the rows of ``entry_id`` and its owner's bests on the machines it played up to date
    with the scores and entry as they now stand (pending changes are flushed first). A deleted
    or missing entry has nothing to bring."""
    if entry_id is None:
        return
    session.flush()
    entry = session.get(Entry, entry_id)
    if entry is None:
        return
    machines = set(
        session.scalars(select(Score.tournament_machine_id).where(Score.entry_id == entry_id))
    ) | set(
        session.scalars(
            select(BestScore.tournament_machine_id).where(BestScore.entry_id == entry_id)
        )
    )
    session.execute(delete(BestScore).where(BestScore.entry_id == entry_id))
    _fill(session, _games([Entry.id == entry_id]))
    if not machines:
        return
    if entry.player_id is not None:
        mine, owner = BestScore.player_id == entry.player_id, Entry.player_id == entry.player_id
    else:
        mine, owner = BestScore.team_id == entry.team_id, Entry.team_id == entry.team_id
    session.execute(
        delete(BestScore).where(
            BestScore.tournament_id == entry.tournament_id,
            BestScore.entry_id.is_(None),
            mine,
            BestScore.tournament_machine_id.in_(machines),
        )
    )
    _fill(
        session,
        _bests(
            [
                Entry.tournament_id == entry.tournament_id,
                owner,
                Score.tournament_machine_id.in_(machines),
            ]
        ),
    )


def rebuild(session: Session, tournament_ids: Iterable[int] | None = None) -> None:
    """Work the rows of ``tournament_ids`` (all tournaments if ``None``) out again from every
    score: after bulk loads, and for a check that the kept rows are right."""
    session.flush()
    ids = None if tournament_ids is None else sorted(set(tournament_ids))
    if ids == []:
        return
    gone = delete(BestScore)
    where: list[ColumnElement[bool]] = []
    if ids is not None:
        gone = gone.where(BestScore.tournament_id.in_(ids))
        where.append(Entry.tournament_id.in_(ids))
    session.execute(gone)
    _fill(session, _games(where))
    _fill(session, _bests(where))
