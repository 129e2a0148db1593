"""Personal API tokens (``/events/<slug>/tokens``): a staff member makes a token for one of their
roles in the event, sees it once, and revokes it. Scripts send it as ``Authorization: Bearer
<token>``; such requests need no CSRF token."""

from __future__ import annotations

from typing import Any

from pyramid.renderers import render_to_response
from pyramid.response import Response

from pss_core.errors import PermissionDenied
from pss_core.models import ApiToken, Role
from pss_core.services import api_tokens
from pss_web.forms import Field, parse
from pss_web.layout import add_event_nav
from pss_web.present import event_json, event_url
from pss_web.resources import EventResource
from pss_web.security import Permission
from pss_web.viewkit import action, done, page, wants_json

P = Permission
ROLES = tuple(r.value for r in Role)
CREATE_FIELDS = (
    Field(
        "label",
        required=True,
        label="Name",
        max_length=100,
        help="What the token is for, like “results feed”.",
    ),
    Field("role", "choice", required=True, label="Acts as", choices=ROLES),
)
REVOKE_FIELDS = (Field("token", "int", required=True, label="Token", minimum=1),)
add_event_nav("API tokens", "tokens", permission=P.STAFF, order=95)


def token_json(row: ApiToken) -> dict[str, Any]:
    return {
        "id": row.id,
        "label": row.label,
        "role": row.role.value,
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "revoked_at": row.revoked_at,
        "active": row.revoked_at is None,
    }


def _maker(request: Any) -> int:
    identity = request.identity
    if identity is None or identity.user_id is None or identity.token_id is not None:
        raise PermissionDenied(
            "API tokens are made and revoked by a staff member logged in "
            "with their password, not with a token.",
            code="login_needed",
        )
    return int(identity.user_id)


@page(context=EventResource, name="tokens", permission=P.STAFF, template="manage/api_tokens.html")
def tokens_page(context: EventResource, request: Any) -> dict[str, Any]:
    """Your API tokens in this event, and the form to make one."""
    user_id = _maker(request)
    identity = request.identity
    return {
        "event": event_json(request, context.event),
        "tokens": [
            token_json(t) for t in api_tokens.tokens_of(request.dbsession, context.event, user_id)
        ],
        "roles": sorted(r.value for r in identity.roles),
        "url": event_url(request, context.event, "tokens"),
        "revoke_url": event_url(request, context.event, "tokens-revoke"),
        "new_token": None,
    }


@action(context=EventResource, name="tokens", permission=P.STAFF, fields=CREATE_FIELDS)
def create_token(context: EventResource, request: Any) -> Any:
    """Make a token acting as one of your roles here; the answer shows it this once only."""
    user_id = _maker(request)
    values = parse(request, CREATE_FIELDS)
    row, plain = api_tokens.create_token(
        request.dbsession,
        context.event,
        user_id,
        values["role"],
        values["label"],
        actor=request.actor,
    )
    data = {"token": plain, "api_token": token_json(row)}
    if wants_json(request):
        return done(
            request,
            event_url(request, context.event, "tokens"),
            data,
            status=201,
            message=f"Token “{row.label}” made.",
        )
    # Shown on the page that answers the post, never again (no redirect carries it).
    result = tokens_page(context, request)
    result["new_token"] = {"token": plain, **token_json(row)}
    return render_tokens(request, result)


def render_tokens(request: Any, result: dict[str, Any]) -> Response:
    response = render_to_response("manage/api_tokens.html", result, request=request)
    response.status_int = 201
    response.cache_control.no_store = True
    return response


@action(context=EventResource, name="tokens-revoke", permission=P.STAFF, fields=REVOKE_FIELDS)
def revoke_token(context: EventResource, request: Any) -> Response:
    """Revoke one of your tokens; it stops working at once."""
    user_id = _maker(request)
    values = parse(request, REVOKE_FIELDS)
    row = api_tokens.revoke_token(
        request.dbsession, context.event, user_id, values["token"], actor=request.actor
    )
    return done(
        request,
        event_url(request, context.event, "tokens"),
        {"api_token": token_json(row)},
        message=f"Token “{row.label}” revoked.",
    )
