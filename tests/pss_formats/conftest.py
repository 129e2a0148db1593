"""A score board for standings tests: tournaments, players, teams, entries and scores written
straight into the database (the play-flow services are tested elsewhere)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pss_core.models import (
    Entry,
    EntryStatus,
    Event,
    EventPlayer,
    MachineStatus,
    Player,
    Score,
    Team,
    TeamMember,
    Tournament,
    TournamentMachine,
    User,
)
from pss_core.plugins import Pss
from pss_core.services import setup
from pss_core.standings import ScoreRow


class Board:
    """Builds one event's tournaments and scores, and the same scores as ``ScoreRow`` values."""

    def __init__(self, session: Session, pss: Pss, event: Event) -> None:
        self.session = session
        self.pss = pss
        self.event = event
        self.players: dict[str, EventPlayer] = {}
        self.teams: dict[str, Team] = {}
        self.machines: dict[tuple[int, str], TournamentMachine] = {}

    def tournament(self, format_name: str, machines: Sequence[str] = ("M1", "M2", "M3"),
                   *, options: dict[str, Any] | None = None, cut: int | None = None,
                   name: str | None = None) -> Tournament:
        name = name or f"{format_name} {len(self.event.tournaments) + 1}"
        t = setup.create_tournament(self.session, self.pss, self.event, name, format_name,
                                    options=options, qualifying_cut=cut)
        for m in machines:
            self.machines[(t.id, m)] = setup.add_machine(self.session, t, m)
        self.session.flush()
        return t

    def player(self, name: str, number: int | None = None) -> EventPlayer:
        if name not in self.players:
            person = Player(first_name=name, last_name="")
            self.session.add(person)
            self.session.flush()
            ep = EventPlayer(event_id=self.event.id, player_id=person.id,
                             number=number or 100 + len(self.players) + 1, pin_hash="-")
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

    def entry(self, t: Tournament, owner: str, games: Sequence[tuple[str, int]], *,
              status: EntryStatus = EntryStatus.COMPLETE, team: bool = False,
              games_allowed: int | None = None) -> Entry:
        owner_ids = ({"team_id": self.teams[owner].id} if team
                     else {"player_id": self.player(owner).id})
        entry = Entry(event_id=self.event.id, tournament_id=t.id, status=status,
                      games_allowed=games_allowed or max(len(games), 1), **owner_ids)
        self.session.add(entry)
        self.session.flush()
        for machine, score in games:
            self.session.add(Score(event_id=self.event.id, entry_id=entry.id,
                                   tournament_machine_id=self.machine(t, machine).id,
                                   score=score))
        t.version += 1
        self.session.flush()
        return entry

    def game(self, t: Tournament, owner: str, machine: str, score: int, *,
             status: EntryStatus = EntryStatus.COMPLETE, team: bool = False) -> Entry:
        """A HERB game: an entry of one game."""
        return self.entry(t, owner, [(machine, score)], status=status, team=team)

    def add_games(self, t: Tournament, rows: Iterable[ScoreRow]) -> None:
        """Store rows (HERB: one entry per row; rows with an ``entry`` grouped into entries)."""
        grouped: dict[str, list[ScoreRow]] = {}
        for row in rows:
            if row.entry is None:
                self.game(t, row.owner, row.machine, row.score, team=row.team is not None)
            else:
                grouped.setdefault(row.entry, []).append(row)
        for games in grouped.values():
            self.entry(t, games[0].owner, [(g.machine, g.score) for g in games],
                       team=games[0].team is not None)


def new_board(session: Session, pss: Pss) -> Board:
    """A board on a new event (its own owner), so several can live in one test."""
    n = len(session.new) + (session.scalar(select(func.count(User.id))) or 0) + 1
    owner = User(username=f"td{n}", is_event_owner=True, password_hash="-")
    session.add(owner)
    session.flush()
    event = Event(slug=f"open-{owner.id}", name="Standings Open", owner_id=owner.id)
    session.add(event)
    session.flush()
    return Board(session, pss, event)


@pytest.fixture
def board(dbsession: Session, pss: Pss) -> Board:
    return new_board(dbsession, pss)


@pytest.fixture
def make_board(dbsession: Session, pss: Pss) -> Callable[[], Board]:
    """Boards for property tests, which make one per example inside a savepoint."""
    return lambda: new_board(dbsession, pss)
