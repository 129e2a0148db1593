"""How many times a start and a score talk to the database, counted through HTTP on the real
request path (pyramid_tm, the app's own sessions, the pool): every statement the driver is sent
and every BEGIN, COMMIT, ROLLBACK and savepoint. A count, not a timing: it is the same on a quiet
machine and a loaded one, and it is what decides how long a scorekeeper's save holds its locks."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from pss_core.audit import Actor
from pss_core.demo import create_demo
from pss_core.models import Score, Token, TournamentMachine
from pss_core.plugins import Pss
from pss_core.services import setup, tickets
from pss_testing.web import CLIENT_ADDR, TEST_PASSWORD, post_json

#: The target for recording a score (it was 57 on PostgreSQL before this count).
TARGET = 20
#: What a score and a start take now (PostgreSQL; SQLite sends one more statement per lock to
#: claim its write lock, and no pool ping): a bound, so that what was saved stays saved. A score
#: includes the six statements that keep the entry's best scores (``best_scores``) current.
SCORE_ROUND_TRIPS = 37
START_ROUND_TRIPS = 41


class RoundTrips:
    """Counts what the engine sends while ``counting`` is on, by kind."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.on = False
        self.seen: list[str] = []

    def _note(self, what: str) -> None:
        if self.on:
            self.seen.append(what)

    def statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self._note(" ".join(statement.split())[:90])

    def listen(self) -> None:
        event.listen(self.engine, "before_cursor_execute", self.statement)
        # SAVEPOINT and RELEASE go through the cursor (counted above), as does SQLite's BEGIN.
        names = ["commit", "rollback"] + (["begin"] if self.engine.dialect.name != "sqlite" else [])
        self.names = names
        for name in names:
            event.listen(self.engine, name, self._hook(name))
        event.listen(self.engine.pool, "checkout", self._ping)

    def _hook(self, name: str) -> Any:
        def hook(conn: Any, *args: Any) -> None:
            self._note(name.upper())

        self.__dict__[f"_h_{name}"] = hook
        return hook

    def _ping(self, dbapi_conn: Any, record: Any, proxy: Any) -> None:
        # pool_pre_ping sends its ping below the engine's cursor events: count it here.
        if getattr(self.engine.pool, "_pre_ping", False):
            self._note("pre-ping")

    def remove(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self.statement)
        for name in self.names:
            event.remove(self.engine, name, self.__dict__[f"_h_{name}"])
        event.remove(self.engine.pool, "checkout", self._ping)

    def count(self, fn: Any) -> tuple[Any, list[str]]:
        self.seen = []
        self.on = True
        try:
            result = fn()
        finally:
            self.on = False
        return result, self.seen


@pytest.fixture
def app(committed_engine: Engine, pss: Pss) -> Any:
    """The real app on a committed database: each request gets its own session, as in production."""
    from webtest import TestApp

    from pss_web import make_app

    wsgi = make_app(
        {"pss.engine": committed_engine, "pss.plugins": pss, "pss.raise_errors": "true"}
    )
    return TestApp(wsgi, extra_environ={"REMOTE_ADDR": CLIENT_ADDR})


def seeded(engine: Engine, pss: Pss) -> tuple[str, int]:
    """The demo event with a scorekeeper and tickets for two players; its first HERB machine."""
    with Session(engine, expire_on_commit=False) as s:
        ev = create_demo(s, pss)
        setup.add_event_user(s, ev, "counting-keeper", TEST_PASSWORD, ["scorekeeper"])
        for number in (101, 102):
            tickets.sell_tickets(
                s,
                pss,
                player=setup.player_by_number(s, ev.id, number),
                count=2,
                tournament=ev.tournaments[0],
                actor=Actor("desk test"),
            )
        machine_id = ev.tournaments[0].machines[0].id
        s.commit()
        return ev.slug, machine_id


def start_and_score(app: Any, engine: Engine, pss: Pss) -> tuple[list[str], list[str]]:
    """A start and a score through HTTP, counted once every cache is warm (a second game)."""
    slug, machine_id = seeded(engine, pss)
    post_json(
        app, f"/events/{slug}/login", {"username": "counting-keeper", "password": TEST_PASSWORD}
    )
    base = f"/events/{slug}/machines/{machine_id}"
    counted = RoundTrips(engine)
    counted.listen()
    try:
        for number, typed, value in ((101, "1,234,567", 1_234_567), (102, "7654321", 7_654_321)):
            res, start_trips = counted.count(
                lambda n=number: post_json(app, f"{base}/start", {"player": n}, status=201)
            )
            token_id = res.json["started"]["token_id"]
            res, score_trips = counted.count(
                lambda t=typed, k=token_id: post_json(
                    app, f"{base}/score", {"score": t, "token_id": k}
                )
            )
            assert res.json["ended"]["score"] == value
            # What was counted really happened: the score is stored and its token used.
            with Session(engine) as s:
                stored = s.scalars(select(Score).where(Score.token_id == token_id)).one()
                assert stored.score == value
                assert s.get(Token, token_id).used_at is not None  # type: ignore[union-attr]
                machine = s.get(TournamentMachine, machine_id)
                assert machine is not None
                assert machine.token_id is None
    finally:
        counted.remove()
    # The counter sees what it must: a score is at least a BEGIN, an INSERT and a COMMIT.
    assert any(t.startswith("BEGIN") for t in score_trips)
    assert any(t.startswith("INSERT INTO scores") for t in score_trips)
    assert score_trips.count("COMMIT") == 1
    return start_trips, score_trips


def test_a_start_and_a_score_take_few_round_trips(
    app: Any, committed_engine: Engine, pss: Pss
) -> None:
    start_trips, score_trips = start_and_score(app, committed_engine, pss)
    slack = 1 if committed_engine.dialect.name == "sqlite" else 0  # see SCORE_ROUND_TRIPS
    assert len(score_trips) <= SCORE_ROUND_TRIPS + slack, "\n".join(score_trips)
    assert len(start_trips) <= START_ROUND_TRIPS + slack, "\n".join(start_trips)


@pytest.mark.xfail(
    strict=True,
    reason="not there yet: the traversal, login, savepoint, pool ping and the answer's queries "
    "take ten, the game services about twenty (docs/benchmarks.rst, writes)",
)
def test_a_score_takes_at_most_twenty_round_trips(
    app: Any, committed_engine: Engine, pss: Pss
) -> None:
    _, score_trips = start_and_score(app, committed_engine, pss)
    assert len(score_trips) <= TARGET, "\n".join(score_trips)
