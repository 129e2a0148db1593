"""Changes after setting up (both backends): a new PIN for a player who lost their slip, players
joining and leaving a team, tournaments joining and leaving a metatournament."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pss_core.audit import Actor
from pss_core.errors import InvalidInput, PermissionDenied, Refused
from pss_core.models import AuditLog, Entry, EntryStatus, Metatournament, Team, Token
from pss_core.security import verify_secret
from pss_core.services import auth, corrections, games, queues, setup, tickets

from .conftest import World, build_world, team_member_ids

CLIENT = auth.Client("198.51.100.20")


def audit_rows(world: World, action: str) -> list[AuditLog]:
    return list(
        world.session.scalars(
            select(AuditLog)
            .where(AuditLog.event_id == world.event.id, AuditLog.action == action)
            .order_by(AuditLog.id)
        )
    )


def refused(code: str, call, *args, **kw):
    """Run a service that must be refused with ``code``; returns the error."""
    with pytest.raises((Refused, InvalidInput, PermissionDenied)) as err:
        call(*args, **kw)
    assert err.value.code == code, err.value.message
    return err.value


# --- a new PIN ----------------------------------------------------------------------------------


def test_a_new_pin_ends_the_old_one_its_logins_and_a_lockout(world: World) -> None:
    session, event = world.session, world.event
    ep, first = setup.register_player(session, event, "Lou", "Lost", pin="1111")
    token = auth.login_player(session, event, ep.number, first, CLIENT)
    other_phone = auth.login_player(session, event, ep.number, first, auth.Client("198.51.100.21"))
    # Someone guesses at the number until it locks.
    for i in range(5):
        with pytest.raises((auth.LoginRefused, auth.LockedOut)):
            auth.login_player(
                session, event, ep.number, f"99{i:02d}", auth.Client(f"198.51.100.{30 + i}")
            )
    with pytest.raises(auth.LockedOut):
        auth.login_player(session, event, ep.number, first, auth.Client("198.51.100.40"))

    pin = setup.reset_pin(session, ep, actor=world.desk)
    assert pin.isdigit()
    assert len(pin) == 4
    assert verify_secret(ep.pin_hash, pin)
    assert not verify_secret(ep.pin_hash, first) or pin == first
    # Every login of the player ended; the lockout is lifted, so the new PIN works at once.
    assert auth.identity_for(session, token) is None
    assert auth.identity_for(session, other_phone) is None
    new_token = auth.login_player(session, event, ep.number, pin, auth.Client("198.51.100.41"))
    assert auth.identity_for(session, new_token) is not None
    [row] = audit_rows(world, "player.pin_reset")
    assert row.player_id == ep.id
    assert row.actor == "desk"
    assert row.details == {
        "number": ep.number,
        "chosen": False,
        "logins_ended": 2,
        "unlocked": True,
    }
    # The PIN is nowhere in the audit log.
    assert not any(pin in str(r.details) for r in session.scalars(select(AuditLog)))
    assert [r.action for r in audit_rows(world, "login.unlock")] == ["login.unlock"]


def test_a_chosen_pin_and_bad_ones(world: World) -> None:
    session, event = world.session, world.event
    ep, first = setup.register_player(session, event, "Max", "Mine", pin="2222")
    assert setup.reset_pin(session, ep, actor=world.td, pin="24681357") == "24681357"
    assert verify_secret(ep.pin_hash, "24681357")
    assert not verify_secret(ep.pin_hash, first)
    [row] = audit_rows(world, "player.pin_reset")
    assert (row.details["chosen"], row.details["logins_ended"], row.details["unlocked"]) == (
        True,
        0,
        False,
    )
    for bad in ("12", "123456789", "12a4", "\u0661\u0662\u0663\u0664", "1 23"):
        refused("invalid_pin", setup.reset_pin, session, ep, actor=world.desk, pin=bad)
    # A player cannot give themselves a new PIN (they go to the desk).
    refused("staff_only", setup.reset_pin, session, ep, actor=Actor(ep.name, player_id=ep.id))
    assert verify_secret(ep.pin_hash, "24681357")
    assert len(audit_rows(world, "player.pin_reset")) == 1


# --- team members -------------------------------------------------------------------------------


def test_adding_and_removing_team_members(world: World) -> None:
    world.tournament("doubles", "team", options={"team_size": 3}, machines=1)
    ada, bo, cy, di = world.players[:4]
    team = world.team("Flippers", ada, bo)
    world.sell(ada, 2, "doubles")
    setup.add_team_member(world.session, team, cy, actor=world.td)
    assert team_member_ids(world.session, team) == [ada.id, bo.id, cy.id]
    assert [m.event_player_id for m in team.members] == [ada.id, bo.id, cy.id]
    # The new member shares the team's tickets.
    assert world.summary(cy, "doubles").remaining == 2
    # Three is the most the team tournament allows.
    err = refused("team_full", setup.add_team_member, world.session, team, di, actor=world.td)
    assert err.message == "Team Flippers would have 4 players; Doubles allows at most 3."
    setup.remove_team_member(world.session, team, ada, actor=world.td)
    assert team_member_ids(world.session, team) == [bo.id, cy.id]
    # The team keeps the tickets Ada bought for it; Ada has none there now.
    assert world.summary(bo, "doubles").remaining == 2
    assert [s.slug for s in tickets.ticket_summary(world.session, ada)] == []
    setup.add_team_member(world.session, team, di, actor=world.td)
    adds = audit_rows(world, "team.add_member")
    assert [(r.player_id, r.details["team"], r.details["members"]) for r in adds] == [
        (cy.id, "Flippers", [ada.id, bo.id, cy.id]),
        (di.id, "Flippers", [bo.id, cy.id, di.id]),
    ]
    [removed] = audit_rows(world, "team.remove_member")
    assert (removed.player_id, removed.details["members"]) == (ada.id, [bo.id, cy.id])
    assert removed.actor == "owner"


def test_team_member_refusals(world: World) -> None:
    ada, bo, cy, di = world.players[:4]
    team = world.team("Flippers", ada, bo)
    world.team("Tilters", cy)
    refused("already_on_team", setup.add_team_member, world.session, team, ada)
    err = refused("already_on_team", setup.add_team_member, world.session, team, cy)
    assert err.message == f"{cy.name} is already on team Tilters."
    refused("not_on_team", setup.remove_team_member, world.session, team, cy)
    tilters = world.session.scalars(select(Team).where(Team.name == "Tilters")).one()
    refused("team_needs_a_player", setup.remove_team_member, world.session, tilters, cy)
    stranger = build_world(world.session, world.pss, players=1).players[0]
    refused("wrong_event", setup.add_team_member, world.session, team, stranger)
    assert team_member_ids(world.session, team) == [ada.id, bo.id]
    assert audit_rows(world, "team.add_member") == []
    assert audit_rows(world, "team.remove_member") == []
    # Without team tournaments there is no size limit; di joins as a third.
    setup.add_team_member(world.session, team, di)
    assert len(team_member_ids(world.session, team)) == 3


def test_a_team_playing_or_queued_keeps_its_players(world: World) -> None:
    world.tournament("doubles", "team", options={"team_size": 3}, machines=2)
    ada, bo, cy = world.players[:3]
    team = world.team("Flippers", ada, bo)
    world.sell(ada, 3, "doubles")
    machine, other = world.m("doubles", 0), world.m("doubles", 1)
    world.start(ada, machine)
    err = refused("team_playing", setup.add_team_member, world.session, team, cy)
    assert "is playing doubles machine 1" in err.message
    refused("team_playing", setup.remove_team_member, world.session, team, bo)
    world.record(machine, 1000)
    world.join(ada, other)
    # Not playing now, but waiting for the other machine.
    assert world.queue(other) == [-team.id]
    err = refused("team_queued", setup.add_team_member, world.session, team, cy)
    assert "waiting in the queue for doubles machine 2" in err.message
    refused("team_queued", setup.remove_team_member, world.session, team, bo)
    assert team_member_ids(world.session, team) == [ada.id, bo.id]
    queues.leave_queue(world.session, world.pss, player=ada, actor=world.sk)
    setup.add_team_member(world.session, team, cy, actor=world.td)
    assert team_member_ids(world.session, team) == [ada.id, bo.id, cy.id]


def test_creating_a_team_respects_the_team_size(world: World) -> None:
    world.tournament("doubles", "team", options={"team_size": 2}, machines=1)
    ada, bo, cy = world.players[:3]
    refused("team_full", setup.create_team, world.session, world.event, "Trio", [ada, bo, cy])
    assert world.session.scalar(select(func.count(Team.id))) == 0
    # A finished team tournament no longer limits the size.
    world.tournaments["doubles"].status = "finalized"  # type: ignore[assignment]
    world.session.flush()
    assert setup.team_size_limit(world.session, world.event.id) is None
    team = setup.create_team(world.session, world.event, "Trio", [ada, bo, cy])
    assert len(team_member_ids(world.session, team)) == 3


# --- metatournament members ---------------------------------------------------------------------


def meta_slugs(meta: Metatournament) -> list[str]:
    return [m.tournament.slug for m in meta.members]


def test_tournaments_join_and_leave_a_metatournament(world: World) -> None:
    fri = world.tournament("fri", "papa", machines=1)
    sat = world.tournament("sat", "papa", machines=1)
    sun = world.tournament("sun", "papa", machines=1)
    meta = setup.create_metatournament(
        world.session, world.event, "Classics", [fri], slug="classics", price_cents=500
    )
    ada = world.players[0]
    purchase = world.sell(ada, 1, meta)
    games_bought = len(purchase.tokens)
    assert games_bought == fri.format_options["games_per_entry"]
    assert tickets.count_usable(world.session, world.pss, sat, player_id=ada.id) == 0
    setup.add_to_metatournament(world.session, meta, sat, actor=world.td)
    setup.add_to_metatournament(world.session, meta, sun, actor=world.td)
    assert meta_slugs(meta) == ["fri", "sat", "sun"]
    # The pass is good in Saturday's tournament now.
    assert tickets.count_usable(world.session, world.pss, sat, player_id=ada.id) == games_bought
    setup.remove_from_metatournament(world.session, meta, sun, actor=world.td)
    assert meta_slugs(meta) == ["fri", "sat"]
    assert tickets.count_usable(world.session, world.pss, sun, player_id=ada.id) == 0
    assert [
        (r.details["tournament"], r.details["tournaments"])
        for r in audit_rows(world, "metatournament.add_tournament")
    ] == [("sat", ["fri", "sat"]), ("sun", ["fri", "sat", "sun"])]
    [row] = audit_rows(world, "metatournament.remove_tournament")
    assert (row.details["tournament"], row.details["tournaments"], row.actor) == (
        "sun",
        ["fri", "sat"],
        "owner",
    )


def test_metatournament_member_refusals(world: World) -> None:
    fri = world.tournament("fri", "papa", machines=1)
    herb = world.tournaments["main"]
    doubles = world.tournament("doubles", "team", machines=1)
    sat = world.tournament("sat", "papa", machines=1)
    meta = setup.create_metatournament(
        world.session, world.event, "Classics", [fri], slug="classics"
    )
    other = setup.create_metatournament(world.session, world.event, "Other", [sat], slug="other")
    refused("mixed_formats", setup.add_to_metatournament, world.session, meta, herb)
    refused("team_tournament", setup.add_to_metatournament, world.session, meta, doubles)
    err = refused(
        "already_in_metatournament", setup.add_to_metatournament, world.session, meta, sat
    )
    assert err.message == (
        "Sat is already in the metatournament Other; a tournament is in one at most."
    )
    refused("already_in_metatournament", setup.add_to_metatournament, world.session, meta, fri)
    refused("not_in_metatournament", setup.remove_from_metatournament, world.session, meta, sat)
    elsewhere = build_world(world.session, world.pss, players=0).tournaments["main"]
    refused("wrong_event", setup.add_to_metatournament, world.session, other, elsewhere)
    # The same rules hold when creating one.
    refused(
        "team_tournament",
        setup.create_metatournament,
        world.session,
        world.event,
        "T",
        [doubles],
        slug="t",
    )
    assert meta_slugs(meta) == ["fri"]
    assert meta_slugs(other) == ["sat"]
    assert audit_rows(world, "metatournament.add_tournament") == []
    # An empty metatournament takes any format first.
    empty = setup.create_metatournament(world.session, world.event, "Empty", [], slug="empty")
    setup.add_to_metatournament(world.session, empty, herb)
    assert meta_slugs(empty) == ["main"]


def test_a_tournament_stays_while_a_pass_is_played_there(world: World) -> None:
    fri = world.tournament("fri", "papa", machines=1)
    sat = world.tournament("sat", "papa", machines=1)
    meta = setup.create_metatournament(
        world.session, world.event, "Classics", [fri, sat], slug="classics"
    )
    ada = world.players[0]
    world.sell(ada, 1, meta)
    machine = world.m("sat")
    world.start(ada, machine)
    err = refused(
        "metatournament_ticket_in_play", setup.remove_from_metatournament, world.session, meta, sat
    )
    assert err.message == (
        "A Classics ticket is being played in Sat right now; remove the "
        "tournament when that game or entry is finished."
    )
    # Between the games of the unfinished entry, too.
    world.record(machine, 1000)
    entry = world.session.scalars(
        select(Entry)
        .join(Token, Token.entry_id == Entry.id)
        .where(Token.metatournament_id == meta.id)
    ).first()
    assert entry is not None
    assert entry.status == EntryStatus.OPEN
    refused(
        "metatournament_ticket_in_play", setup.remove_from_metatournament, world.session, meta, sat
    )
    assert meta_slugs(meta) == ["fri", "sat"]
    # Once the entry is over (given up here), the tournament may leave.
    corrections.abandon_entry(
        world.session, world.pss, entry=entry, actor=Actor(ada.name, player_id=ada.id)
    )
    assert entry.status != EntryStatus.OPEN
    setup.remove_from_metatournament(world.session, meta, sat)
    assert meta_slugs(meta) == ["fri"]


def test_the_last_tournament_stays_while_its_tickets_are_unused(world: World) -> None:
    fri = world.tournament("fri", "herb", machines=1)
    meta = setup.create_metatournament(world.session, world.event, "Pass", [fri], slug="pass")
    ada = world.players[0]
    purchase = world.sell(ada, 1, meta)
    err = refused(
        "metatournament_tickets_left", setup.remove_from_metatournament, world.session, meta, fri
    )
    assert "has 1 unused games sold" in err.message
    world.start(ada, world.m("fri"))
    games.record_score(world.session, world.pss, machine=world.m("fri"), score=5, actor=world.sk)
    assert purchase.tokens[0].used_at is not None
    setup.remove_from_metatournament(world.session, meta, fri)
    assert meta_slugs(meta) == []
