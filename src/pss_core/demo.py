"""The demo event ``pss demo`` creates: staff for every role, players, a HERB and a PAPA-style
tournament with machines, so every page has something to show."""

from __future__ import annotations

import attrs
from sqlalchemy.orm import Session

from pss_core.models import Event, Role
from pss_core.plugins import Pss
from pss_core.services import setup

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


def create_demo(session: Session, pss: Pss) -> Event:
    """Create the demo event, or return it if it exists already."""
    event = setup.event_by_slug(session, DEMO_SLUG)
    if event is not None:
        return event
    owner = setup.user_by_name(session, "owner") or setup.create_user(
        session, "owner", password="owner-pass", full_name="Demo Owner", event_owner=True
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
    return event
