"""Random sequences of desk, scorekeeper and player actions keep the play-flow invariants: tokens
conserved (the paid ones partitioned by used, voided, refunded and unused, each counted from its own
condition — see ``invariants`` — and each used token with exactly one score), queue
positions 1..n, nobody in two queues, on two machines, or queued while playing; and every player's
remaining games match a simple model of sales and finished games. Runs on both backends."""

from __future__ import annotations

import contextlib
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from pss_core.audit import Actor
from pss_core.errors import DomainError
from pss_core.models import MachineStatus
from pss_core.services import games, machines, queues, tickets

from .conftest import build_world
from .invariants import problems

PLAYERS = 5
SLUGS = ("main", "classics", "split")
TOKENS_PER_TICKET = {"main": 1, "classics": 2, "split": 1}


def test_random_play_keeps_the_invariants(dbsession, pss):
    class Play(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.savepoint = dbsession.begin_nested()
            w = build_world(dbsession, pss, players=PLAYERS)
            w.tournaments["main"].max_unused_tickets = 4
            w.tournaments["main"].queue_limit = 3
            w.tournament("classics", "papa", options={"games_per_entry": 2}, machines=2)
            w.tournament("split", "team", options={"team_size": 2}, machines=1)
            self.team = w.team("Duo", w.players[3], w.players[4])
            self.w = w
            self.machines = [m for slug in SLUGS for m in w.machines[slug]]
            # The model: unused games per owner, ("p", player id) or ("t", team id).
            self.remaining: Counter[tuple[str, int]] = Counter()
            # Everyone starts with some games so the random steps mostly play.
            for player in w.players:
                w.sell(player, 3, "main")
                w.sell(player, 1, "classics")
                self.remaining[("p", player.id)] += 3 + 2
            w.sell(w.players[3], 2, "split")
            self.remaining[("t", self.team.id)] += 2
            w.start(w.players[0], w.m("main", 0))
            w.start(w.players[1], w.m("classics", 0))
            w.join(w.players[2], w.m("main", 0))

        def teardown(self) -> None:
            self.savepoint.rollback()
            # Ids are handed out again after the rollback; forget the old objects.
            dbsession.expunge_all()

        def _owner(self, player_id: int | None, team_id: int | None) -> tuple[str, int]:
            return ("t", team_id) if team_id is not None else ("p", player_id or 0)

        @rule(
            p=st.integers(0, PLAYERS - 1),
            n=st.integers(1, 3),
            slug=st.sampled_from(SLUGS),
            comp=st.booleans(),
        )
        def sell(self, p: int, n: int, slug: str, comp: bool) -> None:
            player = self.w.players[p]
            try:
                purchase = self.w.sell(player, n, slug, channel="comp" if comp else "desk")
            except DomainError:
                return
            self.remaining[self._owner(player.id, purchase.team_id)] += n * TOKENS_PER_TICKET[slug]

        @rule(p=st.integers(0, PLAYERS - 1), m=st.integers(0, 5))
        def start(self, p: int, m: int) -> None:
            with contextlib.suppress(DomainError):
                self.w.start(self.w.players[p], self.machines[m])

        @rule(
            m=st.integers(0, 5),
            how=st.sampled_from(["score", "void", "misconduct", "remove"]),
            score=st.integers(0, 2**63 - 1),
            advance=st.booleans(),
        )
        def end(self, m: int, how: str, score: int, advance: bool) -> None:
            # Mostly end a game that is in progress; sometimes try a free machine.
            busy = [x for x in self.machines if x.token_id is not None]
            machine = busy[m % len(busy)] if busy and m < 5 else self.machines[m]
            kw: dict[str, Any] = {"machine": machine, "actor": self.w.sk, "advance": advance}
            try:
                if how == "score":
                    ended = games.record_score(dbsession, pss, score=score, **kw)
                elif how == "void":
                    ended = games.void_game(dbsession, pss, **kw)
                elif how == "misconduct":
                    ended = games.misconduct(dbsession, pss, **kw)
                else:
                    ended = games.remove_from_machine(dbsession, pss, **kw)
            except DomainError:
                return
            if not ended.removed:
                self.remaining[self._owner(ended.player_id, ended.team_id)] -= 1

        @rule(p=st.integers(0, PLAYERS - 1), m=st.integers(0, 5), self_service=st.booleans())
        def join(self, p: int, m: int, self_service: bool) -> None:
            player = self.w.players[p]
            actor = Actor("player", player_id=player.id) if self_service else self.w.sk
            with contextlib.suppress(DomainError):
                self.w.join(player, self.machines[m], actor=actor)

        @rule(p=st.integers(0, PLAYERS - 1))
        def leave(self, p: int) -> None:
            with contextlib.suppress(DomainError):
                queues.leave_queue(dbsession, pss, player=self.w.players[p], actor=self.w.sk)

        @rule(m=st.integers(0, 5))
        def bump(self, m: int) -> None:
            with contextlib.suppress(DomainError):
                queues.bump(dbsession, pss, machine=self.machines[m], actor=self.w.sk)

        @rule(m=st.integers(0, 5))
        def start_from_head(self, m: int) -> None:
            with contextlib.suppress(DomainError):
                queues.start_from_head(dbsession, pss, machine=self.machines[m], actor=self.w.sk)

        @rule(p=st.integers(0, PLAYERS - 1), m=st.integers(0, 5))
        def insert_at_head(self, p: int, m: int) -> None:
            with contextlib.suppress(DomainError):
                queues.insert_at_head(
                    dbsession,
                    pss,
                    machine=self.machines[m],
                    player=self.w.players[p],
                    actor=self.w.td,
                )

        # Mostly back up; removing a machine is rare at a real event.
        @rule(
            m=st.integers(0, 5),
            status=st.sampled_from(
                [MachineStatus.ACTIVE] * 3 + [MachineStatus.DISABLED] * 2 + [MachineStatus.REMOVED]
            ),
        )
        def machine_status(self, m: int, status: MachineStatus) -> None:
            # Scorekeepers mark machines down and up; removing one is the director's.
            actor = self.w.td if status == MachineStatus.REMOVED else self.w.sk
            machines.set_machine_status(
                dbsession, pss, machine=self.machines[m], status=status, actor=actor
            )

        @rule(on=st.booleans())
        def queuing(self, on: bool) -> None:
            queues.set_queuing(
                dbsession, pss, tournament=self.w.tournaments["main"], enabled=on, actor=self.w.td
            )

        @invariant()
        def tables_are_consistent(self) -> None:
            dbsession.flush()
            assert problems(dbsession, self.w.event.id, pss) == []

        @invariant()
        def remaining_games_match_the_model(self) -> None:
            seen: Counter[tuple[str, int]] = Counter()
            for player in self.w.players:
                for row in tickets.ticket_summary(dbsession, player):
                    if row.team_id is None:
                        seen[("p", player.id)] += row.remaining
                    elif player.id == self.w.players[3].id:  # count the team once
                        seen[("t", row.team_id)] += row.remaining
            assert +seen == +self.remaining

    # Fewer runs on PostgreSQL, whose round trips make each step dearer; same invariants.
    examples = 12 if dbsession.get_bind().dialect.name == "sqlite" else 6
    run_state_machine_as_test(
        Play,
        settings=settings(
            max_examples=examples,
            stateful_step_count=35,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
