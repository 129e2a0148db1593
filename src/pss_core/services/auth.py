"""Logging in and out: event owners into the admin interface, staff into one event with the password
valid there, players into one event with their number and PIN.

A login returns a random session token; only its SHA-256 digest is stored. Failed attempts are
counted per subject (player number, username) and per client address; after too many failures the
key is locked for a while, so a four-digit PIN cannot be guessed by trying them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import attrs
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pss_core import audit
from pss_core.audit import Actor
from pss_core.errors import Busy, InvalidInput, PermissionDenied
from pss_core.models import (
    Event,
    EventPlayer,
    EventUser,
    LoginKind,
    LoginSession,
    LoginThrottle,
    Role,
    User,
    utcnow,
)
from pss_core.security import hash_secret, new_session_token, token_digest, verify_secret

#: Verified against when the username or player number is unknown, so a miss costs as much time
#: as a wrong password and timing does not tell which usernames exist.
_DUMMY_HASH = hash_secret("not-a-real-secret")


class LoginRefused(PermissionDenied):
    """Wrong credentials (deliberately vague about which part was wrong)."""

    default_code = "login_failed"


class LockedOut(Busy):
    """Too many failed attempts: logins for this player, user or device wait until a set time."""

    default_code = "locked_out"


@attrs.frozen
class Client:
    """Where a login attempt comes from."""

    address: str = "unknown"
    user_agent: str = ""


@attrs.frozen
class ThrottlePolicy:
    """How many failures lock a key, and for how long."""

    #: Failures per player number or username before it is locked.
    max_failures: int = 5
    #: Failures per client address (all subjects together) before it is locked. Phones at a venue
    #: may share one public address; raise this where they do.
    client_max_failures: int = 5
    #: Failures older than this are forgotten.
    window: timedelta = timedelta(minutes=15)
    #: How long a locked key stays locked.
    lockout: timedelta = timedelta(minutes=15)


DEFAULT_POLICY = ThrottlePolicy()

SESSION_LIFETIME: dict[LoginKind, timedelta] = {
    LoginKind.ADMIN: timedelta(hours=12),
    LoginKind.STAFF: timedelta(hours=24),
    LoginKind.PLAYER: timedelta(hours=72),
}


@attrs.frozen
class Identity:
    """Who a session token belongs to, with what it may act as, scoped to one place."""

    session_id: int
    kind: LoginKind
    #: The event a staff or player login is valid in; ``None`` for the admin interface.
    event_id: int | None
    user_id: int | None
    #: The event player (registration) id of a player login.
    player_id: int | None
    #: What to show as "logged in as".
    name: str
    #: The staff roles in ``event_id``, read afresh on every request.
    roles: frozenset[Role] = frozenset()
    #: Admin login: the user is an event owner. Staff login: the user owns this event.
    is_owner: bool = False
    player_number: int | None = None
    expires_at: datetime | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.name, user_id=self.user_id, player_id=self.player_id)


# --- throttling -------------------------------------------------------------------------------


def _throttle_row(session: Session, event_id: int | None, key: str) -> LoginThrottle | None:
    return session.scalars(
        select(LoginThrottle)
        .where(
            LoginThrottle.event_id.is_(None) if event_id is None
            else LoginThrottle.event_id == event_id,
            LoginThrottle.key == key,
        )
        .order_by(LoginThrottle.id)
        .with_for_update()
    ).first()


def _check_locks(
    session: Session, event_id: int | None, keys: Sequence[tuple[str, str]], now: datetime
) -> None:
    """Refuse at once (without looking at the secret) while any key is locked."""
    for key, who in keys:
        row = _throttle_row(session, event_id, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            raise _locked_error(who, row.locked_until, now)


def _locked_error(who: str, until: datetime, now: datetime) -> LockedOut:
    seconds = max(int((until - now).total_seconds()) + 1, 1)
    ask = "Ask the desk to unlock it, or try" if who.startswith("player") else "Try"
    return LockedOut(
        f"Too many wrong attempts for {who}. {ask} again at {until:%H:%M} UTC "
        f"(in {-(-seconds // 60)} min).",
        retry_after=seconds,
        locked_until=until.isoformat(),
    )


def _count_failure(
    session: Session, event_id: int | None, key: str, limit: int, policy: ThrottlePolicy,
    now: datetime,
) -> LoginThrottle:
    row = _throttle_row(session, event_id, key)
    if row is None:
        try:
            with session.begin_nested():
                row = LoginThrottle(event_id=event_id, key=key, failures=0, window_started_at=now)
                session.add(row)
        except IntegrityError:
            # Somebody failed on the same key at the same moment and created the row first.
            row = _throttle_row(session, event_id, key)
            assert row is not None
    if row.window_started_at + policy.window <= now or (
        row.locked_until is not None and row.locked_until <= now
    ):
        row.failures = 0
        row.window_started_at = now
        row.locked_until = None
    row.failures += 1
    if row.failures >= limit:
        row.locked_until = now + policy.lockout
    session.flush()
    return row


def _fail(
    session: Session,
    *,
    event_id: int | None,
    subject_key: tuple[str, str],
    client: Client,
    policy: ThrottlePolicy,
    now: datetime,
    message: str,
    player_id: int | None = None,
) -> LoginRefused | LockedOut:
    """Count a failed attempt on the subject and on the client; return the error to raise."""
    key, who = subject_key
    subject = _count_failure(session, event_id, key, policy.max_failures, policy, now)
    by_client = _count_failure(session, event_id, _client_key(key, client),
                               policy.client_max_failures, policy, now)
    actor = Actor(f"login attempt from {client.address}")
    audit.record(session, actor, "login.failed", event_id=event_id, player_id=player_id,
                 key=key, address=client.address, failures=subject.failures)
    for row, limit, what in ((subject, policy.max_failures, who),
                             (by_client, policy.client_max_failures, "this device")):
        if row.locked_until is not None:
            if row.failures == limit:
                audit.record(session, actor, "login.locked", event_id=event_id,
                             player_id=player_id, key=row.key,
                             until=row.locked_until.isoformat())
            return _locked_error(what, row.locked_until, now)
    return LoginRefused(message)


def _client_key(subject_key: str, client: Client) -> str:
    # Counted per kind of login: PIN typos on players' phones never lock the desk's laptop out
    # of the staff login, even where they share one public address.
    return f"client:{subject_key.split(':', 1)[0]}:{client.address}"


def _lock_keys(subject: tuple[str, str], client: Client) -> list[tuple[str, str]]:
    return [subject, (_client_key(subject[0], client), "this device")]


def _clear(session: Session, event_id: int | None, key: str) -> None:
    row = _throttle_row(session, event_id, key)
    if row is not None:
        row.failures = 0
        row.locked_until = None


def unlock_player(
    session: Session, event: Event, number: int, *, actor: Actor = audit.SYSTEM
) -> bool:
    """Lift a player's PIN lockout (the desk does this after checking who they are). Returns
    whether there was anything to lift."""
    row = _throttle_row(session, event.id, f"player:{number}")
    if row is None or (row.failures == 0 and row.locked_until is None):
        return False
    row.failures = 0
    row.locked_until = None
    ep = session.scalars(select(EventPlayer).where(
        EventPlayer.event_id == event.id, EventPlayer.number == number)).first()
    audit.record(session, actor, "login.unlock", event_id=event.id, subject=ep,
                 player_id=ep.id if ep else None, number=number)
    return True


# --- logging in -------------------------------------------------------------------------------


def _new_session(
    session: Session, kind: LoginKind, *, now: datetime, event_id: int | None = None,
    user_id: int | None = None, player_id: int | None = None,
    lifetime: timedelta | None = None,
) -> tuple[str, LoginSession]:
    token = new_session_token()
    row = LoginSession(
        token_hash=token_digest(token), kind=kind, event_id=event_id, user_id=user_id,
        player_id=player_id, created_at=now,
        expires_at=now + (lifetime or SESSION_LIFETIME[kind]),
    )
    session.add(row)
    session.flush()
    return token, row


def _user(session: Session, username: str) -> User | None:
    return session.scalars(
        select(User).where(func.lower(User.username) == (username or "").strip().lower())
    ).first()


def login_admin(
    session: Session, username: str, password: str, client: Client, *,
    policy: ThrottlePolicy = DEFAULT_POLICY, now: datetime | None = None,
) -> str:
    """Log an event owner into the admin interface; returns the new session token."""
    now = now or utcnow()
    if not (username or "").strip() or not password:
        raise InvalidInput("Enter your username and password.", code="missing_credentials")
    subject = (f"admin:{username.strip().lower()}", f"user {username.strip()}")
    _check_locks(session, None, _lock_keys(subject, client), now)
    user = _user(session, username)
    ok = verify_secret(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not ok or not user.is_event_owner:
        raise _fail(session, event_id=None, subject_key=subject, client=client, policy=policy,
                    now=now, message="Wrong username or password, or this account does not "
                    "own events.")
    _clear(session, None, subject[0])
    token, row = _new_session(session, LoginKind.ADMIN, now=now, user_id=user.id)
    audit.record(session, Actor(user.username, user_id=user.id), "login", event_id=None,
                 subject=row, kind="admin", address=client.address)
    return token


def login_staff(
    session: Session, event: Event, username: str, password: str, client: Client, *,
    policy: ThrottlePolicy = DEFAULT_POLICY, now: datetime | None = None,
) -> str:
    """Log an event user into ``event`` with the password valid for that event."""
    now = now or utcnow()
    if not (username or "").strip() or not password:
        raise InvalidInput("Enter your username and password.", code="missing_credentials")
    subject = (f"staff:{username.strip().lower()}", f"user {username.strip()}")
    _check_locks(session, event.id, _lock_keys(subject, client), now)
    user = _user(session, username)
    eu = None
    if user is not None:
        eu = session.scalars(select(EventUser).where(
            EventUser.event_id == event.id, EventUser.user_id == user.id)).first()
    if eu is not None:
        stored: str | None = eu.password_hash
    elif user is not None and user.id == event.owner_id:
        # An owner is tournament director of their events even without a membership row.
        stored = user.password_hash
    else:
        stored = None
    ok = verify_secret(stored or _DUMMY_HASH, password) and stored is not None
    if user is None or not ok:
        raise _fail(session, event_id=event.id, subject_key=subject, client=client,
                    policy=policy, now=now,
                    message=f"Wrong username or password for {event.name}.")
    _clear(session, event.id, subject[0])
    token, row = _new_session(session, LoginKind.STAFF, now=now, event_id=event.id,
                              user_id=user.id)
    audit.record(session, Actor(user.username, user_id=user.id), "login", event_id=event.id,
                 subject=row, kind="staff", address=client.address)
    return token


def _parse_number(number: int | str) -> int:
    try:
        value = int(str(number).strip().lstrip("#"))
    except ValueError:
        raise InvalidInput("A player number is a whole number, like 101.",
                           code="invalid_number") from None
    if value < 1:
        raise InvalidInput("A player number is a whole number, like 101.", code="invalid_number")
    return value


def login_player(
    session: Session, event: Event, number: int | str, pin: str, client: Client, *,
    policy: ThrottlePolicy = DEFAULT_POLICY, now: datetime | None = None,
) -> str:
    """Log a player into ``event`` with their player number and PIN."""
    now = now or utcnow()
    num = _parse_number(number)
    pin = (pin or "").strip()
    if not pin:
        raise InvalidInput("Enter your PIN.", code="missing_credentials")
    subject = (f"player:{num}", f"player {num}")
    _check_locks(session, event.id, _lock_keys(subject, client), now)
    ep = session.scalars(select(EventPlayer).where(
        EventPlayer.event_id == event.id, EventPlayer.number == num)).first()
    ok = verify_secret(ep.pin_hash if ep else _DUMMY_HASH, pin)
    if ep is None or not ok:
        raise _fail(session, event_id=event.id, subject_key=subject, client=client,
                    policy=policy, now=now, player_id=ep.id if ep else None,
                    message="Wrong player number or PIN. Your PIN is on the slip from the desk.")
    _clear(session, event.id, subject[0])
    token, row = _new_session(session, LoginKind.PLAYER, now=now, event_id=event.id,
                              player_id=ep.id)
    audit.record(session, Actor(ep.name, player_id=ep.id), "login", event_id=event.id,
                 subject=row, player_id=ep.id, kind="player", address=client.address)
    return token


# --- sessions ---------------------------------------------------------------------------------


def _live_session(session: Session, token: str | None, now: datetime) -> LoginSession | None:
    if not token:
        return None
    return session.scalars(select(LoginSession).where(
        LoginSession.token_hash == token_digest(token),
        LoginSession.revoked_at.is_(None),
        LoginSession.expires_at > now,
    )).first()


def logout(session: Session, token: str | None, *, now: datetime | None = None) -> bool:
    """Revoke the session behind ``token``; returns whether there was one to revoke."""
    now = now or utcnow()
    row = _live_session(session, token, now)
    if row is None:
        return False
    row.revoked_at = now
    ident = _identity(session, row)
    actor = ident.actor if ident else audit.SYSTEM
    audit.record(session, actor, "logout", event_id=row.event_id, subject=row,
                 player_id=row.player_id, kind=row.kind.value)
    return True


def revoke_sessions(
    session: Session, *, event_id: int | None = None, user_id: int | None = None,
    player_id: int | None = None, now: datetime | None = None,
) -> int:
    """Revoke every live session of a user (in one event, or admin) or of an event player."""
    now = now or utcnow()
    query = select(LoginSession).where(LoginSession.revoked_at.is_(None),
                                       LoginSession.expires_at > now)
    if user_id is not None:
        query = query.where(LoginSession.user_id == user_id)
    if player_id is not None:
        query = query.where(LoginSession.player_id == player_id)
    if event_id is not None:
        query = query.where(LoginSession.event_id == event_id)
    rows = session.scalars(query).all()
    for row in rows:
        row.revoked_at = now
    return len(rows)


def identity_for(
    session: Session, token: str | None, now: datetime | None = None
) -> Identity | None:
    """The identity behind a session token, or ``None`` when it is unknown, expired or revoked,
    or its user or player no longer belongs to the event."""
    row = _live_session(session, token, now or utcnow())
    if row is None:
        return None
    return _identity(session, row)


def _identity(session: Session, row: LoginSession) -> Identity | None:
    if row.kind == LoginKind.ADMIN:
        user = session.get(User, row.user_id)
        if user is None or not user.is_event_owner:
            return None
        return Identity(session_id=row.id, kind=row.kind, event_id=None, user_id=user.id,
                        player_id=None, name=user.username, is_owner=True,
                        expires_at=row.expires_at)
    if row.kind == LoginKind.STAFF:
        user = session.get(User, row.user_id)
        event = session.get(Event, row.event_id)
        if user is None or event is None:
            return None
        eu = session.scalars(select(EventUser).where(
            EventUser.event_id == event.id, EventUser.user_id == user.id)).first()
        roles: set[Role] = set(eu.role_set) if eu is not None else set()
        is_owner = event.owner_id == user.id
        if is_owner:
            roles.add(Role.TOURNAMENT_DIRECTOR)
        if not roles:
            return None
        return Identity(session_id=row.id, kind=row.kind, event_id=event.id, user_id=user.id,
                        player_id=None, name=user.username, roles=frozenset(roles),
                        is_owner=is_owner, expires_at=row.expires_at)
    ep = session.get(EventPlayer, row.player_id)
    if ep is None or ep.event_id != row.event_id:
        return None
    return Identity(session_id=row.id, kind=row.kind, event_id=ep.event_id, user_id=None,
                    player_id=ep.id, name=f"{ep.name} (#{ep.number})",
                    player_number=ep.number, expires_at=row.expires_at)


def throttles(session: Session, event_id: int | None, keys: Iterable[str]) -> list[LoginThrottle]:
    """The throttle rows for ``keys`` (for the desk's "why can't I log in" view and for tests)."""
    keys = list(keys)
    return list(session.scalars(select(LoginThrottle).where(
        LoginThrottle.event_id.is_(None) if event_id is None
        else LoginThrottle.event_id == event_id,
        LoginThrottle.key.in_(keys))).all())
