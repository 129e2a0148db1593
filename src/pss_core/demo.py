"""The demo event ``pss demo`` creates: staff for every role, players, a HERB and a PAPA-style
tournament with machines, so every page has something to show; with ``play=True`` also desk sales,
recorded scores, a game in progress and a queue, made through the play services."""

from __future__ import annotations

import attrs
from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core.audit import Actor
from pss_core.models import Channel, Event, EventPlayer, Purchase, Role, Tournament
from pss_core.plugins import Pss
from pss_core.services import games, queues, setup, tickets

DEMO_SLUG = "demo"
DEMO_PIN = "4321"


@attrs.frozen
class Login:
    role: str
    where: str
    username: str
    password: str


DEMO_LOGINS = (
    Login("event owner (admin interface)", "/admin/login", "owner", "owner-pass"),
    Login("tournament director", f"/events/{DEMO_SLUG}/login", "owner", "owner-pass"),
    Login("desk", f"/events/{DEMO_SLUG}/login", "desk", "desk-pass"),
    Login("scorekeeper", f"/events/{DEMO_SLUG}/login", "scorekeeper", "scorekeeper-pass"),
    Login("player", f"/events/{DEMO_SLUG}/player-login", "player number 101", f"PIN {DEMO_PIN}"),
)

MACHINES = (
    "Attack from Mars",
    "Medieval Madness",
    "The Addams Family",
    "Twilight Zone",
    "Godzilla",
    "Foo Fighters",
)
CLASSICS = ("Eight Ball Deluxe", "Black Knight", "Paragon", "Fathom", "Gorgar")
PLAYERS = (
    ("Ada", "Flipper"),
    ("Bo", "Tilt"),
    ("Cy", "Nudge"),
    ("Di", "Drain"),
    ("Ed", "Multiball"),
    ("Flo", "Jackpot"),
    ("Gus", "Spinner"),
    ("Hal", "Ramp"),
)


#: Scores on Main: (player index, machine index, score).
MAIN_SCORES = (
    (0, 0, 4_210_000),
    (1, 0, 3_100_500),
    (2, 1, 12_400_000),
    (3, 1, 9_870_000),
    (4, 2, 55_120_000),
    (5, 3, 210_450_000),
    (6, 4, 88_000_000),
    (7, 5, 31_200_000),
    (0, 1, 15_000_000),
    (1, 2, 61_000_000),
)
#: Ada's open Classics entry: two of its three games played.
CLASSICS_SCORES = ((0, 412_000), (1, 1_030_000))


def create_demo(session: Session, pss: Pss, *, play: bool = False) -> Event:
    """Create the demo event, or return it if it exists already. ``play=True`` also sells
    tickets, records scores and leaves a game in progress with a queue (see :func:`play_demo`)."""
    event = setup.event_by_slug(session, DEMO_SLUG)
    if event is not None:
        if play:
            play_demo(session, pss, event)
        return event
    owner = setup.user_by_name(session, "owner") or setup.create_user(
        session,
        "owner",
        password="owner-pass",  # noqa: S106  the demo's documented login
        full_name="Demo Owner",
        event_owner=True,
    )
    session.flush()
    event = setup.create_event(session, owner, "PSS Demo Open", slug=DEMO_SLUG)
    setup.add_event_user(session, event, "desk", "desk-pass", [Role.DESK], full_name="Desk Dee")
    setup.add_event_user(
        session,
        event,
        "scorekeeper",
        "scorekeeper-pass",
        [Role.SCOREKEEPER],
        full_name="Scorekeeper Sam",
    )
    main = setup.create_tournament(
        session,
        pss,
        event,
        "Main (HERB)",
        "herb",
        slug="main",
        options={"machines_counted": 3},
        price_cents=300,
        bundles=[{"count": 3, "price_cents": 800}],
        qualifying_cut=4,
    )
    for name in MACHINES:
        setup.add_machine(session, main, name)
    classics = setup.create_tournament(
        session,
        pss,
        event,
        "Classics (PAPA-style)",
        "papa",
        slug="classics",
        options={"games_per_entry": 3},
        price_cents=500,
    )
    for name in CLASSICS:
        setup.add_machine(session, classics, name)
    for i, (first, last) in enumerate(PLAYERS):
        setup.register_player(session, event, first, last, number=101 + i, pin=DEMO_PIN)
    session.flush()
    if play:
        play_demo(session, pss, event)
    return event


def _staff_actor(session: Session, event: Event, username: str) -> Actor:
    eu = setup.event_user(session, event, username)
    assert eu is not None
    return Actor(username, user_id=eu.user_id)


def play_demo(session: Session, pss: Pss, event: Event) -> bool:
    """Give the demo event some play: every player buys three Main tickets at the desk, four buy
    a Classics entry, one gets a comp; ten Main scores and two Classics games are recorded; Cy is
    playing Godzilla with Di and Ed waiting. Does nothing (returns False) once the event has any
    purchase, so it is safe to call again."""
    if session.scalar(select(Purchase.id).where(Purchase.event_id == event.id).limit(1)):
        return False
    desk = _staff_actor(session, event, "desk")
    keeper = _staff_actor(session, event, "scorekeeper")
    main, classics = (
        session.scalars(
            select(Tournament).where(Tournament.event_id == event.id, Tournament.slug == slug)
        ).one()
        for slug in ("main", "classics")
    )
    players = list(
        session.scalars(
            select(EventPlayer).where(EventPlayer.event_id == event.id).order_by(EventPlayer.number)
        ).all()
    )
    for p in players:
        tickets.sell_tickets(session, pss, player=p, count=3, tournament=main, actor=desk)
    for p in players[:4]:
        tickets.sell_tickets(session, pss, player=p, count=1, tournament=classics, actor=desk)
    tickets.sell_tickets(
        session, pss, player=players[-1], count=1, tournament=main, channel=Channel.COMP, actor=desk
    )
    for who, machine, score in MAIN_SCORES:
        games.start_game(
            session, pss, machine=main.machines[machine], player=players[who], actor=keeper
        )
        games.record_score(session, pss, machine=main.machines[machine], score=score, actor=keeper)
    for machine, score in CLASSICS_SCORES:
        games.start_game(
            session, pss, machine=classics.machines[machine], player=players[0], actor=keeper
        )
        games.record_score(
            session, pss, machine=classics.machines[machine], score=score, actor=keeper
        )
    godzilla = main.machines[4]
    games.start_game(session, pss, machine=godzilla, player=players[2], actor=keeper)
    for p in players[3:5]:
        queues.join_queue(session, pss, machine=godzilla, player=p, actor=keeper)
    session.flush()
    return True
