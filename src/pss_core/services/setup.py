"""Setting an event up: owners, events, staff and roles, players (and a new PIN for one who lost
theirs), tournaments, machines, teams and metatournaments, and who is on a team or in a
metatournament afterwards. What the admin interface and ``pss demo`` call."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pss_core import audit
from pss_core.audit import Actor
from pss_core.contract import FormatSpec
from pss_core.errors import InvalidInput, NotFound, PermissionDenied, Refused
from pss_core.models import (
    Entry,
    EntryStatus,
    Event,
    EventPlayer,
    EventUser,
    EventUserRole,
    Machine,
    MachineStatus,
    Metatournament,
    MetatournamentMember,
    Player,
    QueueSlot,
    Role,
    Team,
    TeamMember,
    Token,
    Tournament,
    TournamentMachine,
    TournamentStatus,
    User,
)
from pss_core.plugins import Pss
from pss_core.security import hash_secret, new_pin, verify_secret
from pss_core.services import auth, ifpa, locking

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


# Control characters, and marks that reorder or hide text (bidi overrides, zero-width spaces): with
# them a name can be made to read as somebody else's on the results board.
_HIDDEN_CHARS = re.compile(
    "[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")


def clean_text(value: str | None, what: str) -> str:
    """``value`` stripped; refused if it holds control or invisible reordering characters."""
    value = (value or "").strip()
    if _HIDDEN_CHARS.search(value):
        raise InvalidInput(f"{what} contains invisible or control characters.", code="invalid_text")
    return value


def require_text(value: str, what: str) -> str:
    value = clean_text(value, what)
    if not value:
        raise InvalidInput(f"{what} is required.", code="missing_field")
    return value


def check_username(username: str) -> str:
    username = require_text(username, "A username")
    if not USERNAME_RE.match(username):
        raise InvalidInput(
            "A username is up to 64 letters, digits and . _ @ + - characters, starting with a "
            "letter or digit.",
            code="invalid_username",
        )
    return username


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
    username = check_username(username)
    full_name = clean_text(full_name, "A full name")
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
    name = require_text(name, "An event name")
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
    silently if it does not exist yet. Re-adding an existing member replaces roles and password
    (a different password ends their logins to the event: the old one no longer holds);
    re-adding someone who was removed brings their old membership, and its history, back."""
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
    ended = 0
    returning = eu is not None and eu.removed_at is not None
    if eu is None:
        eu = EventUser(event_id=event.id, user_id=user.id, password_hash=hash_secret(password))
        session.add(eu)
    else:
        if returning or not verify_secret(eu.password_hash, password):
            eu.password_hash = hash_secret(password)
            ended = auth.revoke_sessions(session, event_id=event.id, user_id=user.id)
        eu.removed_at = None
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
        returning=returning,
        logins_ended=ended,
    )
    return eu


def event_user(
    session: Session, event: Event, username: str, *, removed: bool = False
) -> EventUser | None:
    """``username``'s membership of the event's staff; with ``removed``, also a membership that
    was taken off the staff."""
    query = (
        select(EventUser)
        .join(User, EventUser.user_id == User.id)
        .where(
            EventUser.event_id == event.id, func.lower(User.username) == username.strip().lower()
        )
    )
    if not removed:
        query = query.where(EventUser.removed_at.is_(None))
    return session.scalars(query).first()


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
            first_name=require_text(first_name, "A first name"),
            last_name=clean_text(last_name, "A last name"),
            ifpa_id=ifpa_id,
            email=email.strip().lower() if email else None,
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
    pin = _pin_or_new(pin)
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
    # The IFPA number and rank, looked up after the commit where the event has an IFPA key.
    ifpa.request_lookup(session, event, ep)
    return ep, pin


def _pin_or_new(pin: str | None) -> str:
    """``pin`` if it is 4 to 8 plain digits, or a new random one when it is empty."""
    pin = pin or new_pin()
    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8):
        raise InvalidInput("A PIN is 4 to 8 digits.", code="invalid_pin")
    return pin


def reset_pin(
    session: Session, event_player: EventPlayer, *, actor: Actor, pin: str | None = None
) -> str:
    """Give a player who lost their slip a new PIN: ``pin``, or a random one. Returns it in clear
    (shown once, to be printed, like at registration). The old PIN stops working, every login of
    the player ends (a lost slip may be in someone else's hands) and a PIN lockout on their
    number is lifted. The audit row says that it happened, never what the PIN is."""
    if actor.player_id is not None:
        raise PermissionDenied("Only the desk can give a player a new PIN.", code="staff_only")
    chosen = bool(pin)
    pin = _pin_or_new(pin)
    ep = event_player
    ep.pin_hash = hash_secret(pin)
    ended = auth.revoke_sessions(session, event_id=ep.event_id, player_id=ep.id)
    event = session.get(Event, ep.event_id)
    assert event is not None
    unlocked = auth.unlock_player(session, event, ep.number, actor=actor)
    session.flush()
    audit.record(
        session,
        actor,
        "player.pin_reset",
        event_id=ep.event_id,
        subject=ep,
        player_id=ep.id,
        number=ep.number,
        chosen=chosen,
        logins_ended=ended,
        unlocked=unlocked,
    )
    return pin


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
    name = require_text(name, "A team name")
    if session.scalar(select(Team.id).where(Team.event_id == event.id, Team.name == name)):
        raise Refused(f"There is already a team called {name!r}.", code="team_name_taken")
    members = list(members)
    _check_team_size(session, event.id, name, len({ep.id for ep in members}))
    team = Team(event_id=event.id, name=name)
    session.add(team)
    for ep in members:
        if ep.event_id != event.id:
            raise InvalidInput(f"{ep.name} is not registered in this event.", code="wrong_event")
        _refuse_other_team(session, event.id, ep)
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


def _refuse_other_team(session: Session, event_id: int, ep: EventPlayer) -> None:
    """One team per player per event."""
    other = session.scalar(
        select(Team.name)
        .join(TeamMember)
        .where(Team.event_id == event_id, TeamMember.event_player_id == ep.id)
    )
    if other is not None:
        raise Refused(f"{ep.name} is already on team {other}.", code="already_on_team")


def team_size_limit(session: Session, event_id: int) -> Tournament | None:
    """The team tournament still to be played with the smallest team size, if any: every team
    of the event may play in each, so none may have more players than it allows."""
    return session.scalars(
        select(Tournament)
        .where(
            Tournament.event_id == event_id,
            Tournament.is_team.is_(True),
            Tournament.max_team_size.is_not(None),
            Tournament.status.not_in((TournamentStatus.FINALIZED, TournamentStatus.CANCELLED)),
        )
        .order_by(Tournament.max_team_size, Tournament.id)
    ).first()


def _check_team_size(session: Session, event_id: int, team_name: str, size: int) -> None:
    limit = team_size_limit(session, event_id)
    if limit is not None and limit.max_team_size is not None and size > limit.max_team_size:
        most = limit.max_team_size
        raise Refused(
            f"Team {team_name} would have {size} players; {limit.name} allows at most {most}.",
            code="team_full",
            max_team_size=most,
        )


def _refuse_while_team_plays(session: Session, team: Team) -> None:
    """A team's players do not change while it plays or waits: the game and the queue place
    belong to the people who were on the team when they started or joined."""
    playing = session.scalars(
        select(TournamentMachine).where(TournamentMachine.team_id == team.id)
    ).first()
    if playing is not None:
        raise Refused(
            f"Team {team.name} is playing {playing.machine.name}; change its players when that "
            "game is over.",
            code="team_playing",
        )
    slot = session.scalars(select(QueueSlot).where(QueueSlot.team_id == team.id)).first()
    if slot is not None:
        where = session.get(TournamentMachine, slot.tournament_machine_id)
        name = where.machine.name if where is not None else "a machine"
        raise Refused(
            f"Team {team.name} is waiting in the queue for {name}; take it out of the queue "
            "before changing its players.",
            code="team_queued",
        )


def _member_ids(session: Session, team: Team) -> list[int]:
    return list(
        session.scalars(
            select(TeamMember.event_player_id)
            .where(TeamMember.team_id == team.id)
            .order_by(TeamMember.id)
        )
    )


def _members_changed(
    session: Session, actor: Actor, action: str, group: Team | Metatournament, **details: Any
) -> None:
    """After a member row of ``group`` was added or deleted directly: write it, drop the
    ``members`` list loaded before (it no longer says who is in), and audit the change."""
    session.flush()
    session.expire(group, ["members"])
    audit.record(session, actor, action, event_id=group.event_id, subject=group, **details)


def add_team_member(
    session: Session, team: Team, player: EventPlayer, *, actor: Actor = audit.SYSTEM
) -> Team:
    """Put ``player`` on ``team``. Refused for a player of another event, a player already on a
    team (one team per player per event), a team as big as the smallest team tournament still
    to be played allows, and while the team is playing or waiting in a queue. The team's tickets
    become the new player's to share."""
    if player.event_id != team.event_id:
        raise InvalidInput(f"{player.name} is not registered in this event.", code="wrong_event")
    # Games lock the team and its people before they start; so does this, so a game cannot
    # start (or a queue place be taken) halfway through.
    locking.lock_teams(session, [team.id])
    locking.lock_players(session, [player.id])
    _refuse_while_team_plays(session, team)
    _refuse_other_team(session, team.event_id, player)
    members = _member_ids(session, team)
    _check_team_size(session, team.event_id, team.name, len(members) + 1)
    session.add(TeamMember(team_id=team.id, event_player_id=player.id))
    _members_changed(
        session,
        actor,
        "team.add_member",
        team,
        player_id=player.id,
        team=team.name,
        number=player.number,
        members=[*members, player.id],
    )
    return team


def remove_team_member(
    session: Session, team: Team, player: EventPlayer, *, actor: Actor = audit.SYSTEM
) -> Team:
    """Take ``player`` off ``team``. The team keeps its tickets, entries and scores; the player
    keeps their own. Refused for someone not on the team, for the team's last player, and while
    the team is playing or waiting in a queue."""
    locking.lock_teams(session, [team.id])
    locking.lock_players(session, [player.id])
    row = session.scalars(
        select(TeamMember).where(
            TeamMember.team_id == team.id, TeamMember.event_player_id == player.id
        )
    ).first()
    if row is None:
        raise Refused(f"{player.name} is not on team {team.name}.", code="not_on_team")
    _refuse_while_team_plays(session, team)
    members = _member_ids(session, team)
    if len(members) == 1:
        raise Refused(
            f"{player.name} is the only player of team {team.name}; a team keeps at least one.",
            code="team_needs_a_player",
        )
    session.delete(row)
    _members_changed(
        session,
        actor,
        "team.remove_member",
        team,
        player_id=player.id,
        team=team.name,
        number=player.number,
        members=[m for m in members if m != player.id],
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
    stored = check_format_options(pss, spec, resolved, machines={})
    name = require_text(name, "A tournament name")
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
        format_options=stored,
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
        options=stored,
        price_cents=price_cents,
    )
    return t


#: The largest whole number a format option may be: some become columns (a team's size) and
#: all may meet 32-bit integers in the standings' SQL.
OPTION_INT_MAX = 2**31 - 1


def check_option_numbers(options: Mapping[str, Any]) -> None:
    """Refuse whole-number options too large to store or compare (a format may set no maximum),
    per-machine values included."""
    for name, value in options.items():
        values = value.values() if isinstance(value, Mapping) else (value,)
        for item in values:
            if isinstance(item, int) and not isinstance(item, bool) and abs(item) > OPTION_INT_MAX:
                raise InvalidInput(
                    f"Option {name!r} must be at most {OPTION_INT_MAX}.",
                    code="invalid_option",
                    option=name,
                )


def tournament_machine_names(session: Session, tournament: Tournament) -> dict[str, bool]:
    """The names of the tournament's machines, each with whether it still counts (not
    removed), in bank order."""
    return {
        name: status != MachineStatus.REMOVED
        for name, status in session.execute(
            select(Machine.name, TournamentMachine.status)
            .join(TournamentMachine, TournamentMachine.machine_id == Machine.id)
            .where(TournamentMachine.tournament_id == tournament.id)
            .order_by(TournamentMachine.id)
        )
    }


def check_format_options(
    pss: Pss, spec: FormatSpec, resolved: Mapping[str, Any], *, machines: Mapping[str, bool]
) -> dict[str, Any]:
    """Check a tournament's parsed options together before they are saved — numbers in range,
    points curves installed, per-machine values only for the tournament's ``machines`` (name to
    whether it counts), then the format's own :meth:`~pss_core.contract.Format.check_options`
    — and return them as stored."""
    check_option_numbers(resolved)
    for opt in spec.options:
        value = resolved.get(opt.name)
        if opt.type == "points_curve" and value not in pss.curves:
            raise InvalidInput(
                f"There is no points curve called {value!r} (installed: "
                f"{', '.join(c.name for c in pss.curves)}).",
                code="unknown_points_curve",
                option=opt.name,
            )
        if opt.type == "per_machine":
            strangers = sorted(set(value or {}) - set(machines))
            if strangers:
                title = opt.title or opt.name.replace("_", " ").capitalize()
                where = (
                    "it has none yet; add machines first"
                    if not machines
                    else f"its machines are {', '.join(machines)}"
                )
                raise InvalidInput(
                    f"{title}: {', '.join(strangers)} "
                    f"{'is not a machine' if len(strangers) == 1 else 'are not machines'} "
                    f"of this tournament ({where}).",
                    code="invalid_option",
                    option=opt.name,
                )
    spec.format.check_options(resolved, tuple(m for m, counts in machines.items() if counts))
    return spec.store_options(resolved)


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
            raise InvalidInput(
                "Each bundle needs a whole-number count and price_cents.", code="invalid_bundle"
            ) from None
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
    name = require_text(name, "A machine name")
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


MIXED_FORMATS = (
    "All tournaments of a metatournament must share one format, so a ticket means the same "
    "everywhere."
)


def _check_meta_candidate(session: Session, event_id: int, t: Tournament) -> None:
    """Whether ``t`` may join a metatournament (the format rule aside)."""
    if t.event_id != event_id:
        raise InvalidInput(f"{t.name} is not in this event.", code="wrong_event")
    if t.is_team:
        # Team tournaments' tickets belong to teams, a metatournament's to players.
        raise InvalidInput(
            f"{t.name} is a team tournament; metatournament tickets are for players.",
            code="team_tournament",
        )
    other = session.scalar(
        select(Metatournament.name)
        .join(MetatournamentMember, MetatournamentMember.metatournament_id == Metatournament.id)
        .where(MetatournamentMember.tournament_id == t.id)
    )
    if other is not None:
        raise Refused(
            f"{t.name} is already in the metatournament {other}; a tournament is in one at most.",
            code="already_in_metatournament",
        )


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
    name = require_text(name, "A metatournament name")
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
        raise InvalidInput(MIXED_FORMATS, code="mixed_formats")
    for t in members:
        _check_meta_candidate(session, event.id, t)
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


def _meta_tournaments(session: Session, meta: Metatournament) -> list[Tournament]:
    return list(
        session.scalars(
            select(Tournament)
            .join(MetatournamentMember, MetatournamentMember.tournament_id == Tournament.id)
            .where(MetatournamentMember.metatournament_id == meta.id)
            .order_by(MetatournamentMember.id)
        )
    )


def add_to_metatournament(
    session: Session, meta: Metatournament, tournament: Tournament, *, actor: Actor = audit.SYSTEM
) -> Metatournament:
    """Make the metatournament's tickets good in ``tournament`` too (its own tickets are still
    used first). The same rules as at creation: a tournament of this event, not a team
    tournament, in no other metatournament, of the members' format."""
    locking.lock_tournaments(session, [tournament.id])
    locking.lock_metatournaments(session, [meta.id])
    _check_meta_candidate(session, meta.event_id, tournament)
    current = _meta_tournaments(session, meta)
    if current and {t.format for t in current} != {tournament.format}:
        raise InvalidInput(MIXED_FORMATS, code="mixed_formats")
    session.add(MetatournamentMember(metatournament_id=meta.id, tournament_id=tournament.id))
    _members_changed(
        session,
        actor,
        "metatournament.add_tournament",
        meta,
        metatournament=meta.slug,
        tournament=tournament.slug,
        tournaments=[t.slug for t in [*current, tournament]],
    )
    return meta


def remove_from_metatournament(
    session: Session, meta: Metatournament, tournament: Tournament, *, actor: Actor = audit.SYSTEM
) -> Metatournament:
    """Stop the metatournament's tickets being good in ``tournament``. Games already played on
    them stay as they are. Refused while one of its tickets is being played there (a game in
    progress, or an unfinished multi-game entry), and for the last tournament of a
    metatournament with unused tickets, which would have nowhere left to be played."""
    locking.lock_tournaments(session, [tournament.id])
    locking.lock_metatournaments(session, [meta.id])
    row = session.scalars(
        select(MetatournamentMember).where(
            MetatournamentMember.metatournament_id == meta.id,
            MetatournamentMember.tournament_id == tournament.id,
        )
    ).first()
    if row is None:
        raise Refused(
            f"{tournament.name} is not in the metatournament {meta.name}.",
            code="not_in_metatournament",
        )
    meta_token = Token.metatournament_id == meta.id
    in_game = session.scalar(
        select(TournamentMachine.id)
        .join(Token, Token.id == TournamentMachine.token_id)
        .where(TournamentMachine.tournament_id == tournament.id, meta_token)
        .limit(1)
    )
    in_entry = session.scalar(
        select(Entry.id)
        .join(Token, Token.entry_id == Entry.id)
        .where(Entry.tournament_id == tournament.id, Entry.status == EntryStatus.OPEN, meta_token)
        .limit(1)
    )
    if in_game is not None or in_entry is not None:
        raise Refused(
            f"A {meta.name} ticket is being played in {tournament.name} right now; remove the "
            "tournament when that game or entry is finished.",
            code="metatournament_ticket_in_play",
        )
    current = _meta_tournaments(session, meta)
    if len(current) == 1:
        unused = session.scalar(
            select(func.count(Token.id)).where(
                meta_token,
                Token.paid_at.is_not(None),
                Token.used_at.is_(None),
                Token.voided_at.is_(None),
                Token.refunded_at.is_(None),
            )
        )
        if unused:
            raise Refused(
                f"{tournament.name} is the only tournament of {meta.name}, which has {unused} "
                "unused games sold; add another tournament first.",
                code="metatournament_tickets_left",
            )
    session.delete(row)
    _members_changed(
        session,
        actor,
        "metatournament.remove_tournament",
        meta,
        metatournament=meta.slug,
        tournament=tournament.slug,
        tournaments=[t.slug for t in current if t.id != tournament.id],
    )
    return meta
