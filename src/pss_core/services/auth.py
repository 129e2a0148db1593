"""Logging in and out: event owners into the admin interface, staff into one event with the password
valid there, players into one event with their number and PIN.

A login returns a random session token; only its SHA-256 digest is stored. Guessing is bounded
the way the device-cookie scheme does it (see ``docs/web.rst``, "Logins and lockouts"):

* a device that has logged in as a subject (a player number, a username) before shows a device
  token and has an allowance of its own, so guesses from elsewhere never lock it out;
* every other attempt counts against the subject (shared by all such devices), against the
  client address, and against the whole event per hour; a full count locks that key for a while;
* the desk's unlock lifts the player's own lock and exempts the number from the address and event
  caps for a while, so the real player always gets in.

Every outcome of a credential check costs exactly one argon2 verification, so timing does not
tell which names exist or have a password.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import attrs
from sqlalchemy import and_, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pss_core import audit
from pss_core.audit import Actor
from pss_core.errors import Busy, InvalidInput, PermissionDenied
from pss_core.models import (
    Event,
    EventPlayer,
    EventUser,
    EventUserRole,
    LoginDevice,
    LoginKind,
    LoginSession,
    LoginThrottle,
    Role,
    User,
    utcnow,
)
from pss_core.security import new_session_token, token_digest, verify_in_constant_work


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
    #: Device tokens this browser holds from earlier successful logins (its device cookie).
    devices: tuple[str, ...] = ()


@attrs.frozen
class ThrottlePolicy:
    """How many failures lock which key, and for how long."""

    #: Failures per player number or username from devices that never logged in as it, before
    #: it is locked for such devices (OWASP ASVS 2.2.1 asks for at most 100 an hour).
    max_failures: int = 5
    #: Failures per device that has logged in as the subject before (its own allowance).
    device_max_failures: int = 10
    #: Failures per client address (all subjects of one kind of login together). Phones at a
    #: venue often share one public address, so this is well above ``max_failures``.
    client_max_failures: int = 20
    #: Failures per event (per kind of login) in ``event_window``: bounds spraying one PIN
    #: over many numbers from many addresses.
    event_max_failures: int = 50
    #: Failures older than this are forgotten (numbers, devices, addresses).
    window: timedelta = timedelta(minutes=15)
    #: How long a locked number, device or address stays locked; also how long the desk's
    #: unlock exempts a number from the address and event caps.
    lockout: timedelta = timedelta(minutes=15)
    #: The event-wide cap's window; a full window stays locked until it ends.
    event_window: timedelta = timedelta(hours=1)


DEFAULT_POLICY = ThrottlePolicy()

SESSION_LIFETIME: dict[LoginKind, timedelta] = {
    LoginKind.ADMIN: timedelta(hours=12),
    LoginKind.STAFF: timedelta(hours=24),
    LoginKind.PLAYER: timedelta(hours=72),
}

#: Device tokens kept in one browser's device cookie (newest first).
DEVICE_TOKENS_KEPT = 8


@attrs.frozen
class Login:
    """A successful login: the session token, and the device token to keep in the browser's
    device cookie (``None`` when the device showed a valid one already)."""

    token: str
    device_token: str | None = None


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
    #: Admin login: the user administers this pss instance (creates event owners).
    is_instance_admin: bool = False
    #: A request with a personal API token (bearer): the token's id (``session_id`` is 0).
    token_id: int | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.name, user_id=self.user_id, player_id=self.player_id)


# --- throttling -------------------------------------------------------------------------------


def _throttle_query(event_id: int | None, key: str) -> Any:
    return (
        select(LoginThrottle)
        .where(
            LoginThrottle.event_id.is_(None)
            if event_id is None
            else LoginThrottle.event_id == event_id,
            LoginThrottle.key == key,
        )
        .execution_options(populate_existing=True)
    )


def _peek(session: Session, event_id: int | None, key: str) -> LoginThrottle | None:
    """The throttle row as committed now, without waiting for anyone."""
    return session.scalars(_throttle_query(event_id, key)).first()


def _ensure_row(session: Session, event_id: int | None, key: str, now: datetime) -> None:
    """Create the row for ``key`` unless it exists. A concurrent creator of the same key makes
    this wait for it, so a brand-new key is as serialized as an old one."""
    values = {"event_id": event_id, "key": key, "failures": 0, "window_started_at": now}
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(LoginThrottle)
        stmt = stmt.values(**values)
        if event_id is None:
            stmt = stmt.on_conflict_do_nothing(
                index_elements=["key"], index_where=LoginThrottle.event_id.is_(None)
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=["event_id", "key"])
        session.execute(stmt)
        return
    if _peek(session, event_id, key) is None:
        try:
            with session.begin_nested():
                session.add(LoginThrottle(**values))
        except IntegrityError:
            pass  # created by a concurrent attempt: just as good


def _locked_row(session: Session, event_id: int | None, key: str, now: datetime) -> LoginThrottle:
    """The row for ``key``, created if need be, locked until this transaction ends."""
    _ensure_row(session, event_id, key, now)
    row = session.scalars(_throttle_query(event_id, key).with_for_update()).first()
    assert row is not None
    return row


def _hold_subject(
    session: Session, event_id: int | None, key: str, now: datetime
) -> LoginThrottle | None:
    """Lock the subject's row *before* the secret is checked: concurrent attempts on one number
    or username then take turns, and each sees the failures of those before it, so no burst of
    simultaneous first attempts gets more checks than the limit."""
    return _locked_row(session, event_id, key, now)


_Counter = TypeVar("_Counter", LoginThrottle, LoginDevice)


def _fresh(row: _Counter, window: timedelta, now: datetime) -> _Counter:
    """Start the count over when its lock has expired, or when its window has passed and it
    is not locked (a lock always runs its full time)."""
    if row.locked_until is not None:
        expired = row.locked_until <= now
    else:
        expired = row.window_started_at + window <= now
    if expired:
        row.failures = 0
        row.window_started_at = now
        row.locked_until = None
    return row


def _is_locked(row: LoginThrottle | LoginDevice | None, now: datetime) -> bool:
    return row is not None and row.locked_until is not None and row.locked_until > now


def _add_failure(row: _Counter, limit: int, until: datetime) -> bool:
    """Count one failure; returns whether this one locked the key."""
    row.failures += 1
    if row.failures >= limit and row.locked_until is None:
        row.locked_until = until
        return True
    return False


def _locked_error(who: str, until: datetime, now: datetime, *, desk: bool) -> LockedOut:
    seconds = max(int((until - now).total_seconds()) + 1, 1)
    ask = "Ask the desk to unlock your number, or try" if desk else "Try"
    return LockedOut(
        f"Too many wrong attempts for {who}. {ask} again at {until:%H:%M} UTC "
        f"(in {-(-seconds // 60)} min).",
        retry_after=seconds,
        locked_until=until.isoformat(),
    )


def _client_key(kind: LoginKind, client: Client) -> str:
    # Counted per kind of login: PIN typos on players' phones never lock the desk's laptop out
    # of the staff login, even where they share one public address.
    return f"client:{kind.value}:{client.address}"


def _event_key(kind: LoginKind) -> str:
    return f"all:{kind.value}"


_DEVICE = "this device or network"
_EVENT = "this event"


def _device_for(
    session: Session, event_id: int | None, subject: str, tokens: Sequence[str]
) -> LoginDevice | None:
    """The trusted device among ``tokens`` for this subject, locked for this transaction."""
    digests = [token_digest(t) for t in tokens[:DEVICE_TOKENS_KEPT] if t]
    if not digests:
        return None
    return session.scalars(
        select(LoginDevice)
        .where(
            LoginDevice.token_hash.in_(digests),
            LoginDevice.event_id.is_(None)
            if event_id is None
            else LoginDevice.event_id == event_id,
            LoginDevice.subject == subject,
        )
        .order_by(LoginDevice.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _new_device(session: Session, event_id: int | None, subject: str, now: datetime) -> str:
    token = new_session_token()
    session.add(
        LoginDevice(
            event_id=event_id,
            subject=subject,
            token_hash=token_digest(token),
            created_at=now,
            last_login_at=now,
            failures=0,
            window_started_at=now,
        )
    )
    return token


_Account = TypeVar("_Account")


@attrs.frozen
class _Attempt:
    kind: LoginKind
    event_id: int | None
    #: The subject's throttle key and how to name it to the person logging in.
    key: str
    who: str
    client: Client
    policy: ThrottlePolicy
    now: datetime
    message: str


def _guarded(
    session: Session,
    attempt: _Attempt,
    check: Callable[[], tuple[_Account | None, int | None]],
) -> tuple[_Account, str | None]:
    """Run ``check`` (one credential verification; returns the account or ``None``, and the
    event player id for the audit) under the throttles. Returns the account and a new device
    token, or raises :class:`LoginRefused` / :class:`LockedOut` after counting the failure."""
    a, now, policy = attempt, attempt.now, attempt.policy
    desk = a.kind == LoginKind.PLAYER
    actor = Actor(f"login attempt from {a.client.address}")

    device = _device_for(session, a.event_id, a.key, a.client.devices)
    if device is not None:
        # A device that logged in as this subject before: only its own allowance counts.
        _fresh(device, policy.window, now)
        if _is_locked(device, now):
            assert device.locked_until is not None
            raise _locked_error("this device", device.locked_until, now, desk=desk)
        account, player_id = check()
        if account is None:
            locked = _add_failure(device, policy.device_max_failures, now + policy.lockout)
            audit.record(
                session,
                actor,
                "login.failed",
                event_id=a.event_id,
                player_id=player_id,
                key=a.key,
                address=a.client.address,
                failures=device.failures,
                trusted_device=True,
            )
            if locked:
                audit.record(
                    session,
                    actor,
                    "login.locked",
                    event_id=a.event_id,
                    player_id=player_id,
                    key=f"device:{device.id}",
                    until=now + policy.lockout,
                )
            session.flush()
            if device.locked_until is not None:
                raise _locked_error("this device", device.locked_until, now, desk=desk)
            raise LoginRefused(a.message)
        device.failures = 0
        device.locked_until = None
        device.last_login_at = now
        return account, None

    subject = _hold_subject(session, a.event_id, a.key, now)
    if subject is not None:
        _fresh(subject, policy.window, now)
        if _is_locked(subject, now):
            assert subject.locked_until is not None
            raise _locked_error(a.who, subject.locked_until, now, desk=desk)
    exempt = subject is not None and subject.exempt_until is not None and subject.exempt_until > now
    caps = (
        (
            _client_key(a.kind, a.client),
            policy.client_max_failures,
            policy.window,
            policy.lockout,
            _DEVICE,
        ),
        (_event_key(a.kind), policy.event_max_failures, policy.event_window, None, _EVENT),
    )
    if not exempt:
        for key, _limit, window, _lock, who in caps:
            row = _peek(session, a.event_id, key)
            if row is not None and _is_locked(_fresh(row, window, now), now):
                assert row.locked_until is not None
                raise _locked_error(who, row.locked_until, now, desk=desk)

    account, player_id = check()

    # Counted under lock only now, so that the argon2 time is not spent holding the rows
    # every login of the event shares; a cap that filled meanwhile withholds the verdict.
    subject = _locked_row(session, a.event_id, a.key, now)
    _fresh(subject, policy.window, now)
    rows = []
    for key, limit, window, lockout, who in caps:
        row = _fresh(_locked_row(session, a.event_id, key, now), window, now)
        rows.append(
            (row, limit, (now + lockout) if lockout else row.window_started_at + window, who)
        )
    blocking = [(r, who) for r, _l, _u, who in rows if _is_locked(r, now)] if not exempt else []
    if _is_locked(subject, now):
        blocking.insert(0, (subject, a.who))
    if blocking:
        row, who = blocking[0]
        assert row.locked_until is not None
        session.flush()
        raise _locked_error(who, row.locked_until, now, desk=desk)
    if account is None:
        newly = []
        if _add_failure(subject, policy.max_failures, now + policy.lockout):
            newly.append(subject)
        for row, limit, until, _who in rows:
            if _add_failure(row, limit, until):
                newly.append(row)
        audit.record(
            session,
            actor,
            "login.failed",
            event_id=a.event_id,
            player_id=player_id,
            key=a.key,
            address=a.client.address,
            failures=subject.failures,
        )
        for row in newly:
            audit.record(
                session,
                actor,
                "login.locked",
                event_id=a.event_id,
                player_id=player_id,
                key=row.key,
                until=row.locked_until,
            )
        session.flush()
        if subject.locked_until is not None:
            raise _locked_error(a.who, subject.locked_until, now, desk=desk)
        if not exempt:
            for row, _limit, _until, who in rows:
                if row.locked_until is not None:
                    raise _locked_error(who, row.locked_until, now, desk=desk)
        raise LoginRefused(a.message)
    subject.failures = 0
    subject.locked_until = None
    subject.exempt_until = None
    return account, _new_device(session, a.event_id, a.key, now)


def unlock_player(
    session: Session,
    event: Event,
    number: int,
    *,
    actor: Actor = audit.SYSTEM,
    policy: ThrottlePolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> bool:
    """Let a player in again (the desk does this after checking who they are): lifts the lock
    on their number and on their trusted devices, and for ``policy.lockout`` exempts the number
    from the address and event-wide caps, which may be full because of someone else's guesses.
    Returns whether anything locked may have stood in the player's way."""
    now = now or utcnow()
    key = f"player:{number}"
    row = _locked_row(session, event.id, key, now)
    stood = row.failures > 0 or _is_locked(row, now)
    row.failures = 0
    row.locked_until = None
    row.window_started_at = now
    row.exempt_until = now + policy.lockout
    for device in session.scalars(
        select(LoginDevice)
        .where(LoginDevice.event_id == event.id, LoginDevice.subject == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ):
        stood = stood or device.failures > 0 or _is_locked(device, now)
        device.failures = 0
        device.locked_until = None
    # The desk cannot tell which address the player is behind: any locked one may be theirs.
    stood = (
        stood
        or (
            session.scalar(
                select(func.count(LoginThrottle.id)).where(
                    LoginThrottle.event_id == event.id,
                    LoginThrottle.key.in_([_event_key(LoginKind.PLAYER)])
                    | LoginThrottle.key.startswith(_client_key(LoginKind.PLAYER, Client(""))),
                    LoginThrottle.locked_until > now,
                )
            )
            or 0
        )
        > 0
    )
    session.flush()
    ep = session.scalars(
        select(EventPlayer).where(EventPlayer.event_id == event.id, EventPlayer.number == number)
    ).first()
    audit.record(
        session,
        actor,
        "login.unlock",
        event_id=event.id,
        subject=ep,
        player_id=ep.id if ep else None,
        number=number,
        lifted=stood,
        exempt_until=row.exempt_until,
    )
    return stood


# --- logging in ---------------------------------------------------------------------------------


def _new_session(
    session: Session,
    kind: LoginKind,
    *,
    now: datetime,
    event_id: int | None = None,
    user_id: int | None = None,
    player_id: int | None = None,
    lifetime: timedelta | None = None,
) -> tuple[str, LoginSession]:
    token = new_session_token()
    row = LoginSession(
        token_hash=token_digest(token),
        kind=kind,
        event_id=event_id,
        user_id=user_id,
        player_id=player_id,
        created_at=now,
        expires_at=now + (lifetime or SESSION_LIFETIME[kind]),
    )
    session.add(row)
    session.flush()
    return token, row


def _user(session: Session, username: str) -> User | None:
    return session.scalars(
        select(User).where(func.lower(User.username) == (username or "").strip().lower())
    ).first()


def _check_username(username: str, password: str) -> str:
    if not (username or "").strip() or not password:
        raise InvalidInput("Enter your username and password.", code="missing_credentials")
    return username.strip()


def authenticate_admin(
    session: Session,
    username: str,
    password: str,
    client: Client,
    *,
    policy: ThrottlePolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> Login:
    """Log an event owner into the admin interface."""
    now = now or utcnow()
    name = _check_username(username, password)
    attempt = _Attempt(
        LoginKind.ADMIN,
        None,
        f"admin:{name.lower()}",
        f"user {name}",
        client,
        policy,
        now,
        "Wrong username or password, or this account does not own events.",
    )

    def check() -> tuple[User | None, None]:
        user = _user(session, name)
        # One verification whatever the outcome: an account without a password (staff only)
        # or that owns no events takes as long to refuse as a wrong password.
        ok = verify_in_constant_work(user.password_hash if user else None, password)
        return (user if ok and user is not None and user.is_event_owner else None), None

    user, device = _guarded(session, attempt, check)
    token, row = _new_session(session, LoginKind.ADMIN, now=now, user_id=user.id)
    audit.record(
        session,
        Actor(user.username, user_id=user.id),
        "login",
        event_id=None,
        subject=row,
        kind="admin",
        address=client.address,
    )
    return Login(token, device)


def login_admin(
    session: Session,
    username: str,
    password: str,
    client: Client,
    *,
    policy: ThrottlePolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> str:
    """:func:`authenticate_admin`, returning only the session token."""
    return authenticate_admin(session, username, password, client, policy=policy, now=now).token


def authenticate_staff(
    session: Session,
    event: Event,
    username: str,
    password: str,
    client: Client,
    *,
    policy: ThrottlePolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> Login:
    """Log an event user into ``event`` with the password valid for that event."""
    now = now or utcnow()
    name = _check_username(username, password)
    attempt = _Attempt(
        LoginKind.STAFF,
        event.id,
        f"staff:{name.lower()}",
        f"user {name}",
        client,
        policy,
        now,
        f"Wrong username or password for {event.name}.",
    )

    def check() -> tuple[User | None, None]:
        user = _user(session, name)
        eu = None
        if user is not None:
            eu = session.scalars(
                select(EventUser).where(
                    EventUser.event_id == event.id,
                    EventUser.user_id == user.id,
                    EventUser.removed_at.is_(None),
                )
            ).first()
        stored: str | None = None
        if eu is not None:
            stored = eu.password_hash
        elif user is not None and user.id == event.owner_id:
            # An owner is tournament director of their events even without a membership row.
            stored = user.password_hash
        ok = verify_in_constant_work(stored, password)
        return (user if ok else None), None

    user, device = _guarded(session, attempt, check)
    token, row = _new_session(session, LoginKind.STAFF, now=now, event_id=event.id, user_id=user.id)
    audit.record(
        session,
        Actor(user.username, user_id=user.id),
        "login",
        event_id=event.id,
        subject=row,
        kind="staff",
        address=client.address,
    )
    return Login(token, device)


def login_staff(
    session: Session,
    event: Event,
    username: str,
    password: str,
    client: Client,
    *,
    policy: ThrottlePolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> str:
    """:func:`authenticate_staff`, returning only the session token."""
    return authenticate_staff(
        session, event, username, password, client, policy=policy, now=now
    ).token


def _parse_number(number: int | str) -> int:
    try:
        value = int(str(number).strip().lstrip("#"))
    except ValueError:
        raise InvalidInput(
            "A player number is a whole number, like 101.", code="invalid_number"
        ) from None
    if value < 1:
        raise InvalidInput("A player number is a whole number, like 101.", code="invalid_number")
    return value


def authenticate_player(
    session: Session,
    event: Event,
    number: int | str,
    pin: str,
    client: Client,
    *,
    policy: ThrottlePolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> Login:
    """Log a player into ``event`` with their player number and PIN."""
    now = now or utcnow()
    num = _parse_number(number)
    pin = (pin or "").strip()
    if not pin:
        raise InvalidInput("Enter your PIN.", code="missing_credentials")
    attempt = _Attempt(
        LoginKind.PLAYER,
        event.id,
        f"player:{num}",
        f"player {num}",
        client,
        policy,
        now,
        "Wrong player number or PIN. Your PIN is on the slip from the desk.",
    )

    def check() -> tuple[EventPlayer | None, int | None]:
        ep = session.scalars(
            select(EventPlayer).where(EventPlayer.event_id == event.id, EventPlayer.number == num)
        ).first()
        ok = verify_in_constant_work(ep.pin_hash if ep else None, pin)
        return (ep if ok else None), (ep.id if ep else None)

    ep, device = _guarded(session, attempt, check)
    token, row = _new_session(
        session, LoginKind.PLAYER, now=now, event_id=event.id, player_id=ep.id
    )
    audit.record(
        session,
        Actor(ep.name, player_id=ep.id),
        "login",
        event_id=event.id,
        subject=row,
        player_id=ep.id,
        kind="player",
        address=client.address,
    )
    return Login(token, device)


def login_player(
    session: Session,
    event: Event,
    number: int | str,
    pin: str,
    client: Client,
    *,
    policy: ThrottlePolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> str:
    """:func:`authenticate_player`, returning only the session token."""
    return authenticate_player(session, event, number, pin, client, policy=policy, now=now).token


# --- sessions ---------------------------------------------------------------------------------


def _live_session(session: Session, token: str | None, now: datetime) -> LoginSession | None:
    if not token:
        return None
    return session.scalars(
        select(LoginSession).where(
            LoginSession.token_hash == token_digest(token),
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > now,
        )
    ).first()


def logout(
    session: Session,
    token: str | None,
    *,
    kinds: Collection[LoginKind] | None = None,
    event_id: int | None = None,
    now: datetime | None = None,
) -> bool:
    """Revoke the session behind ``token``; returns whether there was one to revoke. With
    ``kinds`` (and ``event_id``), only a session of those kinds (in that event) is revoked: the
    logout of one place never ends a login to another that was sent under its cookie."""
    now = now or utcnow()
    row = _live_session(session, token, now)
    if row is None:
        return False
    if kinds is not None and row.kind not in kinds:
        return False
    if event_id is not None and row.event_id != event_id:
        return False
    row.revoked_at = now
    ident = _identity(session, row)
    actor = ident.actor if ident else audit.SYSTEM
    audit.record(
        session,
        actor,
        "logout",
        event_id=row.event_id,
        subject=row,
        player_id=row.player_id,
        kind=row.kind.value,
    )
    return True


def revoke_sessions(
    session: Session,
    *,
    event_id: int | None = None,
    user_id: int | None = None,
    player_id: int | None = None,
    kind: LoginKind | None = None,
    keep_session_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """Revoke every live session of a user (in one event, or admin) or of an event player,
    except ``keep_session_id``. Returns how many were revoked."""
    now = now or utcnow()
    query = select(LoginSession).where(
        LoginSession.revoked_at.is_(None), LoginSession.expires_at > now
    )
    if kind is not None:
        query = query.where(LoginSession.kind == kind)
    if keep_session_id is not None:
        query = query.where(LoginSession.id != keep_session_id)
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
    if not token:
        return None
    now = now or utcnow()
    # One query for a staff login (the commonest by far: every scorekeeper's save): the session,
    # its user, event, staff row and roles; the other kinds look up what is not joined here.
    staff = and_(
        EventUser.event_id == LoginSession.event_id,
        EventUser.user_id == LoginSession.user_id,
        EventUser.removed_at.is_(None),
    )
    rows = session.execute(
        select(LoginSession, User, Event, EventUser, EventUserRole.role)
        .outerjoin(User, User.id == LoginSession.user_id)
        .outerjoin(Event, Event.id == LoginSession.event_id)
        .outerjoin(EventUser, staff)
        .outerjoin(EventUserRole, EventUserRole.event_user_id == EventUser.id)
        .where(
            LoginSession.token_hash == token_digest(token),
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > now,
        )
    ).all()
    if not rows:
        return None
    row, user, event, eu = rows[0][:4]
    if row.kind != LoginKind.STAFF:
        return _identity(session, row)
    if user is None or event is None:
        return None
    roles = {r[4] for r in rows if r[4] is not None}
    return _staff_identity(row, user, event, roles if eu is not None else set())


def _staff_identity(
    row: LoginSession, user: User, event: Event, roles: set[Role]
) -> Identity | None:
    is_owner = event.owner_id == user.id
    if is_owner:
        roles.add(Role.TOURNAMENT_DIRECTOR)
    if not roles:
        return None
    return Identity(
        session_id=row.id,
        kind=row.kind,
        event_id=event.id,
        user_id=user.id,
        player_id=None,
        name=user.username,
        roles=frozenset(roles),
        is_owner=is_owner,
        expires_at=row.expires_at,
    )


def _identity(session: Session, row: LoginSession) -> Identity | None:
    if row.kind == LoginKind.ADMIN:
        user = session.get(User, row.user_id)
        if user is None or not user.is_event_owner:
            return None
        return Identity(
            session_id=row.id,
            kind=row.kind,
            event_id=None,
            user_id=user.id,
            player_id=None,
            name=user.username,
            is_owner=True,
            expires_at=row.expires_at,
            is_instance_admin=bool(user.is_instance_admin),
        )
    if row.kind == LoginKind.STAFF:
        user = session.get(User, row.user_id)
        event = session.get(Event, row.event_id)
        if user is None or event is None:
            return None
        eu = session.scalars(
            select(EventUser).where(
                EventUser.event_id == event.id,
                EventUser.user_id == user.id,
                EventUser.removed_at.is_(None),
            )
        ).first()
        return _staff_identity(row, user, event, set(eu.role_set) if eu is not None else set())
    ep = session.get(EventPlayer, row.player_id)
    if ep is None or ep.event_id != row.event_id:
        return None
    return Identity(
        session_id=row.id,
        kind=row.kind,
        event_id=ep.event_id,
        user_id=None,
        player_id=ep.id,
        name=f"{ep.name} (#{ep.number})",
        player_number=ep.number,
        expires_at=row.expires_at,
    )


def throttles(session: Session, event_id: int | None, keys: Iterable[str]) -> list[LoginThrottle]:
    """The throttle rows for ``keys`` (for the desk's "why can't I log in" view and for tests)."""
    keys = list(keys)
    return list(
        session.scalars(
            select(LoginThrottle).where(
                LoginThrottle.event_id.is_(None)
                if event_id is None
                else LoginThrottle.event_id == event_id,
                LoginThrottle.key.in_(keys),
            )
        ).all()
    )
