"""One physical machine in several tournaments' banks; removed machines in the results; the
PAPA-style queue refusal (both backends)."""

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pss_core.errors import Refused
from pss_core.models import MachineStatus, Token, TournamentMachine
from pss_core.services import admin, games, machines, queues, setup
from pss_core.standings import compute_standings
from pss_core.standings.compute import ranking_for
from pss_core.standings.sql import all_competitors, bank, relabel, score_rows


def _shared(world):
    """A PAPA tournament whose bank has the HERB tournament's first machine too."""
    world.tournament("papa", "papa", machines=2, options={"games_per_entry": 2})
    shared = setup.add_machine(world.session, world.tournaments["papa"], world.m().machine.name)
    return world.m(), shared


def test_one_game_at_a_time_on_a_machine_in_two_tournaments(world):
    herb_m, papa_m = _shared(world)
    ada, bo = world.players[:2]
    world.sell(ada, 1)
    world.sell(bo, 1, "papa")
    world.start(ada, herb_m)
    with pytest.raises(Refused) as exc:
        world.start(bo, papa_m)
    assert exc.value.code == "machine_busy"
    assert "for Main" in exc.value.message
    world.record(herb_m, 1000)
    world.start(bo, papa_m)
    assert papa_m.token_id is not None


def test_the_database_refuses_two_games_on_one_physical_machine(world):
    herb_m, papa_m = _shared(world)
    ada, bo = world.players[:2]
    world.sell(ada, 1)
    world.sell(bo, 1, "papa")
    world.start(ada, herb_m)
    token_id = world.session.scalar(select(Token.id).where(Token.player_id == bo.id))
    papa_m.player_id = bo.id
    papa_m.token_id = token_id
    with pytest.raises(IntegrityError) as exc:
        world.session.flush()
    assert "machine_id" in str(exc.value) or "uq_tournament_machines_one_game" in str(exc.value)


def test_down_marks_the_machine_down_in_every_tournament(world):
    herb_m, papa_m = _shared(world)
    machines.set_machine_status(
        world.session, world.pss, machine=papa_m, status="disable", actor=world.sk
    )
    assert (herb_m.status, papa_m.status) == (MachineStatus.DISABLED, MachineStatus.DISABLED)
    machines.set_machine_status(
        world.session, world.pss, machine=herb_m, status="enable", actor=world.sk
    )
    assert (herb_m.status, papa_m.status) == (MachineStatus.ACTIVE, MachineStatus.ACTIVE)
    # Removal takes it out of one bank only.
    machines.set_machine_status(
        world.session, world.pss, machine=papa_m, status="remove", actor=world.td
    )
    assert (herb_m.status, papa_m.status) == (MachineStatus.ACTIVE, MachineStatus.REMOVED)


def test_the_longest_waiter_plays_next_whichever_tournament(world):
    herb_m, papa_m = _shared(world)
    ada, bo, cy = world.players[:3]
    world.sell(ada, 1)
    world.sell(bo, 1, "papa")
    world.sell(cy, 1)
    world.start(ada, herb_m)
    world.join(bo, papa_m)  # waits first, for PAPA
    world.join(cy, herb_m)  # then Cy, for Main
    board = queues.physical_queue(world.session, herb_m)
    assert [(row.player_id, row.tournament) for row in board] == [(bo.id, "Papa"), (cy.id, "Main")]
    ended = world.record(herb_m, 5000)
    assert ended.next_game is not None
    assert ended.next_game.machine_id == papa_m.id
    assert ended.next_game.player_id == bo.id
    assert herb_m.token_id is None
    assert world.queue(herb_m) == [cy.id]
    world.record(papa_m, 7000)
    assert herb_m.player_id == cy.id


def test_papa_refuses_a_queue_for_a_machine_the_open_entry_played(world):
    world.tournament("papa", "papa", machines=2, options={"games_per_entry": 2})
    ada = world.players[0]
    world.sell(ada, 1, "papa")
    m1 = world.m("papa", 0)
    world.start(ada, m1)
    world.record(m1, 100)
    with pytest.raises(Refused) as exc:
        world.join(ada, m1)
    assert exc.value.code == "machine_already_in_entry"
    assert "different machine" in exc.value.message
    assert world.queue(m1) == []
    world.join(ada, world.m("papa", 1))  # another machine is fine
    assert world.queue(world.m("papa", 1)) == [ada.id]


def _both_engines(world, slug):
    t = world.tournaments[slug]
    sql = compute_standings(world.session, world.pss, t)
    spec = world.pss.formats[t.format]
    options = spec.resolve_options(t.format_options or {})
    ref = relabel(
        spec.format.standings_from_rows(
            score_rows(world.session, t), options, ranking_for(world.pss)
        ),
        all_competitors(world.session, t, spec.team),
        bank(world.session, t.id),
    )
    return sql, ref


def _totals(standings):
    return {row.competitor.id: row.points for row in standings.rows}


def test_a_removed_machines_scores_keep_counting_unless_the_tournament_drops_them(world):
    ada, bo = world.players[:2]
    world.sell(ada, 2)
    world.sell(bo, 1)
    m0, m1 = world.m(), world.m(i=1)
    world.start(ada, m0)
    world.record(m0, 900)
    world.start(bo, m0)
    world.record(m0, 800)
    world.start(ada, m1)
    world.record(m1, 100)
    before_sql, before_ref = _both_engines(world, "main")
    machines.set_machine_status(
        world.session, world.pss, machine=m0, status="remove", actor=world.td
    )
    kept_sql, kept_ref = _both_engines(world, "main")
    assert _totals(kept_sql) == _totals(before_sql) == _totals(kept_ref) == _totals(before_ref)
    assert bo.id in _totals(kept_sql)
    assert m0.machine.name in kept_sql.machines
    with pytest.raises(Refused):
        world.start(bo, m0)  # nobody new starts on it
    admin.update_tournament(
        world.session,
        world.pss,
        world.tournaments["main"],
        actor=world.td,
        changes={"count_removed_machines": False},
    )
    dropped_sql, dropped_ref = _both_engines(world, "main")
    assert _totals(dropped_sql) == _totals(dropped_ref)
    assert bo.id not in _totals(dropped_sql)
    assert m0.machine.name not in dropped_sql.machines
    assert set(_totals(dropped_sql)) == {ada.id}


def test_same_machine_ids_are_the_event_rows_of_one_title(world):
    herb_m, papa_m = _shared(world)
    assert games.same_machine_ids(world.session, herb_m) == sorted([herb_m.id, papa_m.id])
    others = world.session.scalars(
        select(TournamentMachine.id).where(TournamentMachine.machine_id != herb_m.machine_id)
    ).all()
    assert not set(others) & set(games.same_machine_ids(world.session, herb_m))
