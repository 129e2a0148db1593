"""Races with real threads and connections, mostly on PostgreSQL: each scenario runs with the
services' row locks (nothing goes wrong, every loser gets a plain refusal) and, as a negative
control, without them (the same scenario really does go wrong at least once in a bounded number of
tries)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from pss_core.errors import Busy, Refused
from pss_core.models import (
    EventPlayer,
    QueueSlot,
    Score,
    Token,
    Tournament,
    TournamentMachine,
)
from pss_core.services import games, locking, queues, quotas, setup, tickets

from .conftest import build_world
from .invariants import problems
from .racing import Outcome, SecondActsMidway, Slow, constraints_off, run_at_once

PROTECTED_ROUNDS = 2
CONTROL_TRIES = 8


@attrs.frozen
class Round:
    outcomes: list[Outcome]
    violations: list[str]

    @property
    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == "error"]

    @property
    def oks(self) -> int:
        return sum(o.ok for o in self.outcomes)


Scenario = Callable[[Any, Any], Round]


def _fresh(engine, pss, prepare: Callable[[Any], Any], players: int = 4) -> tuple[Any, Any]:
    with Session(bind=engine, expire_on_commit=False) as s:
        w = build_world(s, pss, players=players)
        extra = prepare(w)
        s.commit()
    return w, extra


def _get(s: Session, model: Any, ident: int) -> Any:
    return s.get(model, ident)


def _check_protected(
    scenario: Scenario, engine, pss, *, backstops: tuple[str, ...] = ()
) -> list[Round]:
    """Protected rounds: with the schema as it is, and — where a constraint backs the locks up —
    again with those constraints dropped, to show that the locks alone keep the rule."""
    rounds = []
    for dropped in ((), backstops) if backstops else ((),):
        with constraints_off(engine, *dropped):
            for _ in range(PROTECTED_ROUNDS):
                r = scenario(engine, pss)
                assert not r.errors, [repr(o.value) for o in r.errors]
                assert not r.violations, r.violations
                rounds.append(r)
    return rounds


def _control(
    scenario: Scenario, engine, pss, *, shows: str, constraints: tuple[str, ...] = ()
) -> Round:
    """The negative control: without the locks (and without ``constraints``, where the database
    would otherwise refuse the write), the scenario must break the rule — a violation containing
    ``shows`` — within a bounded number of tries. Any exception fails it: a control proves the
    race by what ends up in the tables, never by a crash."""
    seen: list[list[str]] = []
    with constraints_off(engine, *constraints), locking.unprotected():
        for _ in range(CONTROL_TRIES):
            r = scenario(engine, pss)
            assert not r.errors, [repr(o.value) for o in r.errors]
            if any(shows in v for v in r.violations):
                return r
            seen.append(r.violations)
    pytest.fail(f"no {shows!r} observed without the locks in {CONTROL_TRIES} tries: {seen}")


@pytest.fixture
def slow_pss(make_pss):
    return make_pss(Slow(0.05))


# --- tickets --------------------------------------------------------------------------------


def last_tickets(engine, pss) -> Round:
    """Four desks each sell 2 of the last 4 tickets of a tournament."""

    def prepare(w):
        w.tournaments["main"].ticket_quota = 4
        return w.tournaments["main"].id

    w, tid = _fresh(engine, pss, prepare)

    def job(pid):
        return lambda s: (
            tickets.sell_tickets(
                s,
                pss,
                player=_get(s, EventPlayer, pid),
                count=2,
                tournament=_get(s, Tournament, tid),
                actor=w.desk,
            ).id
        )

    outcomes = run_at_once(engine, [job(p.id) for p in w.players])
    with Session(bind=engine) as s:
        sold = quotas.sold_or_held(s, _get(s, Tournament, tid), tickets.utcnow())
    violations = [f"{sold} tickets sold of a quota of 4"] if sold > 4 else []
    return Round(outcomes, violations)


@pytest.mark.postgres_only
def test_two_desks_never_sell_past_the_quota(committed_engine, slow_pss):
    """Protected by row locks only (the tournament row): no constraint counts tickets."""
    for r in _check_protected(last_tickets, committed_engine, slow_pss):
        assert r.oks == 2
        assert {o.value.code for o in r.outcomes if o.kind == "refused"} <= {
            "sold_out",
            "quota_exceeded",
        }


@pytest.mark.postgres_only
def test_control_quota_oversold_without_locks(committed_engine, slow_pss):
    """Without the tournament lock the desks sell more than the quota."""
    r = _control(last_tickets, committed_engine, slow_pss, shows="tickets sold of a quota of 4")
    assert r.oks > 2


def same_player_two_desks(limit_field: str) -> Scenario:
    """Two desks sell 2 tickets each to one player whose cap allows 3 (max unused tickets, or
    a limited-HERB entry cap)."""

    def scenario(engine, pss) -> Round:
        def prepare(w):
            if limit_field == "max_unused":
                t = w.tournaments["main"]
                t.max_unused_tickets = 3
            else:
                t = w.tournament("limited", "limited_herb", options={"max_entries": 3})
            return t.id

        w, tid = _fresh(engine, pss, prepare, players=1)
        pid = w.players[0].id

        def job(s):
            return tickets.sell_tickets(
                s,
                pss,
                player=_get(s, EventPlayer, pid),
                count=2,
                tournament=_get(s, Tournament, tid),
                actor=w.desk,
            ).id

        outcomes = run_at_once(engine, [job, job])
        with Session(bind=engine) as s:
            held = s.scalar(
                select(func.count(Token.id)).where(
                    Token.player_id == pid, Token.tournament_id == tid
                )
            )
        return Round(outcomes, [f"player holds {held} of at most 3"] if held > 3 else [])

    return scenario


@pytest.mark.postgres_only
@pytest.mark.parametrize("cap", ["max_unused", "limited_herb"])
def test_caps_hold_under_concurrent_desks(committed_engine, slow_pss, cap):
    """Protected by row locks only (the player row): no constraint counts a player's tickets."""
    for r in _check_protected(same_player_two_desks(cap), committed_engine, slow_pss):
        assert r.oks == 1
        refused = [o.value.code for o in r.outcomes if o.kind == "refused"]
        assert refused == ["max_unused_tickets" if cap == "max_unused" else "entry_cap_reached"]


@pytest.mark.postgres_only
@pytest.mark.parametrize("cap", ["max_unused", "limited_herb"])
def test_control_caps_exceeded_without_locks(committed_engine, slow_pss, cap):
    """Without the player lock both desks sell: the player holds 4 of at most 3."""
    r = _control(
        same_player_two_desks(cap), committed_engine, slow_pss, shows="player holds 4 of at most 3"
    )
    assert r.oks == 2


# --- queues ---------------------------------------------------------------------------------


def crowd_joins_one_queue(engine, pss) -> Round:
    """Six players join one machine's queue at the same moment."""

    def prepare(w):
        for p in w.players:
            w.sell(p, 1)
        return w.m().id

    w, mid = _fresh(engine, pss, prepare, players=6)

    def job(pid):
        return lambda s: (
            queues.join_queue(
                s,
                pss,
                machine=_get(s, TournamentMachine, mid),
                player=_get(s, EventPlayer, pid),
                actor=w.sk,
            ).position
        )

    outcomes = run_at_once(engine, [job(p.id) for p in w.players])
    with Session(bind=engine) as s:
        found = problems(s, w.event.id, pss)
        n = s.scalar(select(func.count(QueueSlot.id)).where(QueueSlot.tournament_machine_id == mid))
    if n != sum(o.ok for o in outcomes):
        found.append(f"{n} places for {sum(o.ok for o in outcomes)} joins")
    return Round(outcomes, found)


@pytest.mark.postgres_only
def test_queue_positions_stay_contiguous_under_a_crowd(committed_engine, slow_pss):
    """Protected by row locks only (the machine row): positions have no unique constraint."""
    for r in _check_protected(crowd_joins_one_queue, committed_engine, slow_pss):
        assert r.oks == 6
        assert sorted(o.value for o in r.outcomes) == [1, 2, 3, 4, 5, 6]


@pytest.mark.postgres_only
def test_control_queue_positions_collide_without_locks(committed_engine, slow_pss):
    """Without the machine lock two joins take the same position."""
    _control(crowd_joins_one_queue, committed_engine, slow_pss, shows="has positions")


QUEUE_BACKSTOPS = ("uq_queue_slots_player_id",)


def one_player_two_queues(engine, pss) -> Round:
    """A player (on the phone) and a scorekeeper put the same player in two queues at once."""

    def prepare(w):
        w.sell(w.players[0], 2)
        return w.m(i=0).id, w.m(i=1).id

    w, (m0, m1) = _fresh(engine, pss, prepare, players=1)
    pid = w.players[0].id

    def job(mid):
        return lambda s: (
            queues.join_queue(
                s,
                pss,
                machine=_get(s, TournamentMachine, mid),
                player=_get(s, EventPlayer, pid),
                actor=w.sk,
            ).machine_id
        )

    outcomes = run_at_once(engine, [job(m0), job(m1)])
    with Session(bind=engine) as s:
        found = problems(s, w.event.id, pss)
        n = s.scalar(select(func.count(QueueSlot.id)).where(QueueSlot.player_id == pid))
    if n != 1:
        found.append(f"player is in {n} queues")
    return Round(outcomes, found)


@pytest.mark.postgres_only
def test_a_player_is_never_in_two_queues(committed_engine, slow_pss):
    """Protected by both: the player row lock, and the unique index on queue_slots.player_id as
    a backstop. The rounds run with the index dropped too, so the locks alone are shown to
    suffice."""
    for r in _check_protected(
        one_player_two_queues, committed_engine, slow_pss, backstops=QUEUE_BACKSTOPS
    ):
        # Both requests succeed: the later one moves the player to its machine.
        assert r.oks == 2


@pytest.mark.postgres_only
def test_control_two_queues_race_without_locks(committed_engine, slow_pss):
    """Without the locks and without the unique index (which would otherwise turn the second
    place into a raw integrity error, a 500), both joins succeed and the player waits in two
    queues at once."""
    r = _control(
        one_player_two_queues,
        committed_engine,
        slow_pss,
        shows="is in 2 queues",
        constraints=QUEUE_BACKSTOPS,
    )
    assert r.oks == 2


# --- games ----------------------------------------------------------------------------------


def member_and_team_start(engine, pss) -> Round:
    """Ada starts on a Main machine while her teammate starts their team game on Split."""

    def prepare(w):
        w.tournament("split", "team", options={"team_size": 2})
        ada, bo = w.players[:2]
        w.team("Flippers", ada, bo)
        w.sell(ada, 1)
        w.sell(ada, 1, "split")
        return w.m().id, w.m("split").id

    w, (main_m, split_m) = _fresh(engine, pss, prepare, players=2)
    ada, bo = (p.id for p in w.players)

    def start(mid, pid):
        return lambda s: (
            games.start_game(
                s,
                pss,
                machine=_get(s, TournamentMachine, mid),
                player=_get(s, EventPlayer, pid),
                actor=w.sk,
            ).token_id
        )

    outcomes = run_at_once(engine, [start(main_m, ada), start(split_m, bo)])
    with Session(bind=engine) as s:
        return Round(outcomes, problems(s, w.event.id, pss))


@pytest.mark.postgres_only
def test_a_player_is_never_on_two_machines_through_a_team(committed_engine, slow_pss):
    """Protected by row locks only (the player and team rows): the unique indexes on
    tournament_machines cover one player or one team, not a player and their team."""
    for r in _check_protected(member_and_team_start, committed_engine, slow_pss):
        assert r.oks == 1
        assert next(o.value.code for o in r.outcomes if o.kind == "refused") in (
            "already_playing",
            "team_member_busy",
        )


@pytest.mark.postgres_only
def test_control_player_on_two_machines_without_locks(committed_engine, slow_pss):
    """Without the locks Ada plays Main while her team plays Split: she is on two machines."""
    r = _control(member_and_team_start, committed_engine, slow_pss, shows="is on 2 machines")
    assert r.oks == 2


def two_tournaments_one_machine(engine, pss) -> Round:
    """Two scorekeepers start a Main game and a PAPA game on the one bank machine both
    tournaments share, at the same moment."""

    def prepare(w):
        papa = w.tournament("papa", "papa", machines=1, options={"games_per_entry": 2})
        shared = setup.add_machine(w.session, papa, w.m().machine.name)
        ada, bo = w.players[:2]
        w.sell(ada, 1)
        w.sell(bo, 1, "papa")
        return w.m().id, shared.id

    w, (main_m, papa_m) = _fresh(engine, pss, prepare, players=2)
    ada, bo = (p.id for p in w.players)

    def start(mid, pid):
        return lambda s: (
            games.start_game(
                s,
                pss,
                machine=_get(s, TournamentMachine, mid),
                player=_get(s, EventPlayer, pid),
                actor=w.sk,
            ).token_id
        )

    outcomes = run_at_once(engine, [start(main_m, ada), start(papa_m, bo)])
    with Session(bind=engine) as s:
        return Round(outcomes, problems(s, w.event.id, pss))


@pytest.mark.postgres_only
def test_one_game_at_a_time_on_a_machine_two_tournaments_share(committed_engine, slow_pss):
    """Protected by the physical machine's rows (locked in every tournament), backed by the
    partial unique index on (event, machine) over games in progress."""
    for r in _check_protected(
        two_tournaments_one_machine,
        committed_engine,
        slow_pss,
        backstops=("uq_tournament_machines_one_game",),
    ):
        assert r.oks == 1
        assert next(o.value.code for o in r.outcomes if o.kind == "refused") == "machine_busy"


@pytest.mark.postgres_only
def test_control_two_games_on_one_machine_without_locks(committed_engine, slow_pss):
    """Without the locks and the index, both games start: one machine runs two games."""
    r = _control(
        two_tournaments_one_machine,
        committed_engine,
        slow_pss,
        shows="runs 2 games",
        constraints=("uq_tournament_machines_one_game",),
    )
    assert r.oks == 2


def same_game_twice(first: str, second: str) -> Scenario:
    """Two scorekeepers end the same game (the one each sees on their screen) while the next
    player waits in the machine's queue: the second acts while the first one's ending is in
    flight (made certain by :class:`SecondActsMidway`, not left to timing)."""

    def end(kind, mid, token_id, pss, sk):
        def run(s):
            machine = _get(s, TournamentMachine, mid)
            if kind == "record":
                return games.record_score(
                    s, pss, machine=machine, score=12_345, actor=sk, token_id=token_id
                ).token_id
            if kind == "void":
                return games.void_game(
                    s, pss, machine=machine, actor=sk, token_id=token_id
                ).token_id
            return games.remove_from_machine(
                s, pss, machine=machine, actor=sk, token_id=token_id, advance=False
            ).token_id

        return run

    def scenario(engine, pss) -> Round:
        def prepare(w):
            ada, bo = w.players[:2]
            w.sell(ada, 2)
            w.sell(bo, 2)
            started = w.start(ada, w.m())
            w.join(bo, w.m())
            return w.m().id, started.token_id

        w, (mid, token_id) = _fresh(engine, pss, prepare, players=2)
        gate = SecondActsMidway()
        pss.pm.register(gate)
        try:
            outcomes = run_at_once(
                engine,
                [
                    gate.first(end(first, mid, token_id, pss, w.sk)),
                    gate.second(end(second, mid, token_id, pss, w.sk)),
                ],
            )
        finally:
            pss.pm.unregister(gate)
        with Session(bind=engine) as s:
            found = problems(s, w.event.id, pss)
            token = _get(s, Token, token_id)
            endings = sum(x is not None for x in (token.used_at, token.voided_at))
            if sum(o.ok for o in outcomes) != 1:
                found.append(f"{sum(o.ok for o in outcomes)} scorekeepers ended one game")
            if endings > 1:
                found.append("the token was ended twice")
            n = s.scalar(select(func.count(Score.id)).where(Score.token_id == token_id))
            if n > 1:
                found.append(f"{n} scores for one game")
        return Round(outcomes, found)

    return scenario


PAIRS = [("record", "record"), ("record", "void"), ("record", "remove")]
#: What the database refuses when a game is ended twice, by pair.
GAME_BACKSTOPS = {
    ("record", "record"): ("uq_scores_token_id", "uq_scores_entry_id_tournament_machine_id"),
    ("record", "void"): ("ck_tokens_one_ending",),
    ("record", "remove"): (),
}


@pytest.mark.postgres_only
@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_a_game_is_ended_exactly_once(committed_engine, slow_pss, first, second):
    """Protected by the machine row lock (the late scorekeeper is told the game changed), with
    the database as a backstop where it has a rule for it: two scores are refused by the unique
    constraints on scores, a score and a void by the one-ending CHECK on tokens; a score and a
    removal only by the locks. The rounds run with the backstops dropped too, so the locks alone
    are shown to suffice."""
    for r in _check_protected(
        same_game_twice(first, second),
        committed_engine,
        slow_pss,
        backstops=GAME_BACKSTOPS[(first, second)],
    ):
        loser = next(o for o in r.outcomes if o.kind == "refused").value
        assert isinstance(loser, Refused)
        assert loser.code == "game_changed"


@pytest.mark.postgres_only
@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_control_game_ended_twice_without_locks(committed_engine, slow_pss, first, second):
    """Without the locks and without the backstop constraints (which would otherwise turn the
    second ending into a raw integrity error, a 500), both scorekeepers end the same game: two
    scores, a token both used and void, or a used token taken off its entry."""
    r = _control(
        same_game_twice(first, second),
        committed_engine,
        slow_pss,
        shows="2 scorekeepers ended one game",
        constraints=GAME_BACKSTOPS[(first, second)],
    )
    assert r.oks == 2


def scores_on_every_machine(engine, pss) -> Round:
    """Three scorekeepers record three games of one tournament at once: every score is kept and
    the tournament's version (which standings caches key on) counts every one of them."""

    def prepare(w):
        for i, p in enumerate(w.players[:3]):
            w.sell(p, 1)
            w.start(p, w.m(i=i))
        return w.tournaments["main"].id, w.tournaments["main"].version

    w, (tid, v0) = _fresh(engine, pss, prepare, players=3)
    mids = [m.id for m in w.machines["main"]]

    def job(mid, score):
        return lambda s: (
            games.record_score(
                s, pss, machine=_get(s, TournamentMachine, mid), score=score, actor=w.sk
            ).score_id
        )

    outcomes = run_at_once(engine, [job(mid, 1000 + i) for i, mid in enumerate(mids)])
    with Session(bind=engine) as s:
        found = problems(s, w.event.id, pss)
        kept = sorted(
            s.scalars(
                select(Score.score)
                .join(TournamentMachine, Score.tournament_machine_id == TournamentMachine.id)
                .where(TournamentMachine.tournament_id == tid)
            ).all()
        )
        version = _get(s, Tournament, tid).version
    recorded = sum(o.ok for o in outcomes)
    if kept != [1000 + i for i, o in enumerate(outcomes) if o.ok]:
        found.append(f"scores kept {kept}")
    if version != v0 + recorded:
        found.append(
            f"version {version} after {recorded} scores from {v0}: a score is "
            "missing from what standings see"
        )
    return Round(outcomes, found)


@pytest.mark.postgres_only
def test_no_score_is_lost_when_all_machines_finish_at_once(committed_engine, slow_pss):
    """Protected by the machine locks and one atomic ``version = version + 1`` per score (the
    tournament's version counts every score; the tournament row is not locked beforehand)."""
    for r in _check_protected(scores_on_every_machine, committed_engine, slow_pss):
        assert r.oks == 3


@pytest.mark.postgres_only
def test_control_scores_lost_from_version_without_locks(committed_engine, slow_pss):
    """Without the atomic bump (the version read before, plus one, written back) two bumps
    collapse into one: standings would miss a score."""
    r = _control(
        scores_on_every_machine, committed_engine, slow_pss, shows="missing from what standings see"
    )
    assert r.oks == 3


# --- busy -----------------------------------------------------------------------------------


@pytest.mark.postgres_only
def test_a_held_lock_answers_busy_and_leaves_the_session_usable(committed_engine, pss, monkeypatch):
    w, mid = _fresh(
        committed_engine, pss, lambda w: (w.sell(w.players[0], 1), w.m().id)[1], players=1
    )
    pid = w.players[0].id
    monkeypatch.setattr(locking, "LOCK_TIMEOUT_MS", 200)
    with Session(bind=committed_engine) as holder, Session(bind=committed_engine) as other:
        locking.lock_machines(holder, [mid])  # a scorekeeper's transaction, still open
        with pytest.raises(Busy) as err:
            games.start_game(
                other,
                pss,
                machine=_get(other, TournamentMachine, mid),
                player=_get(other, EventPlayer, pid),
                actor=w.sk,
            )
        assert (
            err.value.message == "This machine is busy with another change; try again in a moment."
        )
        assert err.value.code == "busy"
        # The savepoint was rolled back: the same transaction still works.
        assert other.scalar(select(func.count(Token.id))) == 1
        holder.rollback()
        started = games.start_game(
            other,
            pss,
            machine=_get(other, TournamentMachine, mid),
            player=_get(other, EventPlayer, pid),
            actor=w.sk,
        )
        other.commit()
    assert started.player_id == pid


# --- SQLite ---------------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_sqlite_serialises_desks_with_its_write_lock(committed_engine, slow_pss):
    """SQLite has no row locks: the first lock claims the database's write lock. A desk whose
    transaction has already read cannot wait for it (SQLite would deadlock), so it is told to try
    again; nobody oversells and nothing fails with a raw error."""
    r = last_tickets(committed_engine, slow_pss)
    assert not r.errors, [repr(o.value) for o in r.errors]
    assert not r.violations
    assert 1 <= r.oks <= 2
    assert {o.value.code for o in r.outcomes if o.kind == "refused"} <= {
        "busy",
        "sold_out",
        "quota_exceeded",
    }


@pytest.mark.sqlite_only
def test_control_sqlite_without_the_write_lock(committed_engine, slow_pss):
    """What the write lock protects on SQLite: not the quota (SQLite's own database lock lets one
    writer in at a time, so nobody oversells either way) but the answer. Without it, a desk whose
    transaction read before another desk wrote hits SQLite's deadlock refusal and fails with a raw
    "database is locked" error — a 500 — instead of a typed "busy". Any other exception, or an
    oversell, fails the control."""
    seen = []
    with locking.unprotected():
        for _ in range(CONTROL_TRIES):
            r = last_tickets(committed_engine, slow_pss)
            assert not r.violations, r.violations
            raw = [o.value for o in r.errors]
            assert all(
                isinstance(e, OperationalError) and "database is locked" in str(e.orig) for e in raw
            ), [repr(e) for e in raw]
            if raw:
                return
            seen.append([o.kind for o in r.outcomes])
    pytest.fail(f"no raw lock error without the write lock in {CONTROL_TRIES} tries: {seen}")
