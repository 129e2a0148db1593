"""A machine's status: down, back up, removed; who may change it (both backends)."""

import pytest
from sqlalchemy import func, select

from pss_core.audit import Actor
from pss_core.errors import InvalidInput, PermissionDenied, Refused
from pss_core.models import AuditLog, MachineStatus, Token
from pss_core.services import machines, setup


def test_disable_freezes_queue_and_lets_the_game_finish(world):
    ada, bo, cy = world.players[:3]
    for p in (ada, bo, cy):
        world.sell(p, 2)
    m = world.m()
    world.start(ada, m)
    world.join(bo, m)
    world.join(cy, m)
    change = machines.set_machine_status(
        world.session, world.pss, machine=m, status="disable", actor=world.sk, reason="flipper coil"
    )
    assert change.changed
    assert sorted(change.told) == sorted([bo.id, cy.id])
    assert world.notes(bo) == ["machine_down"]
    with pytest.raises(Refused) as err:
        world.join(world.players[3], m)
    assert err.value.code == "machine_down"
    ended = world.record(m, 42)
    assert ended.next_game is None  # frozen: nobody is started
    assert world.queue(m) == [bo.id, cy.id]
    machines.set_machine_status(
        world.session, world.pss, machine=m, status="enable", actor=world.sk
    )
    assert world.notes(cy) == ["machine_down", "machine_up"]
    assert world.queue(m) == [bo.id, cy.id]
    same = machines.set_machine_status(
        world.session, world.pss, machine=m, status="enable", actor=world.sk
    )
    assert not same.changed


def test_remove_machine_takes_player_off_and_clears_queue(world):
    ada, bo = world.players[:2]
    world.sell(ada, 1)
    world.sell(bo, 1)
    m = world.m()
    started = world.start(ada, m)
    world.join(bo, m)
    change = machines.set_machine_status(
        world.session, world.pss, machine=m, status=MachineStatus.REMOVED, actor=world.td
    )
    assert change.taken_off is not None
    assert change.taken_off.removed
    assert world.session.get(Token, started.token_id).used_at is None
    assert world.queue(m) == []
    assert world.notes(bo) == ["machine_removed"]
    assert m.status == MachineStatus.REMOVED
    row = world.session.scalars(select(AuditLog).where(AuditLog.action == "machine.status")).one()
    assert (row.details["old"], row.details["new"]) == ("active", "removed")
    with pytest.raises(Refused, match="no longer in Main"):
        world.start(ada, m)
    # Re-adding it brings it back.
    setup.add_machine(world.session, world.tournaments["main"], m.machine.name)
    assert m.status == MachineStatus.ACTIVE


def test_who_may_change_a_machines_status(world):
    """Scorekeepers mark a machine down and back up; only the tournament director removes it;
    the desk and players do neither. A refusal changes nothing and writes no audit row."""
    m = world.m()
    player = Actor("Ada", player_id=world.players[0].id)

    def refused(status, actor):
        before = world.session.scalar(select(func.count(AuditLog.id)))
        with pytest.raises(PermissionDenied) as err:
            machines.set_machine_status(
                world.session, world.pss, machine=m, status=status, actor=actor
            )
        assert world.session.scalar(select(func.count(AuditLog.id))) == before
        return err.value.code

    assert refused("remove", world.sk) == "td_only"
    assert refused("disable", world.desk) == "scorekeepers_only"
    assert refused("disable", player) == "staff_only"
    assert m.status == MachineStatus.ACTIVE
    machines.set_machine_status(
        world.session, world.pss, machine=m, status="disable", actor=world.sk
    )
    assert m.status == MachineStatus.DISABLED
    assert refused("remove", world.sk) == "td_only"
    assert refused("enable", world.desk) == "scorekeepers_only"
    machines.set_machine_status(
        world.session, world.pss, machine=m, status="enable", actor=world.sk
    )
    assert m.status == MachineStatus.ACTIVE
    machines.set_machine_status(
        world.session, world.pss, machine=m, status="remove", actor=world.td
    )
    assert m.status == MachineStatus.REMOVED
    # pss itself (no user: the command line, workers) may do it all.
    setup.add_machine(world.session, world.tournaments["main"], m.machine.name)
    machines.set_machine_status(
        world.session, world.pss, machine=m, status="remove", actor=Actor("pss")
    )
    assert m.status == MachineStatus.REMOVED
    actions = world.session.scalars(
        select(AuditLog.details).where(AuditLog.action == "machine.status").order_by(AuditLog.id)
    ).all()
    assert [(d["old"], d["new"]) for d in actions] == [
        ("active", "disabled"),
        ("disabled", "active"),
        ("active", "removed"),
        ("active", "removed"),
    ]


def test_unknown_status_word(world):
    with pytest.raises(InvalidInput):
        machines.set_machine_status(
            world.session, world.pss, machine=world.m(), status="explode", actor=world.sk
        )
