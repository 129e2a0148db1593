"""Accounts on the web: an instance administrator creates event owners and resets their
passwords (``/admin/owners/``); everyone logged in changes their own password, the account one
in the admin interface (``/admin/password``) and their password for an event inside it
(``/events/<slug>/password``)."""

from __future__ import annotations

from typing import Any

from pyramid.response import Response
from sqlalchemy import func, select

from pss_core.models import Event, User
from pss_core.services import accounts
from pss_web.forms import Field, parse
from pss_web.present import app_url, event_json
from pss_web.resources import AdminOwnerResource, AdminOwnersContainer, AdminResource, EventResource
from pss_web.security import Permission
from pss_web.viewkit import action, done, page

P = Permission

NEW_PASSWORD = Field(
    "password",
    "password",
    required=True,
    label="New password",
    help=f"At least {accounts.ACCOUNT_PASSWORD_MIN} characters.",
)
CONFIRM = Field("password_confirm", "password", required=True, label="The same password again")
CURRENT = Field("current_password", "password", required=True, label="Current password")

NEW_OWNER_FIELDS = (
    Field("username", required=True, label="Username", max_length=64),
    Field("full_name", label="Full name"),
    Field("email", label="E-mail", max_length=254),
    NEW_PASSWORD,
    CONFIRM,
    Field("instance_admin", "bool", label="Also an instance administrator (creates owners)"),
)
RESET_FIELDS = (NEW_PASSWORD, CONFIRM)
OWN_PASSWORD_FIELDS = (CURRENT, NEW_PASSWORD, CONFIRM)
OWN_EVENT_PASSWORD_FIELDS = (
    CURRENT,
    Field(
        "password",
        "password",
        required=True,
        label="New password for this event",
        help=f"At least {accounts.EVENT_PASSWORD_MIN} characters. Your other events keep "
        "their passwords.",
    ),
    CONFIRM,
)


def owner_json(request: Any, user: User) -> dict[str, Any]:
    events = (
        request.dbsession.scalar(select(func.count(Event.id)).where(Event.owner_id == user.id)) or 0
    )
    return {
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "is_instance_admin": bool(user.is_instance_admin),
        "events": events,
        "url": app_url(request, "admin", "owners", user.username, ""),
    }


def _me(request: Any) -> User:
    user = request.dbsession.get(User, request.identity.user_id)
    assert user is not None
    return user


@page(context=AdminOwnersContainer, permission=P.MANAGE_OWNERS, template="admin/owners.html")
def owners_page(context: AdminOwnersContainer, request: Any) -> dict[str, Any]:
    """The event-owner accounts of this instance, and the form to create one."""
    return {
        "owners": [owner_json(request, u) for u in accounts.owners(request.dbsession)],
        "create_url": request.resource_url(context),
        "min_length": accounts.ACCOUNT_PASSWORD_MIN,
    }


@action(context=AdminOwnersContainer, permission=P.MANAGE_OWNERS, fields=NEW_OWNER_FIELDS)
def create_owner(context: AdminOwnersContainer, request: Any) -> Response:
    """Create an event-owner account; it logs in at ``/admin/login`` and creates its events."""
    values = parse(request, NEW_OWNER_FIELDS)
    accounts.check_new_password(values["password"], values["password_confirm"])
    user = accounts.create_owner(
        request.dbsession,
        values["username"],
        values["password"],
        full_name=values["full_name"] or "",
        email=values["email"] or None,
        instance_admin=bool(values["instance_admin"]),
        actor=request.actor,
    )
    return done(
        request,
        request.resource_url(context),
        {"owner": owner_json(request, user)},
        message=f"{user.username} can now log into the admin interface.",
        status=201,
    )


@page(context=AdminOwnerResource, permission=P.MANAGE_OWNERS, template="admin/owner.html")
def owner_page(context: AdminOwnerResource, request: Any) -> dict[str, Any]:
    """One event owner, with the form to give them a new password."""
    return {"owner": owner_json(request, context.user), "min_length": accounts.ACCOUNT_PASSWORD_MIN}


@action(context=AdminOwnerResource, permission=P.MANAGE_OWNERS, fields=RESET_FIELDS)
def reset_owner_password(context: AdminOwnerResource, request: Any) -> Response:
    """Give an owner a new account password (forgotten, or known to someone who should not):
    their admin logins end. Their passwords for events are not changed."""
    values = parse(request, RESET_FIELDS)
    new = accounts.check_new_password(values["password"], values["password_confirm"])
    user = context.user
    if user.id == request.identity.user_id:
        ended = accounts.set_password(
            request.dbsession,
            user,
            new,
            actor=request.actor,
            keep_session_id=request.identity.session_id,
        )
    else:
        ended = accounts.reset_owner_password(request.dbsession, user, new, actor=request.actor)
    return done(
        request,
        request.resource_url(context.__parent__),
        {"owner": owner_json(request, user), "logins_ended": ended},
        message=f"{user.username} has a new password; {ended} admin login"
        f"{'s' if ended != 1 else ''} ended.",
    )


@page(context=AdminResource, name="password", permission=P.ADMIN, template="auth/password.html")
def own_password_form(context: AdminResource, request: Any) -> dict[str, Any]:
    """Change your own account password (the admin interface's)."""
    return {"kind": "admin", "event": None, "min_length": accounts.ACCOUNT_PASSWORD_MIN}


@action(context=AdminResource, name="password", permission=P.ADMIN, fields=OWN_PASSWORD_FIELDS)
def change_own_password(context: AdminResource, request: Any) -> Response:
    """Change your own account password: the current one, then the new one twice. Your other
    admin logins end; this one stays."""
    values = parse(request, OWN_PASSWORD_FIELDS)
    ended = accounts.change_own_password(
        request.dbsession,
        _me(request),
        values["current_password"],
        values["password"],
        values["password_confirm"],
        keep_session_id=request.identity.session_id,
        actor=request.actor,
    )
    return done(
        request,
        request.resource_url(context),
        {"logins_ended": ended},
        message="Your password is changed."
        + (f" {ended} other login{'s' if ended != 1 else ''} ended." if ended else ""),
    )


@page(context=EventResource, name="password", permission=P.STAFF, template="auth/password.html")
def own_event_password_form(context: EventResource, request: Any) -> dict[str, Any]:
    """Change your own password for this event (staff)."""
    return {
        "kind": "staff",
        "event": event_json(request, context.event),
        "min_length": accounts.EVENT_PASSWORD_MIN,
    }


@action(
    context=EventResource, name="password", permission=P.STAFF, fields=OWN_EVENT_PASSWORD_FIELDS
)
def change_own_event_password(context: EventResource, request: Any) -> Response:
    """Change your own password for this event: the current one, then the new one twice. Your
    other logins to this event end; this one stays."""
    values = parse(request, OWN_EVENT_PASSWORD_FIELDS)
    ended = accounts.change_own_event_password(
        request.dbsession,
        context.event,
        _me(request),
        values["current_password"],
        values["password"],
        values["password_confirm"],
        keep_session_id=request.identity.session_id,
        actor=request.actor,
    )
    return done(
        request,
        request.resource_url(context),
        {"logins_ended": ended},
        message="Your password for this event is changed."
        + (f" {ended} other login{'s' if ended != 1 else ''} ended." if ended else ""),
    )
