"""A score board for tests of formats: one event's tournaments, players, teams, entries and scores,
played through the desk and scorekeeper services or written straight into the tables. Plugin
authors get it as the ``board`` fixture, built with their own plugins (``pss_plugins``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pss_core.audit import Actor
from pss_core.models import (
    Entry,
    EntryStatus,
    Event,
    EventPlayer,
    EventUser,
    EventUserRole,
    MachineStatus,
    Metatournament,
    Player,
    Role,
    Score,
    Team,
    TeamMember,
    Tournament,
    TournamentMachine,
    User,
)
from pss_core.plugins import Pss
from pss_core.services import admin, best_scores, games, setup, tickets
from pss_core.standings import Standings, compute_standings


class Board:
    """Builds one event's tournaments and scores, and the same scores as ``ScoreRow`` values."""

    def __init__(self, session: Session, pss: Pss, event: Event, td: Actor) -> None:
        self.session = session
        self.pss = pss
        self.event = event
        self.td = td
        self.desk = self._staff("desk", Role.DESK)
        self.sk = self._staff("scorekeeper", Role.SCOREKEEPER)
        self.players: dict[str, EventPlayer] = {}
        self.teams: dict[str, Team] = {}
        self.machines: dict[tuple[int, str], TournamentMachine] = {}

    def _staff(self, name: str, role: Role) -> Actor:
        user = User(username=f"{name}-{self.event.id}", password_hash="-")
        self.session.add(user)
        self.session.flush()
        member = EventUser(event_id=self.event.id, user_id=user.id, password_hash="-")
        member.roles.append(EventUserRole(role=role))
        self.session.add(member)
        self.session.flush()
        return Actor(name, user_id=user.id)

    def tournament(
        self,
        format_name: str,
        machines: Sequence[str] = ("M1", "M2", "M3"),
        *,
        options: dict[str, Any] | None = None,
        cut: int | None = None,
        name: str | None = None,
    ) -> Tournament:
        name = name or f"{format_name} {len(self.event.tournaments) + 1}"
        t = setup.create_tournament(
            self.session,
            self.pss,
            self.event,
            name,
            format_name,
            options=options,
            qualifying_cut=cut,
        )
        for m in machines:
            self.machines[(t.id, m)] = setup.add_machine(self.session, t, m)
        self.session.flush()
        return t

    def player(self, name: str, number: int | None = None) -> EventPlayer:
        if name not in self.players:
            person = Player(first_name=name, last_name="")
            self.session.add(person)
            self.session.flush()
            ep = EventPlayer(
                event_id=self.event.id,
                player_id=person.id,
                number=number or 100 + len(self.players) + 1,
                pin_hash="-",
            )
            self.session.add(ep)
            self.session.flush()
            self.players[name] = ep
        return self.players[name]

    def team(self, name: str, members: Iterable[str]) -> Team:
        if name not in self.teams:
            team = Team(event_id=self.event.id, name=name)
            for m in members:
                team.members.append(TeamMember(event_player_id=self.player(m).id))
            self.session.add(team)
            self.session.flush()
            self.teams[name] = team
        return self.teams[name]

    def machine(self, t: Tournament, name: str) -> TournamentMachine:
        return self.machines[(t.id, name)]

    def set_machine_status(self, t: Tournament, name: str, status: MachineStatus) -> None:
        self.machine(t, name).status = status
        self.session.flush()

    def entry(
        self,
        t: Tournament,
        owner: str,
        games: Sequence[tuple[str, int]],
        *,
        status: EntryStatus = EntryStatus.COMPLETE,
        team: bool = False,
        games_allowed: int | None = None,
    ) -> Entry:
        owner_ids = (
            {"team_id": self.teams[owner].id} if team else {"player_id": self.player(owner).id}
        )
        entry = Entry(
            event_id=self.event.id,
            tournament_id=t.id,
            status=status,
            games_allowed=games_allowed or max(len(games), 1),
            **owner_ids,
        )
        self.session.add(entry)
        self.session.flush()
        for machine, score in games:
            self.session.add(
                Score(
                    event_id=self.event.id,
                    entry_id=entry.id,
                    tournament_machine_id=self.machine(t, machine).id,
                    score=score,
                )
            )
        t.version += 1
        best_scores.refresh_entry(self.session, entry.id)
        return entry

    # --- playing through the services, as the desk and scorekeepers do ----------------------

    def sell(self, player: str, count: int, scope: Tournament | Metatournament) -> Any:
        if isinstance(scope, Tournament):
            return tickets.sell_tickets(
                self.session,
                self.pss,
                player=self.player(player),
                count=count,
                actor=self.desk,
                tournament=scope,
            )
        return tickets.sell_tickets(
            self.session,
            self.pss,
            player=self.player(player),
            count=count,
            actor=self.desk,
            metatournament=scope,
        )

    def start(self, t: Tournament, player: str, machine: str) -> Any:
        return games.start_game(
            self.session,
            self.pss,
            machine=self.machine(t, machine),
            player=self.player(player),
            actor=self.sk,
        )

    def play(self, t: Tournament, player: str, machine: str, score: int | None) -> Any:
        """Start ``player`` on ``machine`` and record ``score`` (``None`` voids the game)."""
        self.start(t, player, machine)
        tm = self.machine(t, machine)
        if score is None:
            return games.void_game(self.session, self.pss, machine=tm, actor=self.sk)
        return games.record_score(self.session, self.pss, machine=tm, score=score, actor=self.sk)

    def set_options(self, t: Tournament, **options: Any) -> dict[str, Any]:
        """Save format options as the director's form does: parsed, checked together (the
        format's ``check_options``) and stored; returns what changed."""
        return admin.update_tournament(
            self.session, self.pss, t, actor=self.td, changes={"options": options}
        )

    def standings(self, t: Tournament) -> Standings:
        """The tournament's standings, as its pages show them."""
        return compute_standings(self.session, self.pss, t)

    # --- writing scores straight into the tables --------------------------------------------

    def game(
        self,
        t: Tournament,
        owner: str,
        machine: str,
        score: int,
        *,
        status: EntryStatus = EntryStatus.COMPLETE,
        team: bool = False,
    ) -> Entry:
        """A HERB game: an entry of one game."""
        return self.entry(t, owner, [(machine, score)], status=status, team=team)


def new_board(session: Session, pss: Pss) -> Board:
    """A board on a new event (its own owner), so several can live in one test."""
    n = len(session.new) + (session.scalar(select(func.count(User.id))) or 0) + 1
    owner = User(username=f"td{n}", is_event_owner=True, password_hash="-")
    session.add(owner)
    session.flush()
    event = setup.create_event(session, owner, "Standings Open", slug=f"open-{owner.id}")
    return Board(session, pss, event, Actor("td", user_id=owner.id))


@pytest.fixture
def pss_plugins() -> Sequence[object]:
    """The plugins under test; override it in your ``conftest.py`` (``return [my_plugin]``)."""
    return ()


@pytest.fixture
def plugin_pss(make_pss: Callable[..., Pss], pss_plugins: Sequence[object]) -> Pss:
    """The plugin manager with the built-ins and ``pss_plugins`` (no other entry points)."""
    return make_pss(*pss_plugins)


@pytest.fixture
def board(dbsession: Session, plugin_pss: Pss) -> Board:
    """A :class:`Board` on a new event, its formats from ``plugin_pss``."""
    return new_board(dbsession, plugin_pss)
