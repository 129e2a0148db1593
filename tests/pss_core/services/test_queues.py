"""Machine queues: join, leave, bump, insert at head, advance, limits, hooks (both backends)."""

import pytest
from sqlalchemy import select

from pss_core import audit, hookimpl
from pss_core.audit import Actor
from pss_core.errors import InvalidInput, PermissionDenied, Refused
from pss_core.models import AuditLog, Notification, QueueSlot
from pss_core.services import games, queues

from .conftest import build_world


def _stock(world, n=4, tickets=3):
    for p in world.players[:n]:
        world.sell(p, tickets)
    return world.players[:n]


def test_join_in_order_and_leave_closes_the_gap(world):
    ada, bo, cy, di = _stock(world)
    m = world.m()
    places = [world.join(p, m) for p in (ada, bo, cy, di)]
    assert [p.position for p in places] == [1, 2, 3, 4]
    queues.leave_queue(world.session, world.pss, player=bo, actor=world.sk)
    assert world.queue(m) == [ada.id, cy.id, di.id]
    assert [p.position for p in queues.queue_for(world.session, m)] == [1, 2, 3]
    place = queues.place_of(world.session, di)
    assert place is not None
    assert place.position == 3
    assert queues.place_of(world.session, bo) is None
    with pytest.raises(Refused) as err:
        queues.leave_queue(world.session, world.pss, player=bo, actor=world.sk)
    assert err.value.code == "not_queued"


def test_joining_another_queue_leaves_the_first(world):
    ada, bo, _, _ = _stock(world)
    m0, m1 = world.m(i=0), world.m(i=1)
    world.join(ada, m0)
    world.join(bo, m0)
    place = world.join(ada, m1)
    assert (place.machine_id, place.position) == (m1.id, 1)
    assert world.queue(m0) == [bo.id]
    assert world.session.scalar(select(QueueSlot.position).where(QueueSlot.player_id == bo.id)) == 1
    actions = [r.action for r in audit.player_history(world.session, world.event.id, ada.id)]
    assert actions[-3:] == ["queue.join", "queue.leave", "queue.join"]


def test_join_refusals(world):
    ada, bo, cy = _stock(world, 3)
    di = world.players[3]
    m = world.m()
    # No tickets.
    with pytest.raises(Refused) as err:
        world.join(di, m)
    assert err.value.code == "no_tokens"
    # Already queued here.
    world.join(ada, m)
    with pytest.raises(Refused) as err:
        world.join(ada, m)
    assert (err.value.code, err.value.details["position"]) == ("already_queued", 1)
    # Playing somewhere.
    world.start(bo, world.m(i=1))
    with pytest.raises(Refused) as err:
        world.join(bo, m)
    assert err.value.code == "already_playing"
    # Queue limit.
    world.tournaments["main"].queue_limit = 1
    with pytest.raises(Refused) as err:
        world.join(cy, m)
    assert err.value.code == "queue_full"
    # Queuing off.
    world.tournaments["main"].queue_limit = None
    world.tournaments["main"].queuing_enabled = False
    with pytest.raises(Refused) as err:
        world.join(cy, m)
    assert err.value.code == "queuing_off"


def test_players_queue_themselves_only(world):
    ada, bo, _, _ = _stock(world)
    as_ada = Actor("ada", player_id=ada.id)
    place = world.join(ada, world.m(), actor=as_ada)
    assert place.player_id == ada.id
    with pytest.raises(PermissionDenied):
        world.join(bo, world.m(), actor=as_ada)
    with pytest.raises(PermissionDenied):
        queues.leave_queue(world.session, world.pss, player=bo, actor=as_ada)
    with pytest.raises(PermissionDenied):
        queues.bump(world.session, world.pss, machine=world.m(), actor=as_ada)
    queues.leave_queue(world.session, world.pss, player=ada, actor=as_ada)


def test_bump_moves_down_then_removes(world):
    ada, bo, cy, _ = _stock(world)
    m = world.m()
    for p in (ada, bo, cy):
        world.join(p, m)
    first = queues.bump(world.session, world.pss, machine=m, actor=world.sk)
    assert (first.removed, first.position) == (False, 2)
    assert world.queue(m) == [bo.id, ada.id, cy.id]
    assert [p.bumped for p in queues.queue_for(world.session, m)] == [False, True, False]
    # Bo is started; Ada is at the head again and gets bumped a second time: removed.
    queues.start_from_head(world.session, world.pss, machine=m, actor=world.sk)
    assert world.queue(m) == [ada.id, cy.id]
    second = queues.bump(world.session, world.pss, machine=m, actor=world.sk)
    assert second.removed
    assert world.queue(m) == [cy.id]
    # Bo's start made Ada first again, and she was told she is next.
    assert world.notes(ada) == ["queue_bumped", "queue_next", "queue_removed"]
    with pytest.raises(Refused):
        queues.bump(world.session, world.pss, machine=world.m(i=2), actor=world.sk)


def test_bump_alone_stays_first(world):
    ada = _stock(world, 1)[0]
    world.join(ada, world.m())
    assert queues.bump(world.session, world.pss, machine=world.m(), actor=world.sk).position == 1
    assert queues.bump(world.session, world.pss, machine=world.m(), actor=world.sk).removed


def test_insert_at_head_is_for_directors_and_ignores_the_limit(world):
    ada, bo, cy, _ = _stock(world)
    m = world.m()
    world.tournaments["main"].queue_limit = 2
    world.join(ada, m)
    world.join(bo, m)
    with pytest.raises(PermissionDenied):
        queues.insert_at_head(world.session, world.pss, machine=m, player=cy, actor=world.sk)
    queues.insert_at_head(world.session, world.pss, machine=m, player=cy, actor=world.td)
    assert world.queue(m) == [cy.id, ada.id, bo.id]
    # Moving someone already in the queue to the head.
    queues.insert_at_head(world.session, world.pss, machine=m, player=bo, actor=world.td)
    assert world.queue(m) == [bo.id, cy.id, ada.id]
    assert queues.positions_ok(world.session, [m.id])


def test_score_starts_the_next_player(world):
    ada, bo, cy, _ = _stock(world)
    m = world.m()
    world.start(ada, m)
    world.join(bo, m)
    world.join(cy, m)
    ended = world.record(m, 1)
    assert ended.next_game.player_id == bo.id
    assert m.player_id == bo.id
    assert world.queue(m) == [cy.id]
    assert world.notes(bo) == ["your_turn"]
    ended = games.void_game(world.session, world.pss, machine=m, actor=world.sk)
    assert ended.next_game is not None
    assert ended.next_game.player_id == cy.id


def test_start_directly_is_refused_while_others_wait(world):
    ada, bo, _, _ = _stock(world)
    m = world.m()
    world.join(ada, m)
    with pytest.raises(Refused) as err:
        world.start(bo, m)
    assert err.value.code == "queue_waiting"
    # Starting the head directly is the same as starting from the head.
    started = world.start(ada, m)
    assert started.left_queue_of == m.id
    assert world.queue(m) == []


def test_starting_elsewhere_leaves_the_queue(world):
    ada, bo, _, _ = _stock(world)
    world.join(ada, world.m(i=0))
    world.join(bo, world.m(i=0))
    started = world.start(ada, world.m(i=1))
    assert started.left_queue_of == world.m(i=0).id
    assert world.queue(world.m(i=0)) == [bo.id]


def test_advance_refused_keeps_the_queue_and_records_the_score(world):
    ada, bo, _, _ = _stock(world, tickets=1)
    m = world.m()
    world.start(ada, m)
    world.join(bo, m)
    # Bo's only ticket is refunded at the desk while waiting.
    token = queues.usable_tokens(
        world.session, world.pss, world.tournaments["main"], player_id=bo.id
    )[0]
    from pss_core.models import utcnow

    token.refunded_at = utcnow()
    ended = world.record(m, 777)
    assert ended.score_id is not None
    assert ended.next_game is None
    assert "no tickets left" in ended.advance_refused
    assert world.queue(m) == [bo.id]
    assert m.player_id is None
    assert world.notes(bo) == ["queue_advance_refused"]


def test_clear_queue_and_turning_queuing_off_tell_players(world):
    ada, bo, cy, _ = _stock(world)
    world.join(ada, world.m(i=0))
    world.join(bo, world.m(i=0))
    world.join(cy, world.m(i=1))
    told = queues.clear_queue(
        world.session, world.pss, machine=world.m(i=0), actor=world.sk, reason="machine being moved"
    )
    assert sorted(told) == sorted([ada.id, bo.id])
    msg = world.session.scalars(
        select(Notification.message).where(Notification.player_id == ada.id)
    ).one()
    assert msg == "The queue for main machine 1 was cleared: machine being moved."
    told = queues.set_queuing(
        world.session,
        world.pss,
        tournament=world.tournaments["main"],
        enabled=False,
        actor=world.td,
    )
    assert told == [cy.id]
    assert world.notes(cy) == ["queuing_off"]
    assert world.session.scalar(select(QueueSlot.id)) is None
    assert (
        queues.set_queuing(
            world.session,
            world.pss,
            tournament=world.tournaments["main"],
            enabled=False,
            actor=world.td,
        )
        == []
    )
    rows = world.session.scalars(
        select(AuditLog).where(AuditLog.action == "tournament.queuing")
    ).all()
    assert len(rows) == 1


def test_queue_limit_setting(world):
    t = world.tournaments["main"]
    queues.set_queue_limit(world.session, world.pss, tournament=t, limit=3, actor=world.td)
    assert t.queue_limit == 3
    with pytest.raises(InvalidInput):
        queues.set_queue_limit(world.session, world.pss, tournament=t, limit=0, actor=world.td)
    row = world.session.scalars(
        select(AuditLog).where(AuditLog.action == "tournament.queue_limit")
    ).one()
    assert (row.details["before"], row.details["after"]) == (None, 3)


def test_team_queues_as_one(world):
    world.tournament("split", "team", options={"team_size": 2})
    ada, bo, _cy, _ = world.players
    team = world.team("Flippers", ada, bo)
    world.sell(ada, 2, "split")
    m = world.m("split")
    place = world.join(bo, m)
    assert (place.team_id, place.player_id, place.name) == (team.id, None, "Team Flippers")
    with pytest.raises(Refused) as err:
        world.join(ada, m)
    assert err.value.code == "already_queued"
    place = queues.place_of(world.session, ada)
    assert place is not None
    assert place.team_id == team.id
    started = queues.start_from_head(world.session, world.pss, machine=m, actor=world.sk)
    assert started.team_id == team.id
    assert sorted(world.notes(ada) + world.notes(bo)) == ["your_turn", "your_turn"]


class Recorder:
    def __init__(self, veto_player_id=None):
        self.changes = []
        self.veto = veto_player_id

    @hookimpl
    def pss_queue_changed(self, session, change):
        self.changes.append((change.action, change.machine.id, change.player_id))

    @hookimpl
    def pss_check_queue_join(self, session, join):
        if join.player.id == self.veto:
            raise Refused("This player is on a break.", code="on_break")


def test_queue_hooks_observe_and_veto(dbsession, make_pss):
    rec = Recorder()
    pss = make_pss(rec)
    world = build_world(dbsession, pss)
    ada, bo, cy, _ = world.players
    rec.veto = cy.id
    for p in (ada, bo, cy):
        world.sell(p, 2)
    m = world.m()
    world.join(ada, m)
    world.join(bo, m)
    with pytest.raises(Refused, match="on a break"):
        world.join(cy, m)
    queues.bump(world.session, pss, machine=m, actor=world.sk)
    queues.start_from_head(world.session, pss, machine=m, actor=world.sk)
    world.record(m, 5)
    assert rec.changes == [
        ("join", m.id, ada.id),
        ("join", m.id, bo.id),
        ("bump", m.id, ada.id),
        ("advance", m.id, bo.id),
        ("advance", m.id, ada.id),
    ]


def test_new_head_of_the_queue_is_told_they_are_next(world):
    ada, bo, cy, di = _stock(world)
    m = world.m()
    world.start(ada, m)
    for p in (bo, cy, di):
        world.join(p, m)
    assert world.notes(cy) == []
    world.record(m, 1)  # bo starts from the head; cy is now first
    assert world.notes(cy) == ["queue_next"]
    assert world.notes(di) == []
    queues.bump(world.session, world.pss, machine=m, actor=world.sk)  # cy down, di first
    assert world.notes(di) == ["queue_next"]
    message = world.session.scalars(
        select(Notification.message).where(Notification.player_id == di.id)
    ).one()
    assert m.machine.name in message
