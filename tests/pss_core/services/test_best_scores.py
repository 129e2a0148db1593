"""The ``best_scores`` table kept in the transaction of every score, void, correction and machine
change: after random sequences of them, the kept rows are the rows worked out again from every
score, and the standings read from them equal the reference engine over the stored scores."""

import random

import pytest
from sqlalchemy import select

from pss_core.errors import DomainError
from pss_core.models import BestScore, Entry, EntryStatus, MachineStatus, Score
from pss_core.services import best_scores, corrections, machines, setup
from pss_core.standings import compute_standings, entry_standings, herb_standings, score_rows

PLAYERS = [f"P{i}" for i in range(1, 7)]
MACHINES = ["A", "B", "C", "D"]


def kept(session, t):
    rows = session.execute(
        select(
            BestScore.tournament_machine_id,
            BestScore.player_id,
            BestScore.team_id,
            BestScore.entry_id,
            BestScore.high,
            BestScore.low,
        ).where(BestScore.tournament_id == t.id)
    )
    return sorted((tuple(r) for r in rows), key=lambda r: [-1 if v is None else v for v in r])


def rebuilt(session, t):
    savepoint = session.begin_nested()
    try:
        best_scores.rebuild(session, [t.id])
        return kept(session, t)
    finally:
        savepoint.rollback()


def view(s):
    return [
        (
            row.rank,
            row.name,
            row.points,
            [(m.machine, m.score, m.rank, m.points, m.counted) for m in row.machines],
            [
                (e.entry, e.points, e.counted, [(g.machine, g.score, g.rank) for g in e.games])
                for e in row.entries
            ],
        )
        for row in s
    ]


def reference(board, t, fmt):
    rows = score_rows(board.session, t)
    curve = board.pss.curves["papa"]
    if fmt == "papa":
        # Complete entries only already (score_rows); a game on a dropped machine leaves its entry.
        return entry_standings(rows, entries_counted=2, curve=curve)
    return herb_standings(rows, machines_counted=2, curve=curve)


def step(board, t, rnd, fmt):
    """One random change through the services; refusals (a removed machine, an entry in the
    wrong state) are part of the sequence and change nothing."""
    s = board.session
    entries = s.scalars(select(Entry).where(Entry.tournament_id == t.id).order_by(Entry.id)).all()
    scores = s.scalars(
        select(Score).join(Entry).where(Entry.tournament_id == t.id).order_by(Score.id)
    ).all()
    kind = rnd.choice(["play"] * 5 + ["void", "unvoid", "edit", "missing", "remove", "restore"])
    machine = board.machine(t, rnd.choice(MACHINES))
    savepoint = s.begin_nested()
    try:
        if kind == "play":
            board.play(t, rnd.choice(PLAYERS), machine.machine.name, rnd.randrange(0, 8))
        elif kind == "void" and entries:
            corrections.void_entry(s, board.pss, entry=rnd.choice(entries), actor=board.td)
        elif kind == "unvoid" and entries:
            corrections.unvoid_entry(s, board.pss, entry=rnd.choice(entries), actor=board.td)
        elif kind == "edit" and scores:
            corrections.edit_score(
                s,
                board.pss,
                score=rnd.choice(scores),
                new_score=rnd.randrange(0, 8),
                actor=board.td,
            )
        elif kind == "missing":
            corrections.add_missing_score(
                s,
                board.pss,
                machine=machine,
                player=board.player(rnd.choice(PLAYERS)),
                score=rnd.randrange(0, 8),
                actor=board.td,
            )
        elif kind == "remove":
            machines.set_machine_status(
                s, board.pss, machine=machine, status=MachineStatus.REMOVED, actor=board.td
            )
        elif kind == "restore" and machine.status == MachineStatus.REMOVED:
            setup.add_machine(s, t, machine.machine.name)
    except DomainError:
        savepoint.rollback()
        return kind, False
    savepoint.commit()
    return kind, True


@pytest.mark.parametrize(
    ("fmt", "seed", "count_removed"),
    [("herb", 1, True), ("herb", 2, False), ("papa", 3, True), ("papa", 4, False)],
)
def test_kept_rows_and_standings_agree_with_every_score(board, fmt, seed, count_removed):
    options = (
        {"machines_counted": 2} if fmt == "herb" else {"games_per_entry": 2, "entries_counted": 2}
    )
    t = board.tournament(fmt, MACHINES, options={**options, "points_curve": "papa"})
    t.count_removed_machines = count_removed
    for p in PLAYERS:
        board.sell(p, 30, t)
    rnd = random.Random(seed)
    done = set()
    for _ in range(60):
        kind, ok = step(board, t, rnd, fmt)
        if ok:
            done.add(kind)
        assert kept(board.session, t) == rebuilt(board.session, t), kind
        assert view(compute_standings(board.session, board.pss, t)) == view(
            reference(board, t, fmt)
        ), kind
    # The sequence really did score, void, correct and remove (else it proves little).
    assert {"play", "void", "edit", "missing", "remove"} <= done
    assert board.session.scalar(select(BestScore.id).where(BestScore.tournament_id == t.id))


def test_rows_of_a_voided_entry_go_and_come_back(board):
    t = board.tournament("herb", MACHINES, options={"machines_counted": 2})
    board.sell("P1", 3, t)
    board.play(t, "P1", "A", 50)
    board.play(t, "P1", "A", 70)
    entry = board.session.scalars(
        select(Entry).where(Entry.tournament_id == t.id).order_by(Entry.id.desc())
    ).first()
    assert entry.status == EntryStatus.COMPLETE
    best = [r for r in kept(board.session, t) if r[3] is None]
    assert [(r[4], r[5]) for r in best] == [(70, 50)]
    corrections.void_entry(board.session, board.pss, entry=entry, actor=board.td)
    assert [(r[4], r[5]) for r in kept(board.session, t) if r[3] is None] == [(50, 50)]
    corrections.unvoid_entry(board.session, board.pss, entry=entry, actor=board.td)
    assert [(r[4], r[5]) for r in kept(board.session, t) if r[3] is None] == [(70, 50)]
