"""Accounts: event owners, the instance administrators who create them, and passwords.

An account password opens the admin interface; a staff member's password for one event lives on
their membership (``event_users.password_hash``) and opens only that event. Changing either ends
the logins that password opened, except the session of a person changing their own.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pss_core import audit
from pss_core.audit import Actor
from pss_core.errors import InvalidInput, PermissionDenied, Refused
from pss_core.models import Event, EventUser, LoginKind, User
from pss_core.security import hash_secret, verify_secret
from pss_core.services import auth, setup

#: The shortest account (admin interface) password.
ACCOUNT_PASSWORD_MIN = 8
#: The shortest password for one event (as when the owner adds staff).
EVENT_PASSWORD_MIN = 6
#: Longer passwords are refused before hashing (argon2 takes any length; a megabyte is abuse).
PASSWORD_MAX = 200


class WrongPassword(PermissionDenied):
    """The current password given to change it is not the right one."""

    default_code = "wrong_password"


def check_new_password(
    password: str | None, confirm: str | None = None, *, minimum: int = ACCOUNT_PASSWORD_MIN
) -> str:
    """The new password if it is long enough (and typed the same twice, when ``confirm`` is
    given); otherwise a refusal that says what is wrong."""
    password = password or ""
    if len(password) < minimum:
        raise InvalidInput(
            f"A password needs at least {minimum} characters.",
            code="weak_password",
            field="password",
        )
    if len(password) > PASSWORD_MAX:
        raise InvalidInput(
            f"A password has at most {PASSWORD_MAX} characters.",
            code="weak_password",
            field="password",
        )
    if password.strip() != password:
        # Spaces at the ends are lost by copy and paste and by password managers' autofill.
        raise InvalidInput(
            "A password cannot start or end with a space.", code="weak_password", field="password"
        )
    if confirm is not None and confirm != password:
        raise InvalidInput(
            "The two new passwords are not the same.",
            code="passwords_differ",
            field="password_confirm",
        )
    return password


def has_users(session: Session) -> bool:
    """Whether any account exists (none: the instance has not been set up)."""
    return session.scalar(select(User.id).limit(1)) is not None


def owners(session: Session) -> list[User]:
    """Every account that may log into the admin interface, by username."""
    return list(
        session.scalars(
            select(User).where(User.is_event_owner.is_(True)).order_by(func.lower(User.username))
        )
    )


def owner_by_name(session: Session, username: str) -> User | None:
    user = setup.user_by_name(session, username)
    return user if user is not None and user.is_event_owner else None


def create_owner(
    session: Session,
    username: str,
    password: str,
    *,
    full_name: str = "",
    email: str | None = None,
    instance_admin: bool = False,
    actor: Actor = audit.SYSTEM,
) -> User:
    """An event-owner account (it logs into the admin interface and creates events); with
    ``instance_admin`` also an administrator of this pss instance, who creates owners."""
    password = check_new_password(password)
    email = (email or "").strip() or None
    if email is not None and ("@" not in email or any(c.isspace() for c in email)):
        raise InvalidInput(
            "That does not look like an e-mail address.", code="invalid_email", field="email"
        )
    user = setup.create_user(
        session,
        username,
        password=password,
        full_name=full_name,
        email=email,
        event_owner=True,
        actor=actor,
    )
    user.is_instance_admin = instance_admin
    session.flush()
    if instance_admin:
        audit.record(
            session,
            actor,
            "user.instance_admin",
            event_id=None,
            subject=user,
            username=user.username,
            granted=True,
        )
    return user


def set_password(
    session: Session,
    user: User,
    password: str,
    *,
    actor: Actor,
    keep_session_id: int | None = None,
) -> int:
    """Give ``user`` a new account password; every admin-interface login of theirs ends except
    ``keep_session_id``. Their passwords for events are separate and stay. Returns how many
    logins ended."""
    password = check_new_password(password)
    user.password_hash = hash_secret(password)
    ended = auth.revoke_sessions(
        session, user_id=user.id, kind=LoginKind.ADMIN, keep_session_id=keep_session_id
    )
    session.flush()
    audit.record(
        session,
        actor,
        "user.password",
        event_id=None,
        subject=user,
        username=user.username,
        own=actor.user_id == user.id,
        logins_ended=ended,
    )
    return ended


def reset_owner_password(session: Session, owner: User, password: str, *, actor: Actor) -> int:
    """An instance administrator gives an owner a new password (forgotten, or known to someone
    who should not know it): all of the owner's admin logins end."""
    if not owner.is_event_owner:
        raise Refused(f"{owner.username} is not an event owner.", code="not_event_owner")
    return set_password(session, owner, password, actor=actor)


def change_own_password(
    session: Session,
    user: User,
    current: str,
    new: str,
    confirm: str,
    *,
    keep_session_id: int,
    actor: Actor,
) -> int:
    """Someone logged into the admin interface changes their own account password: the current
    one is required, the new one typed twice. Their other admin logins end."""
    if not verify_secret(user.password_hash, current or ""):
        raise WrongPassword("That is not your current password.", field="current_password")
    new = check_new_password(new, confirm)
    return set_password(session, user, new, actor=actor, keep_session_id=keep_session_id)


def change_own_event_password(
    session: Session,
    event: Event,
    user: User,
    current: str,
    new: str,
    confirm: str,
    *,
    keep_session_id: int,
    actor: Actor,
) -> int:
    """A staff member changes their own password for ``event``: the current one is required,
    the new one typed twice. Their other logins to the event end; other events are untouched."""
    eu = session.scalars(
        select(EventUser).where(
            EventUser.event_id == event.id,
            EventUser.user_id == user.id,
            EventUser.removed_at.is_(None),
        )
    ).first()
    if eu is None:
        raise Refused(
            "You log into this event with your account password: change it in the admin interface.",
            code="no_event_password",
        )
    if not verify_secret(eu.password_hash, current or ""):
        raise WrongPassword(
            "That is not your current password for this event.", field="current_password"
        )
    new = check_new_password(new, confirm, minimum=EVENT_PASSWORD_MIN)
    eu.password_hash = hash_secret(new)
    ended = auth.revoke_sessions(
        session,
        event_id=event.id,
        user_id=user.id,
        kind=LoginKind.STAFF,
        keep_session_id=keep_session_id,
    )
    session.flush()
    audit.record(
        session,
        actor,
        "event_user.password",
        event_id=event.id,
        subject=eu,
        username=user.username,
        own=True,
        logins_ended=ended,
    )
    return ended
