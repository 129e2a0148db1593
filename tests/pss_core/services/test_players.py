"""Registrations after the first step (both backends): "same person?" at registration, a person
found again across events, corrections, unregistering, merging two registrations (what moves, what
is refused, standings afterwards), registration questions and players registering online."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from pss_core.errors import Busy, InvalidInput, PermissionDenied, Refused
from pss_core.models import (
    AuditLog,
    Entry,
    EventPlayer,
    LoginSession,
    Player,
    Purchase,
    QueueSlot,
    RegistrationAnswer,
    Score,
    Token,
    TournamentMachine,
    utcnow,
)
from pss_core.security import verify_secret
from pss_core.services import auth, players, setup
from pss_core.standings import compute_standings

from .conftest import World, build_world

CLIENT = auth.Client("198.51.100.20")


def refused(code: str, call: Any, *args: Any, **kw: Any) -> Any:
    with pytest.raises((Refused, InvalidInput, PermissionDenied, Busy)) as err:
        call(*args, **kw)
    assert err.value.code == code, err.value.message
    return err.value


def actions(world: World, action: str) -> list[AuditLog]:
    return list(
        world.session.scalars(
            select(AuditLog)
            .where(AuditLog.event_id == world.event.id, AuditLog.action == action)
            .order_by(AuditLog.id)
        )
    )


# --- "same person?" and people known across events ----------------------------------------


def test_same_name_ifpa_or_email_asks_before_a_second_registration(world: World) -> None:
    session, event = world.session, world.event
    first, _ = players.register(
        session, event, "José", "Pérez", ifpa_id=4242, email="Jose@Example.org", actor=world.desk
    )
    assert first.player.email == "jose@example.org"
    err = refused(
        "possible_duplicate", players.register, session, event, "  jose ", "PEREZ", actor=world.desk
    )
    assert err.details["candidates"] == [
        {"number": first.number, "name": "José Pérez", "reasons": ["name"]}
    ]
    err = refused(
        "possible_duplicate",
        players.register,
        session,
        event,
        "Joe",
        "Other",
        email="JOSE@example.org",
        actor=world.desk,
    )
    assert err.details["candidates"][0]["reasons"] == ["email"]
    before = session.scalars(select(func.count(EventPlayer.id))).one()
    # Somebody else with the same name: confirmed, a second registration.
    second, _ = players.register(
        session, event, "Jose", "Perez", confirm_new=True, actor=world.desk
    )
    assert second.id != first.id
    assert second.player_id != first.player_id
    assert session.scalar(select(func.count(EventPlayer.id))) == before + 1
    # The same IFPA number is the same person: never a second registration, confirmed or not.
    refused(
        "already_registered",
        players.register,
        session,
        event,
        "J",
        "P",
        ifpa_id=4242,
        confirm_new=True,
        actor=world.desk,
    )


def test_a_person_is_found_again_in_the_next_event_by_ifpa_id_or_email(world: World) -> None:
    session = world.session
    players.register(session, world.event, "Ada", "Byron", ifpa_id=777, actor=world.desk)
    players.register(session, world.event, "Bea", "Cole", email="bea@example.org", actor=world.desk)
    other = build_world(session, world.pss, players=0)
    by_ifpa, _ = players.register(
        session, other.event, "Ada", "Lovelace-typo", ifpa_id=777, actor=other.desk
    )
    by_email, _ = players.register(
        session,
        other.event,
        "Beatrice",
        "Cole",
        email="BEA@example.org",
        ifpa_id=888,
        actor=other.desk,
    )
    assert by_ifpa.player.name == "Ada Byron"  # the person keeps their name
    assert by_email.player.first_name == "Bea"
    assert by_email.player.ifpa_id == 888  # learnt from this registration
    assert (
        session.scalar(select(func.count(Player.id)).where(Player.first_name.in_(["Ada", "Bea"])))
        == 2
    )
    assert [r.details["person_id"] for r in actions(other, "player.known")] == [
        by_ifpa.player_id,
        by_email.player_id,
    ]


# --- corrections ---------------------------------------------------------------------------


def test_a_correction_is_audited_and_an_ifpa_id_of_someone_else_is_refused(world: World) -> None:
    session, event = world.session, world.event
    a, _ = players.register(session, event, "Cy", "Dee", actor=world.desk)
    b, _ = players.register(session, event, "Di", "Eve", ifpa_id=55, actor=world.desk)
    players.edit_player(
        session,
        a,
        first_name="Cyd",
        last_name="Dee",
        ifpa_id=56,
        ifpa_rank=1200,
        email=" CYD@Example.org ",
        actor=world.desk,
    )
    assert (a.name, a.player.ifpa_id, a.ifpa_rank, a.player.email) == (
        "Cyd Dee",
        56,
        1200,
        "cyd@example.org",
    )
    [row] = actions(world, "player.edit")
    assert row.details["before"]["first_name"] == "Cy"
    assert row.details["after"]["ifpa_rank"] == 1200
    assert row.player_id == a.id
    err = refused(
        "ifpa_taken",
        players.edit_player,
        session,
        a,
        first_name="Cyd",
        ifpa_id=55,
        actor=world.desk,
    )
    assert f"#{b.number}" in err.message
    assert "merge" in err.message
    refused(
        "staff_only",
        players.edit_player,
        session,
        a,
        first_name="X",
        actor=auth.Identity(1, auth.LoginKind.PLAYER, event.id, None, a.id, "x").actor,
    )


# --- unregistering -------------------------------------------------------------------------


def test_unregister_takes_back_a_mistake_and_keeps_history(world: World) -> None:
    session, event = world.session, world.event
    q = players.add_question(session, event, "Shirt", "choice", choices=["S", "M"], actor=world.td)
    ep, pin = players.register(
        session, event, "Oops", "Typo", answers={q.id: "M"}, actor=world.desk
    )
    token = auth.login_player(session, event, ep.number, pin, CLIENT)
    ep_id, number = ep.id, ep.number
    before = players.unregister(session, ep, actor=world.td)
    assert before["answers"] == {str(q.id): "M"}
    assert session.get(EventPlayer, ep_id) is None
    assert auth.identity_for(session, token) is None
    assert (
        session.scalar(
            select(func.count(RegistrationAnswer.id)).where(
                RegistrationAnswer.event_player_id == ep_id
            )
        )
        == 0
    )
    [row] = actions(world, "player.unregister")
    assert (row.details["registration_id"], row.details["before"]["number"]) == (ep_id, number)
    # The registration's history is still there, no longer pointing at a registration.
    assert [r.player_id for r in actions(world, "player.register") if r.subject_id == ep_id] == [
        None
    ]
    # The number is free again.
    again, _ = players.register(session, event, "Right", "Name", number=number, actor=world.desk)
    assert again.number == number


def test_unregister_is_refused_with_games_tickets_or_a_team(world: World) -> None:
    session = world.session
    p1, p2, p3, p4 = world.players
    world.sell(p1, 1)
    err = refused("has_paid_tickets", players.unregister, session, p1, actor=world.td)
    assert "refund" in err.message
    world.sell(p2, 1)
    world.start(p2, world.m())
    refused("has_games", players.unregister, session, p2, actor=world.td)
    world.record(world.m(), 1000)
    err = refused("has_games", players.unregister, session, p2, actor=world.td)
    assert "merge" in err.message
    world.team("Flippers", p3)
    refused("on_team", players.unregister, session, p3, actor=world.td)
    refused(
        "staff_only",
        players.unregister,
        session,
        p4,
        actor=auth.Identity(1, auth.LoginKind.PLAYER, world.event.id, None, p4.id, "x").actor,
    )
    assert session.get(EventPlayer, p4.id) is not None


# --- merging -------------------------------------------------------------------------------


def test_merge_moves_everything_and_standings_count_one_player(world: World) -> None:
    session, event, pss = world.session, world.event, world.pss
    q = players.add_question(session, event, "Shirt", "choice", choices=["S", "M"], actor=world.td)
    q2 = players.add_question(session, event, "Club", "text", actor=world.td)
    keep, keep_pin = players.register(
        session, event, "Max", "Merge", answers={q.id: "S"}, actor=world.desk
    )
    other, other_pin = players.register(
        session,
        event,
        "Max",
        "Merge",
        confirm_new=True,
        answers={q.id: "M", q2.id: "Tilt"},
        actor=world.desk,
    )
    other_token = auth.login_player(session, event, other.number, other_pin, CLIENT)
    main = world.tournaments["main"]
    world.sell(keep, 1)
    world.start(keep, world.m(i=0))
    world.record(world.m(i=0), 5_000_000)
    world.sell(other, 3)
    world.start(other, world.m(i=1))
    world.record(world.m(i=1), 7_000_000)
    world.start(other, world.m(i=2))  # a game in progress moves too
    world.sell(world.players[0], 1)
    world.join(world.players[0], world.m(i=2))
    other_id, other_number = other.id, other.number
    before = compute_standings(session, pss, main)
    assert {row.competitor.id for row in before} >= {keep.id, other_id}

    result = players.merge(session, pss, keep, other, actor=world.td)

    assert result["merged"] == other_number
    assert session.get(EventPlayer, other_id) is None
    assert verify_secret(keep.pin_hash, keep_pin)
    assert auth.identity_for(session, other_token) is None
    for model in (Token, Entry, Purchase):
        assert session.scalar(select(func.count(model.id)).where(model.player_id == other_id)) == 0
    assert session.scalar(select(func.count(Token.id)).where(Token.player_id == keep.id)) == 4
    machine = session.get(TournamentMachine, world.m(i=2).id)
    assert machine is not None
    assert machine.player_id == keep.id
    assert players.answers_of(session, keep) == {q.id: "S", q2.id: "Tilt"}
    after = compute_standings(session, pss, main)
    ids = [row.competitor.id for row in after]
    assert other_id not in ids
    assert ids.count(keep.id) == 1
    mine = after.find(id=keep.id)
    assert mine is not None
    assert sorted(m.score for m in mine.machines) == [5_000_000, 7_000_000]
    # The merged registration's history is the survivor's now, with the merge on record.
    history = [
        r.action
        for r in session.scalars(
            select(AuditLog).where(AuditLog.player_id == keep.id).order_by(AuditLog.id)
        )
    ]
    assert history.count("player.register") == 2
    assert history[-1] == "player.merge"
    [row] = actions(world, "player.merge")
    assert row.details["merged_number"] == other_number
    assert row.details["before"]["merged"]["registration_id"] == other_id
    # Its number is free again; the survivor plays on.
    world.record(world.m(i=2), 1_000)
    assert setup.player_by_number(session, event.id, keep.number) is keep


def test_merge_refuses_two_places_two_teams_and_two_open_entries(world: World) -> None:
    session, pss = world.session, world.pss
    p1, p2, p3, p4 = world.players
    world.sell(p1, 1)
    world.sell(p2, 1)
    world.start(p1, world.m(i=0))
    world.join(p2, world.m(i=0))
    err = refused("merge_both_busy", players.merge, session, pss, p1, p2, actor=world.td)
    assert "playing" in err.message
    assert "waiting" in err.message
    world.team("Red", p3)
    world.team("Blue", p4)
    refused("merge_two_teams", players.merge, session, pss, p3, p4, actor=world.td)
    refused("same_player", players.merge, session, pss, p3, p3, actor=world.td)

    classics = world.tournament("classics", "papa", options={"games_per_entry": 3}, price_cents=500)
    a, b = world.player("Ann"), world.player("Bob")
    for who, m in ((a, 0), (b, 1)):
        world.sell(who, 1, classics)
        world.start(who, world.m("classics", m))
        world.record(world.m("classics", m), 100)
    err = refused("merge_open_entries", players.merge, session, pss, a, b, actor=world.td)
    assert "Classics" in err.message
    assert session.get(EventPlayer, b.id) is not None


def test_merge_on_one_team_keeps_one_membership(world: World) -> None:
    session = world.session
    p1, p2, _, _ = world.players
    team = world.team("Twins", p1, p2)
    players.merge(session, world.pss, p1, p2, actor=world.td)
    session.refresh(team)
    assert [m.event_player_id for m in team.members] == [p1.id]


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("herb", {"replay_same_machine": False}),
        ("limited_herb", {"max_entries": 2}),
    ],
)
def test_merge_that_breaks_a_formats_rules_is_refused(
    world: World, fmt: str, options: dict[str, Any]
) -> None:
    session, pss = world.session, world.pss
    t = world.tournament("strict", fmt, options=options)
    a, b = world.player("Al"), world.player("Al")
    plays = {a: [0, 1] if fmt == "limited_herb" else [0], b: [2] if fmt == "limited_herb" else [0]}
    for who, machines in plays.items():
        world.sell(who, len(machines), t)
        for m in machines:
            world.start(who, world.m("strict", m))
            world.record(world.m("strict", m), 1000 + m)
    err = refused("merge_breaks_format", players.merge, session, pss, a, b, actor=world.td)
    assert "Strict" in err.message
    assert "Al" in err.message
    assert session.scalar(
        select(func.count(Score.id)).join(Entry).where(Entry.player_id == b.id)
    ) == len(plays[b])


# --- registration questions ----------------------------------------------------------------


def test_questions_are_checked_required_reordered_and_deactivated(world: World) -> None:
    session, event = world.session, world.event
    shirt = players.add_question(
        session,
        event,
        "T-shirt size",
        "choice",
        choices=["S", "M", "M", " L "],
        required=True,
        actor=world.td,
    )
    assert shirt.choices == ["S", "M", "L"]
    rules = players.add_question(
        session, event, "I accept the rules", "yes_no", required=True, actor=world.td
    )
    age = players.add_question(session, event, "Years playing", "number", actor=world.td)
    refused(
        "invalid_field",
        players.add_question,
        session,
        event,
        "Pick",
        "choice",
        choices=["one"],
        actor=world.td,
    )
    refused(
        "missing_answer",
        players.register,
        session,
        event,
        "Q",
        "One",
        answers={rules.id: "yes"},
        actor=world.desk,
    )
    refused(
        "invalid_answer",
        players.register,
        session,
        event,
        "Q",
        "One",
        answers={shirt.id: "XXL", rules.id: "yes"},
        actor=world.desk,
    )
    err = refused(
        "missing_answer",
        players.register,
        session,
        event,
        "Q",
        "One",
        answers={shirt.id: "M", rules.id: "no"},
        actor=world.desk,
    )
    assert "yes" in err.message
    refused(
        "invalid_answer",
        players.register,
        session,
        event,
        "Q",
        "One",
        answers={shirt.id: "M", rules.id: "yes", age.id: "many"},
        actor=world.desk,
    )
    refused(
        "unknown_question",
        players.register,
        session,
        event,
        "Q",
        "One",
        answers={"999999": "x"},
        actor=world.desk,
    )
    ep, _ = players.register(
        session,
        event,
        "Q",
        "One",
        answers={str(shirt.id): "M", rules.id: "on", age.id: " 07 "},
        actor=world.desk,
    )
    assert players.answers_of(session, ep) == {shirt.id: "M", rules.id: "yes", age.id: "7"}

    players.move_question(session, age, -5, actor=world.td)
    assert [q.id for q in players.questions_of(session, event)] == [age.id, shirt.id, rules.id]
    players.edit_question(
        session,
        shirt,
        label="T-shirt size",
        kind="choice",
        choices=["S", "M"],
        required=True,
        active=False,
        actor=world.td,
    )
    assert shirt.id not in {q.id for q in players.questions_of(session, event)}
    # No longer asked, so no longer required; the answer given is kept and exported.
    players.register(session, event, "Q", "Two", answers={rules.id: "yes"}, actor=world.desk)
    header, rows = players.registration_rows(session, event)
    assert header[-3:] == ["Years playing", "T-shirt size", "I accept the rules"]
    mine = next(r for r in rows if r[0] == ep.number)
    assert mine[-3:] == ["7", "M", "yes"]
    players.set_answers(session, ep, {age.id: "8"}, actor=world.desk)
    [row] = actions(world, "player.answers")[-1:]
    assert (row.details["before"][str(age.id)], row.details["after"][str(age.id)]) == ("7", "8")
    assert [r.action for r in actions(world, "question.edit")] == ["question.edit"]


# --- self-registration ---------------------------------------------------------------------


def test_self_registration_is_off_by_default_and_closes(world: World) -> None:
    session, event = world.session, world.event
    refused("self_registration_closed", players.self_register, session, event, "Sal")
    players.set_self_registration(
        session, event, enabled=True, closes_at=utcnow() - timedelta(minutes=1), actor=world.td
    )
    refused("self_registration_closed", players.self_register, session, event, "Sal")
    [row] = actions(world, "event.self_registration")
    assert (row.details["before"]["enabled"], row.details["after"]["enabled"]) == (False, True)


def test_a_player_registers_online_and_is_logged_in(world: World) -> None:
    session, event = world.session, world.event
    players.set_self_registration(
        session, event, enabled=True, choose_number=True, email_required=True, actor=world.td
    )
    shirt = players.add_question(
        session, event, "Shirt", "choice", choices=["S", "M"], required=True, actor=world.td
    )
    refused(
        "missing_field",
        players.self_register,
        session,
        event,
        "Sal",
        "Self",
        answers={shirt.id: "S"},
    )
    refused(
        "missing_answer",
        players.self_register,
        session,
        event,
        "Sal",
        "Self",
        email="sal@example.org",
    )
    taken = world.players[0].number
    refused(
        "number_taken",
        players.self_register,
        session,
        event,
        "Sal",
        "Self",
        email="sal@example.org",
        number=taken,
        answers={shirt.id: "S"},
    )
    ep, pin, token = players.self_register(
        session,
        event,
        "Sal",
        "Self",
        email="Sal@Example.org",
        number=777,
        answers={shirt.id: "S"},
        address="203.0.113.5",
    )
    assert ep.number == 777
    assert verify_secret(ep.pin_hash, pin)
    identity = auth.identity_for(session, token)
    assert identity is not None
    assert identity.player_id == ep.id
    assert players.answers_of(session, ep) == {shirt.id: "S"}
    [row] = actions(world, "player.self_register")
    assert (row.actor_player_id, row.details["address"]) == (ep.id, "203.0.113.5")
    # The same e-mail again is the same person: refused, pointing at the desk.
    err = refused(
        "already_registered",
        players.self_register,
        session,
        event,
        "Other",
        email="sal@example.org",
        answers={shirt.id: "M"},
    )
    assert f"#{ep.number}" in err.message
    refused(
        "possible_duplicate",
        players.self_register,
        session,
        event,
        "SAL",
        "self",
        email="sal2@example.org",
        answers={shirt.id: "M"},
    )
    # Numbers cannot be chosen where the event does not allow it.
    players.set_self_registration(session, event, enabled=True, actor=world.td)
    refused("number_not_chosen", players.self_register, session, event, "Nu", number=900)


def test_self_registration_is_limited_per_address(world: World) -> None:
    session, event = world.session, world.event
    players.set_self_registration(session, event, enabled=True, actor=world.td)
    now = utcnow()
    for i in range(players.SELF_REGISTRATIONS_PER_ADDRESS):
        players.self_register(session, event, f"Fam{i}", "Ily", address="203.0.113.9", now=now)
    err = refused(
        "too_many_registrations",
        players.self_register,
        session,
        event,
        "Fam9",
        address="203.0.113.9",
        now=now,
    )
    assert err.details["retry_after"] > 0
    # Refusals are not counted as registrations, another address is not held up, and the
    # limit is per hour.
    players.self_register(session, event, "Else", "Where", address="203.0.113.10", now=now)
    later = now + players.SELF_REGISTRATION_WINDOW
    players.self_register(session, event, "Fam9", "Ily", address="203.0.113.9", now=later)
    assert (
        session.scalar(select(func.count(LoginSession.id)).where(LoginSession.event_id == event.id))
        == players.SELF_REGISTRATIONS_PER_ADDRESS + 2
    )
    assert session.scalar(select(func.count(QueueSlot.id))) == 0
