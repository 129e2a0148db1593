"""Every refusal becomes a 4xx with its plain message: HTML for people, JSON for API clients.

A domain error raised by a form action re-renders that form with the message and what was typed.
An anonymous visitor who needs a login is sent to the right login page (JSON clients get a 401).
A lost database (refused, killed, restarting) is a 503 with Retry-After: its transaction did not
commit (unless the connection died during the COMMIT itself), and the request works again once
the database is back. So is SQLite's "database is locked" from a write outside the lock helpers
(another connection held the one write lock past the busy timeout; nothing was written).
Anything else is a bug and a 500.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from pyramid.csrf import get_csrf_token
from pyramid.exceptions import BadCSRFOrigin, BadCSRFToken, URLDecodeError
from pyramid.httpexceptions import HTTPException, HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.response import Response
from pyramid.settings import asbool
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config
from sqlalchemy import exc as sa_exc

from pss_core.db import database_busy, database_unavailable
from pss_core.errors import DomainError, Unavailable
from pss_web.security import scope_of
from pss_web.viewkit import json_response

log = logging.getLogger(__name__)

STATUS_BY_KIND = {
    "invalid": 400,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "busy": 429,
    "unavailable": 503,
}
#: Seconds a client is asked to wait before trying again when the database is away.
UNAVAILABLE_RETRY_AFTER = 5
UNAVAILABLE_MESSAGE = (
    "The database cannot be reached right now, so this may not have been "
    "saved. Check, and try again in a few seconds."
)


def error_response(request: Any, exc: DomainError) -> Response:
    """The response for a refusal: JSON, the form re-rendered with the message, or an error page."""
    status = STATUS_BY_KIND.get(exc.kind, 400)
    headers = {}
    if exc.kind == "busy":
        headers["Retry-After"] = str(int(exc.details.get("retry_after", 2)))
    if exc.kind == "unavailable":
        return _unavailable_response(request, exc)
    if request.wants_json:
        return json_response(exc.as_dict(), status=status, headers=headers)
    response = _rerender_form(request, exc, status)
    if response is None:
        response = render_page(
            request,
            "error.html",
            {
                "error": {"code": exc.code, "message": exc.message},
                "status": status,
            },
            status,
        )
    response.headers.update(headers)
    return response


def _rerender_form(request: Any, exc: DomainError, status: int) -> Response | None:
    if request.method != "POST":
        return None
    context = getattr(request, "context", None)
    pages = request.registry.get("pss.pages", {})
    found = None
    for cls in type(context).__mro__:
        found = pages.get((cls, request.view_name or ""))
        if found is not None:
            break
    if found is None:
        return None
    view, template, permission = found
    # The action's permission may be wider than the page's (any player may try to join a
    # queue, only that player may see their page): never show a page its viewer may not see.
    if permission is not None and not request.has_permission(permission, context):
        return None
    try:
        data = view(context, request)
    except DomainError:
        return None
    if not isinstance(data, dict):
        return None
    try:
        echo = request.submitted.echo()
    except DomainError:
        echo = {}
    data = {
        **data,
        "error": {"code": exc.code, "message": exc.message, "field": exc.details.get("field")},
        "form": echo,
    }
    return render_page(request, template, data, status)


def render_page(request: Any, template: str, data: dict[str, Any], status: int) -> Response:
    response = render_to_response(template, data, request=request)
    response.status_code = status
    return response


@exception_view_config(DomainError)
def domain_error(exc: DomainError, request: Any) -> Response:
    return error_response(request, exc)


def _unavailable_response(request: Any, exc: DomainError) -> Response:
    """The 503 for a lost database. The page must not need the database itself: if the layout
    (which looks up the login) fails too, a plain page says the same."""
    headers = {"Retry-After": str(int(exc.details.get("retry_after", UNAVAILABLE_RETRY_AFTER)))}
    data = exc.as_dict()
    if request.wants_json:
        return json_response(data, status=503, headers=headers)
    try:
        response = render_page(
            request,
            "error.html",
            {"error": {"code": exc.code, "message": exc.message}, "status": 503},
            503,
        )
    # Whatever broke (most likely the database the layout needs too), the plain page answers.
    except Exception:  # noqa: BLE001
        response = Response(
            "<!doctype html><html lang=en><meta charset=utf-8><title>Try again shortly</title>"
            f"<h1>Try again shortly</h1><p>{exc.message}</p></html>",
            status=503,
            content_type="text/html",
            charset="utf-8",
        )
    response.headers.update(headers)
    return response


@exception_view_config(sa_exc.DBAPIError)
@exception_view_config(sa_exc.TimeoutError)
def database_error(exc: Exception, request: Any) -> Response:
    """A lost or (SQLite) locked database becomes a typed 503; any other database error is a bug
    (a 500)."""
    if database_unavailable(exc) or database_busy(exc):
        log.warning(
            "database unavailable on %s %s: %s",
            request.method,
            request.path_qs,
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        )
        return _unavailable_response(
            request, Unavailable(UNAVAILABLE_MESSAGE, retry_after=UNAVAILABLE_RETRY_AFTER)
        )
    return server_error(exc, request)


@exception_view_config(URLDecodeError)
def undecodable_address(exc: URLDecodeError, request: Any) -> Response:
    """A path whose bytes are not UTF-8 names nothing here."""
    return not_found(HTTPNotFound(), request)


@exception_view_config(BadCSRFToken)
@exception_view_config(BadCSRFOrigin)
def csrf_failed(exc: Exception, request: Any) -> Response:
    message = "This form has expired or came from another site. Reload the page and try again."
    if request.wants_json:
        return json_response(
            {"error": "csrf_failed", "message": message, "csrf_token": get_csrf_token(request)},
            status=403,
        )
    return render_page(
        request,
        "error.html",
        {"error": {"code": "csrf_failed", "message": message}, "status": 403},
        403,
    )


@forbidden_view_config()
def forbidden(exc: HTTPForbidden, request: Any) -> Response:
    scope = scope_of(request)
    identity = request.identity
    if identity is None and scope is not None:
        login = request.host_url + scope.login_path
        if request.wants_json:
            return json_response(
                {"error": "login_required", "message": "Log in first.", "login": login}, status=401
            )
        if request.method in ("GET", "HEAD"):
            login += "?" + urlencode({"next": request.path_qs})
        return HTTPSeeOther(location=login)
    message = "You are not allowed to do this."
    if identity is not None:
        message = (
            f"You are logged in as {identity.name}, who may not do this. "
            "Log in with another account if you need to."
        )
    if request.wants_json:
        return json_response({"error": "forbidden", "message": message}, status=403)
    return render_page(
        request,
        "error.html",
        {
            "error": {"code": "forbidden", "message": message},
            "status": 403,
            "login": request.host_url + scope.login_path if scope else None,
        },
        403,
    )


@notfound_view_config()
def not_found(exc: HTTPNotFound, request: Any) -> Response:
    message = "There is no such page. It may have been removed, or the address is mistyped."
    if request.wants_json:
        return json_response({"error": "not_found", "message": message}, status=404)
    return render_page(
        request,
        "error.html",
        {"error": {"code": "not_found", "message": message}, "status": 404},
        404,
    )


@exception_view_config(Exception)
def server_error(exc: Exception, request: Any) -> Response:
    """A bug: logged with its traceback, shown as a plain 500 (never the details)."""
    if isinstance(exc, HTTPException):
        return exc
    if asbool(request.registry.settings.get("pss.raise_errors")):
        raise exc  # tests want the real traceback
    log.exception("unhandled error on %s %s", request.method, request.path_qs)
    message = "Something went wrong on our side. The error has been logged; please try again."
    if request.wants_json:
        return json_response({"error": "server_error", "message": message}, status=500)
    try:
        return render_page(
            request,
            "error.html",
            {"error": {"code": "server_error", "message": message}, "status": 500},
            500,
        )
    except Exception:  # noqa: BLE001  the page itself failed: plain text is all that is left
        return Response(message, status=500, content_type="text/plain")
