"""Running finals on the bank: who plays first in each group game, and free machines handed to the
groups waiting for one, best seed first (docs/finals.rst, "Machines and player order").

A group's machine is for its next game only: recording the game frees it (see
:func:`pss_core.services.finals.record_game`), so the next ready group can have it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core import audit
from pss_core.audit import Actor
from pss_core.contract import FinishedGroup
from pss_core.models import EventPlayer, Finals, FinalsGroup, MachineStatus, TournamentMachine
from pss_core.plugins import Pss
from pss_core.services import finals as service


def play_order(session: Session, pss: Pss, finals: Finals, group: FinalsGroup) -> list[int]:
    """The seeds in playing order for the group's next game: best seed first in game 1, then
    rotating by one each game so everyone plays first in turn; a tiebreaker game among the tied
    players best seed first. Empty once the group has finished."""
    if group.result is not None:
        return []
    verdict = service.verdict(session, pss, finals, group)
    if verdict.complete:
        return sorted(verdict.tiebreakers_needed[0]) if verdict.tiebreakers_needed else []
    seeds = sorted(int(s) for s in group.seeds)
    played = sum(1 for g in service.group_games(session, group) if not g.tiebreaker)
    turn = played % len(seeds)
    return seeds[turn:] + seeds[:turn]


def _open_groups(session: Session, finals: Finals) -> list[FinalsGroup]:
    number = service.current_round(session, finals)
    return [
        g for g in service.groups(session, finals) if g.round_number == number and g.result is None
    ]


def free_machines(session: Session, finals: Finals) -> list[TournamentMachine]:
    """The qualifying tournament's machines that are up and not held by an unfinished group."""
    held = {
        g.tournament_machine_id
        for g in _open_groups(session, finals)
        if g.tournament_machine_id is not None
    }
    return [
        tm
        for tm in session.scalars(
            select(TournamentMachine)
            .where(
                TournamentMachine.tournament_id == finals.tournament_id,
                TournamentMachine.status == MachineStatus.ACTIVE,
            )
            .order_by(TournamentMachine.id)
        )
        if tm.id not in held
    ]


def assign_free_machines(
    session: Session, pss: Pss, actor: Actor, finals: Finals
) -> dict[str, int]:
    """Give each unfinished group of the current round that has no machine a free one, the
    groups in order of their best seed; a group gets a machine it has not played this round
    when one is free. Returns group label -> machine (``TournamentMachine.id``) for the groups
    given one; groups left waiting when the machines run out get one on the next call."""
    free = free_machines(session, finals)
    waiting = sorted(
        (g for g in _open_groups(session, finals) if g.tournament_machine_id is None),
        key=lambda g: min(int(s) for s in g.seeds),
    )
    given: dict[str, int] = {}
    for group in waiting:
        if not free:
            break
        played = {g.tournament_machine_id for g in service.group_games(session, group)}
        pick = next((tm for tm in free if tm.id not in played), free[0])
        free.remove(pick)
        group.tournament_machine_id = pick.id
        given[group.label] = pick.id
    if given:
        session.flush()
        audit.record(
            session,
            actor,
            "finals_machines_assigned",
            event_id=finals.event_id,
            subject=finals,
            machines=given,
        )
    return given


def play_orders(session: Session, pss: Pss, finals: Finals) -> dict[int, list[int]]:
    """``FinalsGroup.id`` -> :func:`play_order` for every group of the finals."""
    return {g.id: play_order(session, pss, finals, g) for g in service.groups(session, finals)}


def standings(session: Session, pss: Pss, finals: Finals) -> list[dict[str, Any]]:
    """The format's running standings (group match play) over the groups finished so far, with
    each seed's player; empty for formats without any (a bracket)."""
    rounds: dict[int, list[FinishedGroup]] = {}
    for group in service.groups(session, finals):
        if group.result is not None:
            rounds.setdefault(group.round_number, []).append(
                FinishedGroup(group.label, tuple(int(s) for s in group.result), group.advance)
            )
    rows = service.format_of(pss, finals).standings(
        finals.format_options, finals.cut, [rounds[n] for n in sorted(rounds)]
    )
    people = {p.seed: p.event_player_id for p in service.players(session, finals)}
    names = {
        ep.id: ep
        for ep in session.scalars(select(EventPlayer).where(EventPlayer.id.in_(people.values())))
    }
    return [
        {
            "rank": row.rank,
            "seed": row.seed,
            "player_id": people[row.seed],
            "number": names[people[row.seed]].number,
            "name": names[people[row.seed]].name,
            "points": row.points,
            "games": row.games,
        }
        for row in rows
        if row.seed in people
    ]
