"""A small event for the play-flow tests, built straight from the models where hashing would be slow
(PINs and passwords are not what these tests are about)."""

from __future__ import annotations

import itertools
from typing import Any

import attrs
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pss_core.audit import Actor
from pss_core.models import (
    Event,
    EventPlayer,
    EventUser,
    EventUserRole,
    Notification,
    Player,
    Role,
    Team,
    TeamMember,
    Token,
    Tournament,
    TournamentMachine,
    User,
)
from pss_core.plugins import Pss
from pss_core.services import games, queues, setup, tickets

_seq = itertools.count(1)


@attrs.define
class World:
    """An event with staff, players and tournaments, and short-hands for the services."""

    session: Session
    pss: Pss
    event: Event
    td: Actor
    desk: Actor
    sk: Actor
    tournaments: dict[str, Tournament] = attrs.Factory(dict)
    machines: dict[str, list[TournamentMachine]] = attrs.Factory(dict)
    players: list[EventPlayer] = attrs.Factory(list)

    # --- building --------------------------------------------------------------------------

    def player(self, first: str | None = None) -> EventPlayer:
        n = next(_seq)
        p = Player(first_name=first or f"Player{n}", last_name="Test")
        self.session.add(p)
        self.session.flush()
        ep = EventPlayer(event_id=self.event.id, player_id=p.id, number=100 + n, pin_hash="x")
        self.session.add(ep)
        self.session.flush()
        self.players.append(ep)
        return ep

    def tournament(
        self, slug: str, fmt: str, *, machines: int = 3, options: Any = None, **settings: Any
    ) -> Tournament:
        t = setup.create_tournament(
            self.session,
            self.pss,
            self.event,
            slug.title(),
            fmt,
            slug=slug,
            options=options,
            **settings,
        )
        self.tournaments[slug] = t
        self.machines[slug] = [
            setup.add_machine(self.session, t, f"{slug} machine {i}")
            for i in range(1, machines + 1)
        ]
        return t

    def team(self, name: str, *members: EventPlayer) -> Team:
        return setup.create_team(self.session, self.event, name, members)

    # --- acting ----------------------------------------------------------------------------

    def sell(self, player: EventPlayer, count: int, scope: str | Any = "main", **kw: Any) -> Any:
        if isinstance(scope, str):
            scope = self.tournaments[scope]
        key = "tournament" if isinstance(scope, Tournament) else "metatournament"
        return tickets.sell_tickets(
            self.session,
            self.pss,
            player=player,
            count=count,
            actor=kw.pop("actor", self.desk),
            **{key: scope},
            **kw,
        )

    def m(self, slug: str = "main", i: int = 0) -> TournamentMachine:
        return self.machines[slug][i]

    def start(self, player: EventPlayer, machine: TournamentMachine) -> games.GameStarted:
        return games.start_game(
            self.session, self.pss, machine=machine, player=player, actor=self.sk
        )

    def record(self, machine: TournamentMachine, score: int | str, **kw: Any) -> Any:
        return games.record_score(
            self.session, self.pss, machine=machine, score=score, actor=self.sk, **kw
        )

    def join(self, player: EventPlayer, machine: TournamentMachine, **kw: Any) -> Any:
        return queues.join_queue(
            self.session,
            self.pss,
            machine=machine,
            player=player,
            actor=kw.pop("actor", self.sk),
            **kw,
        )

    def queue(self, machine: TournamentMachine) -> list[int | None]:
        return [
            p.player_id if p.player_id is not None else -(p.team_id or 0)
            for p in queues.queue_for(self.session, machine)
        ]

    def summary(self, player: EventPlayer, slug: str = "main") -> tickets.TicketSummary:
        rows = [s for s in tickets.ticket_summary(self.session, player) if s.slug == slug]
        assert len(rows) == 1, rows
        return rows[0]

    def notes(self, player: EventPlayer) -> list[str]:
        return list(
            self.session.scalars(
                select(Notification.kind)
                .where(Notification.player_id == player.id)
                .order_by(Notification.id)
            ).all()
        )

    def unused_tokens(self, player: EventPlayer, slug: str = "main") -> int:
        return (
            self.session.scalar(
                select(func.count(Token.id)).where(
                    Token.player_id == player.id,
                    Token.tournament_id == self.tournaments[slug].id,
                    Token.used_at.is_(None),
                    Token.voided_at.is_(None),
                )
            )
            or 0
        )


def _staff(session: Session, event: Event, name: str, role: Role) -> Actor:
    user = User(username=f"{name}-{event.id}", password_hash="x")
    session.add(user)
    session.flush()
    eu = EventUser(event_id=event.id, user_id=user.id, password_hash="x")
    eu.roles.append(EventUserRole(role=role))
    session.add(eu)
    session.flush()
    return Actor(name, user_id=user.id)


def build_world(session: Session, pss: Pss, *, players: int = 4) -> World:
    n = next(_seq)
    owner = User(username=f"owner-{n}", password_hash="x", is_event_owner=True)
    session.add(owner)
    session.flush()
    event = setup.create_event(session, owner, f"Test Open {n}", slug=f"test-{n}")
    world = World(
        session=session,
        pss=pss,
        event=event,
        td=Actor("owner", user_id=owner.id),
        desk=_staff(session, event, "desk", Role.DESK),
        sk=_staff(session, event, "sk", Role.SCOREKEEPER),
    )
    world.tournament("main", "herb", price_cents=300, bundles=[{"count": 3, "price_cents": 800}])
    for _ in range(players):
        world.player()
    return world


@pytest.fixture
def world(dbsession: Session, pss: Pss) -> World:
    return build_world(dbsession, pss)


def team_member_ids(session: Session, team: Team) -> list[int]:
    return list(
        session.scalars(
            select(TeamMember.event_player_id).where(TeamMember.team_id == team.id)
        ).all()
    )
