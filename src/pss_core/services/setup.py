"""Setting an event up: owners, events, staff and roles, players, tournaments, machines, teams,
metatournaments. What the admin interface and ``pss demo`` call."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pss_core import audit
from pss_core.audit import Actor
from pss_core.errors import InvalidInput, NotFound, Refused
from pss_core.models import (
    Event,
    EventPlayer,
    EventUser,
    EventUserRole,
    Machine,
    MachineStatus,
    Metatournament,
    MetatournamentMember,
    Player,
    Role,
    Team,
    TeamMember,
    Tournament,
    TournamentMachine,
    User,
)
from pss_core.plugins import Pss
from pss_core.security import hash_secret, new_pin

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:64] or "x"


def _check_slug(slug: str) -> str:
    if not SLUG_RE.match(slug):
        raise InvalidInput(
            f"{slug!r} cannot be used in a web address: use lower-case letters, digits and dashes.",
            code="invalid_slug",
        )
    return slug


def _require_text(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"{what} is required.", code="missing_field")
    return value


# --- users and events -----------------------------------------------------------------------


def create_user(
    session: Session,
    username: str,
    *,
    password: str | None = None,
    full_name: str = "",
    email: str | None = None,
    event_owner: bool = False,
    actor: Actor = audit.SYSTEM,
) -> User:
    username = _require_text(username, "A username")
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise Refused(f"The username {username!r} is taken.", code="username_taken")
    user = User(
        username=username,
        full_name=full_name,
        email=email,
        password_hash=hash_secret(password) if password else None,
        is_event_owner=event_owner,
    )
    session.add(user)
    audit.record(
        session,
        actor,
        "user.create",
        event_id=None,
        subject=user,
        username=username,
        event_owner=event_owner,
    )
    return user


def user_by_name(session: Session, username: str) -> User | None:
    return session.scalars(
        select(User).where(func.lower(User.username) == username.strip().lower())
    ).first()


def create_event(
    session: Session,
    owner: User,
    name: str,
    *,
    slug: str | None = None,
    owner_password: str | None = None,
    actor: Actor | None = None,
) -> Event:
    """Create an event; its owner becomes its tournament director, with ``owner_password`` (or
    their own admin password hash) valid for logging into the event."""
    if not owner.is_event_owner:
        raise Refused("Only event owners can create events.", code="not_event_owner")
    name = _require_text(name, "An event name")
    slug = _check_slug(slug or slugify(name))
    if session.scalar(select(Event.id).where(Event.slug == slug)):
        raise Refused(f"An event with the address {slug!r} exists already.", code="slug_taken")
    actor = actor or Actor(owner.username, user_id=owner.id)
    event = Event(slug=slug, name=name, owner_id=owner.id)
    session.add(event)
    session.flush()
    password_hash = hash_secret(owner_password) if owner_password else owner.password_hash
    if password_hash is None:
        raise InvalidInput(
            "The owner needs a password to log into the event.", code="missing_password"
        )
    eu = EventUser(event_id=event.id, user_id=owner.id, password_hash=password_hash)
    eu.roles.append(EventUserRole(role=Role.TOURNAMENT_DIRECTOR))
    session.add(eu)
    audit.record(
        session, actor, "event.create", event_id=event.id, subject=event, name=name, slug=slug
    )
    return event


def event_by_slug(session: Session, slug: str) -> Event | None:
    return session.scalars(select(Event).where(Event.slug == slug)).first()


def add_event_user(
    session: Session,
    event: Event,
    username: str,
    password: str,
    roles: Iterable[Role | str],
    *,
    full_name: str = "",
    actor: Actor = audit.SYSTEM,
) -> EventUser:
    """Give ``username`` roles in ``event`` with a password valid there only; the account is created
    silently if it does not exist yet. Re-adding an existing member replaces roles and password."""
    role_set = {Role(r) for r in roles}
    if not role_set:
        raise InvalidInput("Choose at least one role.", code="missing_role")
    if len(password or "") < 6:
        raise InvalidInput(
            "The event password must have at least 6 characters.", code="weak_password"
        )
    user = user_by_name(session, username)
    if user is None:
        user = create_user(session, username, full_name=full_name, actor=actor)
        session.flush()
    eu = session.scalars(
        select(EventUser).where(EventUser.event_id == event.id, EventUser.user_id == user.id)
    ).first()
    if eu is None:
        eu = EventUser(event_id=event.id, user_id=user.id, password_hash=hash_secret(password))
        session.add(eu)
    else:
        eu.password_hash = hash_secret(password)
        eu.roles.clear()
        session.flush()
    for role in sorted(role_set):
        eu.roles.append(EventUserRole(role=role))
    audit.record(
        session,
        actor,
        "event_user.set",
        event_id=event.id,
        subject=eu,
        username=user.username,
        roles=sorted(r.value for r in role_set),
    )
    return eu


def event_user(session: Session, event: Event, username: str) -> EventUser | None:
    return session.scalars(
        select(EventUser)
        .join(User, EventUser.user_id == User.id)
        .where(
            EventUser.event_id == event.id, func.lower(User.username) == username.strip().lower()
        )
    ).first()


# --- players and teams ----------------------------------------------------------------------


def register_player(
    session: Session,
    event: Event,
    first_name: str,
    last_name: str = "",
    *,
    number: int | None = None,
    pin: str | None = None,
    ifpa_id: int | None = None,
    ifpa_rank: int | None = None,
    email: str | None = None,
    player: Player | None = None,
    actor: Actor = audit.SYSTEM,
) -> tuple[EventPlayer, str]:
    """Register a player in ``event``; returns the registration and the PIN in clear (shown once,
    to be printed for the player). An existing global player (same IFPA id) is reused."""
    if player is None and ifpa_id is not None:
        player = session.scalars(select(Player).where(Player.ifpa_id == ifpa_id)).first()
    if player is None:
        player = Player(
            first_name=_require_text(first_name, "A first name"),
            last_name=(last_name or "").strip(),
            ifpa_id=ifpa_id,
            email=email,
        )
        session.add(player)
        session.flush()
    elif session.scalar(
        select(EventPlayer.id).where(
            EventPlayer.event_id == event.id, EventPlayer.player_id == player.id
        )
    ):
        raise Refused(
            f"{player.name} is already registered in {event.name}.", code="already_registered"
        )
    if number is None:
        number = (
            session.scalar(
                select(func.max(EventPlayer.number)).where(EventPlayer.event_id == event.id)
            )
            or 99
        ) + 1
    elif number < 1:
        raise InvalidInput("Player numbers start at 1.", code="invalid_number")
    elif session.scalar(
        select(EventPlayer.id).where(EventPlayer.event_id == event.id, EventPlayer.number == number)
    ):
        raise Refused(f"Player number {number} is taken in {event.name}.", code="number_taken")
    pin = pin or new_pin()
    if not (pin.isdigit() and 4 <= len(pin) <= 8):
        raise InvalidInput("A PIN is 4 to 8 digits.", code="invalid_pin")
    ep = EventPlayer(
        event_id=event.id,
        player_id=player.id,
        number=number,
        pin_hash=hash_secret(pin),
        ifpa_rank=ifpa_rank,
    )
    session.add(ep)
    session.flush()
    audit.record(
        session,
        actor,
        "player.register",
        event_id=event.id,
        subject=ep,
        player_id=ep.id,
        number=number,
        name=player.name,
    )
    return ep, pin


def player_by_number(session: Session, event_id: int, number: int) -> EventPlayer:
    ep = session.scalars(
        select(EventPlayer).where(EventPlayer.event_id == event_id, EventPlayer.number == number)
    ).first()
    if ep is None:
        raise NotFound(f"There is no player number {number} in this event.", code="unknown_player")
    return ep


def create_team(
    session: Session,
    event: Event,
    name: str,
    members: Iterable[EventPlayer],
    *,
    actor: Actor = audit.SYSTEM,
) -> Team:
    name = _require_text(name, "A team name")
    if session.scalar(select(Team.id).where(Team.event_id == event.id, Team.name == name)):
        raise Refused(f"There is already a team called {name!r}.", code="team_name_taken")
    team = Team(event_id=event.id, name=name)
    session.add(team)
    for ep in members:
        if ep.event_id != event.id:
            raise InvalidInput(f"{ep.name} is not registered in this event.", code="wrong_event")
        other = session.scalar(
            select(Team.name)
            .join(TeamMember)
            .where(Team.event_id == event.id, TeamMember.event_player_id == ep.id)
        )
        if other is not None:
            raise Refused(f"{ep.name} is already on team {other}.", code="already_on_team")
        team.members.append(TeamMember(event_player_id=ep.id))
    session.flush()
    audit.record(
        session,
        actor,
        "team.create",
        event_id=event.id,
        subject=team,
        name=name,
        members=[m.event_player_id for m in team.members],
    )
    return team


# --- tournaments, machines, metatournaments -------------------------------------------------


def create_tournament(
    session: Session,
    pss: Pss,
    event: Event,
    name: str,
    format_name: str,
    *,
    options: Mapping[str, Any] | None = None,
    slug: str | None = None,
    price_cents: int = 0,
    bundles: Iterable[Mapping[str, int]] = (),
    actor: Actor = audit.SYSTEM,
    **settings: Any,
) -> Tournament:
    """Create a tournament in ``format_name`` with validated options and pricing."""
    spec = pss.formats[format_name]
    resolved = spec.resolve_options(options or {})
    check_option_numbers(resolved)
    for opt in spec.options:
        if opt.type == "points_curve" and resolved[opt.name] not in pss.curves:
            raise InvalidInput(
                f"There is no points curve called {resolved[opt.name]!r} (installed: "
                f"{', '.join(c.name for c in pss.curves)}).",
                code="unknown_points_curve",
            )
    name = _require_text(name, "A tournament name")
    slug = _check_slug(slug or slugify(name))
    if session.scalar(
        select(Tournament.id).where(Tournament.event_id == event.id, Tournament.slug == slug)
    ):
        raise Refused(
            f"A tournament with the address {slug!r} exists in this event.", code="slug_taken"
        )
    if price_cents < 0:
        raise InvalidInput("A price cannot be negative.", code="invalid_price")
    t = Tournament(
        event_id=event.id,
        slug=slug,
        name=name,
        format=format_name,
        format_options=resolved,
        price_cents=price_cents,
        bundles=validate_bundles(bundles),
        is_team=spec.team,
        **settings,
    )
    if spec.team and t.max_team_size is None:
        t.max_team_size = resolved.get("team_size")
    session.add(t)
    session.flush()
    audit.record(
        session,
        actor,
        "tournament.create",
        event_id=event.id,
        subject=t,
        name=name,
        format=format_name,
        options=resolved,
        price_cents=price_cents,
    )
    return t


#: The largest whole number a format option may be: some become columns (a team's size) and
#: all may meet 32-bit integers in the standings' SQL.
OPTION_INT_MAX = 2**31 - 1


def check_option_numbers(options: Mapping[str, Any]) -> None:
    """Refuse whole-number options too large to store or compare (a format may set no maximum)."""
    for name, value in options.items():
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > OPTION_INT_MAX:
            raise InvalidInput(f"Option {name!r} must be at most {OPTION_INT_MAX}.",
                               code="invalid_option", option=name)


def _whole(value: object) -> int:
    """A whole number from an int or a string of digits (not a bool, a float or a list)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(value)
    return int(value)


def validate_bundles(bundles: Iterable[Mapping[str, int]]) -> list[dict[str, int]]:
    out = []
    for b in bundles:
        try:
            count, price = _whole(b["count"]), _whole(b["price_cents"])
        except (TypeError, ValueError, KeyError):
            raise InvalidInput("Each bundle needs a whole-number count and price_cents.",
                               code="invalid_bundle") from None
        if count < 2 or price < 0:
            raise InvalidInput(
                "A bundle is 2 or more tickets at a price of 0 or more cents.",
                code="invalid_bundle",
            )
        out.append({"count": count, "price_cents": price})
    if len({b["count"] for b in out}) != len(out):
        raise InvalidInput("Two bundles have the same ticket count.", code="invalid_bundle")
    return sorted(out, key=lambda b: b["count"])


def machine_by_name(session: Session, name: str, *, create: bool = True) -> Machine:
    name = _require_text(name, "A machine name")
    machine = session.scalars(
        select(Machine).where(func.lower(Machine.name) == name.lower())
    ).first()
    if machine is None:
        if not create:
            raise NotFound(f"No machine called {name!r} in the catalogue.", code="unknown_machine")
        machine = Machine(name=name, abbreviation="".join(w[0] for w in name.split())[:8].upper())
        session.add(machine)
        session.flush()
    return machine


def add_machine(
    session: Session, tournament: Tournament, machine_name: str, *, actor: Actor = audit.SYSTEM
) -> TournamentMachine:
    machine = machine_by_name(session, machine_name)
    existing = session.scalars(
        select(TournamentMachine).where(
            TournamentMachine.tournament_id == tournament.id,
            TournamentMachine.machine_id == machine.id,
        )
    ).first()
    if existing is not None:
        if existing.status != MachineStatus.REMOVED:
            raise Refused(
                f"{machine.name} is already in {tournament.name}.", code="machine_already_added"
            )
        existing.status = MachineStatus.ACTIVE
        tm = existing
    else:
        tm = TournamentMachine(
            event_id=tournament.event_id, tournament_id=tournament.id, machine_id=machine.id
        )
        session.add(tm)
        session.flush()
    audit.record(
        session,
        actor,
        "machine.add",
        event_id=tournament.event_id,
        subject=tm,
        tournament=tournament.slug,
        machine=machine.name,
    )
    return tm


def create_metatournament(
    session: Session,
    event: Event,
    name: str,
    tournaments: Iterable[Tournament],
    *,
    slug: str | None = None,
    price_cents: int = 0,
    bundles: Iterable[Mapping[str, int]] = (),
    actor: Actor = audit.SYSTEM,
) -> Metatournament:
    name = _require_text(name, "A metatournament name")
    slug = _check_slug(slug or slugify(name))
    meta = Metatournament(
        event_id=event.id,
        slug=slug,
        name=name,
        price_cents=price_cents,
        bundles=validate_bundles(bundles),
    )
    session.add(meta)
    members = list(tournaments)
    formats = {t.format for t in members}
    if len(formats) > 1:
        raise InvalidInput(
            "All tournaments of a metatournament must share one format, so a "
            "ticket means the same everywhere.",
            code="mixed_formats",
        )
    for t in members:
        if t.event_id != event.id:
            raise InvalidInput(f"{t.name} is not in this event.", code="wrong_event")
        if session.scalar(
            select(MetatournamentMember.id).where(MetatournamentMember.tournament_id == t.id)
        ):
            raise Refused(
                f"{t.name} is already in a metatournament.", code="already_in_metatournament"
            )
        meta.members.append(MetatournamentMember(tournament_id=t.id))
    session.flush()
    audit.record(
        session,
        actor,
        "metatournament.create",
        event_id=event.id,
        subject=meta,
        name=name,
        tournaments=[t.slug for t in members],
    )
    return meta
