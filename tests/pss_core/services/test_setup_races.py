"""Races on team membership, with real threads and connections on PostgreSQL: two tournament
directors put one player on two teams at once, or fill the last place of a team twice. With the
services' row locks one of them wins and the other gets a plain refusal; as a negative control,
without the locks the same scenario really does break the rule at least once in a bounded number
of tries. Only the locks protect these rules: no constraint limits a player to one team or a team
to its tournament's size."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pss_core.models import EventPlayer, Team, TeamMember
from pss_core.services import locking, setup

from .conftest import World, build_world
from .racing import Outcome, run_at_once

PROTECTED_ROUNDS = 3
CONTROL_TRIES = 8


@attrs.frozen
class Round:
    outcomes: list[Outcome]
    violations: list[str]

    @property
    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == "error"]


def _fresh(engine: Any, pss: Any, prepare: Callable[[World], Any]) -> tuple[World, Any]:
    with Session(bind=engine, expire_on_commit=False) as s:
        w = build_world(s, pss, players=4)
        extra = prepare(w)
        s.commit()
    return w, extra


def one_player_two_teams(engine: Any, pss: Any) -> Round:
    """Two directors put the same player on two different teams at the same moment."""

    def prepare(w: World) -> tuple[int, list[int]]:
        ada, bo, cy = w.players[:3]
        teams = [w.team("Flippers", bo), w.team("Tilters", cy)]
        w.session.flush()
        return ada.id, [t.id for t in teams]

    w, (player_id, team_ids) = _fresh(engine, pss, prepare)

    def job(team_id: int) -> Callable[[Session], Any]:
        return lambda s: (
            setup.add_team_member(
                s, s.get_one(Team, team_id), s.get_one(EventPlayer, player_id), actor=w.td
            ).id
        )

    outcomes = run_at_once(engine, [job(t) for t in team_ids])
    with Session(bind=engine) as s:
        teams = (
            s.scalar(
                select(func.count(TeamMember.id)).where(TeamMember.event_player_id == player_id)
            )
            or 0
        )
    return Round(outcomes, [f"the player is on {teams} teams"] if teams > 1 else [])


def last_place_twice(engine: Any, pss: Any) -> Round:
    """A team of two in an event whose team tournament allows three: two directors each add
    another player at the same moment."""

    def prepare(w: World) -> tuple[int, list[int]]:
        w.tournament("doubles", "team", options={"team_size": 3}, machines=1)
        ada, bo, cy, di = w.players
        team = w.team("Flippers", ada, bo)
        w.session.flush()
        return team.id, [cy.id, di.id]

    w, (team_id, player_ids) = _fresh(engine, pss, prepare)

    def job(player_id: int) -> Callable[[Session], Any]:
        return lambda s: (
            setup.add_team_member(
                s, s.get_one(Team, team_id), s.get_one(EventPlayer, player_id), actor=w.td
            ).id
        )

    outcomes = run_at_once(engine, [job(p) for p in player_ids])
    with Session(bind=engine) as s:
        size = s.scalar(select(func.count(TeamMember.id)).where(TeamMember.team_id == team_id)) or 0
    return Round(outcomes, [f"the team has {size} players of at most 3"] if size > 3 else [])


#: Each scenario, the refusal its loser gets with the locks, and the violation it shows without.
SCENARIOS = {
    "one player, two teams": (one_player_two_teams, "already_on_team", "the player is on 2 teams"),
    "the last place twice": (last_place_twice, "team_full", "the team has 4 players of at most 3"),
}


@pytest.mark.postgres_only
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_team_members_under_concurrency(committed_engine: Any, pss: Any, name: str) -> None:
    """Protected by row locks only (the player and team rows)."""
    scenario, code, _ = SCENARIOS[name]
    for _ in range(PROTECTED_ROUNDS):
        r = scenario(committed_engine, pss)
        assert not r.errors, [repr(o.value) for o in r.errors]
        assert not r.violations, r.violations
        assert sorted(o.kind for o in r.outcomes) == ["ok", "refused"]
        [refusal] = [o.value for o in r.outcomes if o.kind == "refused"]
        assert refusal.code == code


@pytest.mark.postgres_only
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_without_the_locks_the_team_rules_break(committed_engine: Any, pss: Any, name: str) -> None:
    """The negative control: the same scenario without the row locks breaks the rule (both
    directors succeed). Any exception fails it."""
    scenario, _, shows = SCENARIOS[name]
    seen = []
    with locking.unprotected():
        for _ in range(CONTROL_TRIES):
            r = scenario(committed_engine, pss)
            assert not r.errors, [repr(o.value) for o in r.errors]
            if shows in r.violations:
                assert sorted(o.kind for o in r.outcomes) == ["ok", "ok"]
                return
            seen.append(r.violations)
    pytest.fail(f"no {shows!r} without the locks in {CONTROL_TRIES} tries: {seen}")
