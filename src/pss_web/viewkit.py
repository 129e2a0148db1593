"""How views are declared: one view returns plain data that is rendered as HTML for browsers and as
JSON for API clients (``Accept: application/json``), unsafe actions run in a savepoint and answer
with a redirect or JSON, and every view is collected for the OpenAPI document.

    @page(context=EventResource, permission=P.VIEW, template="event/home.html", live=fp)
    def event_home(context, request):
        return {"event": event_json(context.event), "_orm_only_for_template": ...}

    @action(context=TournamentsContainer, permission=P.MANAGE, fields=TOURNAMENT_FIELDS)
    def create_tournament(context, request):
        values = parse(request, TOURNAMENT_FIELDS)
        ...
        return done(request, request.resource_url(...), {"tournament": ...}, status=201)

Keys starting with ``_`` are for the template only and never appear in the JSON twin.
A ``DomainError`` raised by an action re-renders the page registered for the same context and
view name (GET) with the error message and the submitted values, at the error's 4xx status.

Inputs are declared and parsed by :mod:`pss_web.forms`; :mod:`pss_web.sanity` refuses what no
view should see before any of them runs.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, unquote

import attrs
from pyramid.httpexceptions import HTTPNotModified, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config
from pyramid.viewderivers import VIEW

from pss_web import readcache
from pss_web.forms import JSON_TYPE, Field
from pss_web.resources import Resource
from pss_web.security import principals_for

FLASH_COOKIE = "pss_flash"


# --- content negotiation ----------------------------------------------------------------------


def wants_json(request: Any) -> bool:
    """True when the client asked for JSON (``Accept: application/json``), or sent JSON and did
    not ask for HTML."""
    cached = request.environ.get("pss.wants_json")
    if cached is None:
        offers = request.accept.acceptable_offers(["text/html", JSON_TYPE])
        accept_header = request.headers.get("Accept", "")
        if not offers:
            cached = False
        elif request.content_type == JSON_TYPE and "text/html" not in accept_header:
            cached = True
        else:
            cached = offers[0][0] == JSON_TYPE
        request.environ["pss.wants_json"] = cached
    return bool(cached)


class JsonReady(dict[str, Any]):
    """View data that is plain JSON already (no ``_`` keys, times, enums or objects):
    :func:`jsonable` passes it through as it is."""


def jsonable(value: Any) -> Any:
    """Plain JSON data from view data: ``_`` keys dropped, times ISO 8601, enums by value."""
    if isinstance(value, JsonReady):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if attrs.has(type(value)):
        return jsonable(attrs.asdict(value, recurse=False))
    if hasattr(value, "as_json"):
        return jsonable(value.as_json())
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    raise TypeError(f"{type(value).__name__} is not JSON data")


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    body = json.dumps(jsonable(data), separators=(",", ":"), ensure_ascii=False)
    response = Response(body=body.encode(), status=status, content_type=JSON_TYPE, charset="utf-8")
    response.headers.update(headers or {})
    return response


def done(
    request: Any,
    location: str,
    data: Mapping[str, Any] | None = None,
    *,
    message: str | None = None,
    status: int = 200,
    headers: Sequence[tuple[str, str]] = (),
) -> Response:
    """Finish an action: JSON ``data`` for API clients, else a redirect to ``location`` with an
    optional one-time ``message`` shown on the next page."""
    response: Response
    if wants_json(request):
        payload = dict(data or {})
        payload.setdefault("ok", True)
        if message:
            payload.setdefault("message", message)
        payload.setdefault("location", location)
        response = json_response(payload, status=status)
    else:
        response = HTTPSeeOther(location=location)
        if message:
            response.set_cookie(
                FLASH_COOKIE, quote(message[:300]), path="/", httponly=True, samesite="Lax"
            )
    for name, value in headers:
        response.headers.add(name, value)
    return response


def flash(request: Any) -> str | None:
    """The one-time message left by the previous action (read once, then cleared)."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    if not request.environ.get("pss.flash_cleared"):
        request.environ["pss.flash_cleared"] = True
        request.add_response_callback(lambda req, resp: resp.delete_cookie(FLASH_COOKIE, path="/"))
    return unquote(raw)


# --- declaring views --------------------------------------------------------------------------


def page(
    *,
    context: Any,
    permission: str,
    template: str,
    name: str = "",
    live: Callable[[Any, Any], str] | None = None,
    **settings: Any,
) -> Callable[[Any], Any]:
    """A GET page rendered with ``template`` that also answers ``Accept: application/json``.

    ``live(context, request)`` returns a cheap fingerprint of what the page shows; the page then
    carries an ETag and answers conditional requests with 304 without running the view."""
    return view_config(
        context=context,
        name=name,
        permission=permission,
        renderer=template,
        request_method=("GET", "HEAD"),
        live=live,
        **settings,
    )


def action(
    *,
    context: Any,
    permission: str,
    name: str = "",
    fields: Sequence[Field] = (),
    method: str = "POST",
    **settings: Any,
) -> Callable[[Any], Any]:
    """An unsafe action (CSRF checked), run in a savepoint; answers through :func:`done`."""
    return view_config(
        context=context,
        name=name,
        permission=permission,
        request_method=method,
        atomic=True,
        fields=tuple(fields),
        **settings,
    )


# --- view derivers ----------------------------------------------------------------------------


def _json_twin(view: Any, info: Any) -> Any:
    """Under the renderer: dict results become JSON when the client asked for JSON."""
    renderer = info.options.get("renderer")
    if renderer is None or info.exception_only:
        return view
    registry = info.registry
    context = info.options.get("context")
    methods = info.options.get("request_method") or ()
    if isinstance(methods, str):
        methods = (methods,)
    renderer_name = getattr(renderer, "name", renderer)
    if (
        isinstance(context, type)
        and "GET" in methods
        and isinstance(renderer_name, str)
        and renderer_name.endswith(".html")
    ):
        pages = registry.setdefault("pss.pages", {})
        pages[(context, info.options.get("name") or "")] = (
            view,
            renderer_name,
            info.options.get("permission"),
        )

    def twin(context: Any, request: Any) -> Any:
        result = view(context, request)
        if isinstance(result, Mapping) and wants_json(request):
            response = json_response(result, status=request.response.status_code)
            for name, value in request.response.headerlist:
                if name.lower() == "set-cookie":
                    response.headers.add(name, value)
            return response
        return result

    return twin


def _atomic(view: Any, info: Any) -> Any:
    """Actions run in a savepoint: a refusal undoes their partial work before the error page is
    rendered (and before a failed statement can poison the transaction)."""
    if not info.options.get("atomic"):
        return view

    def atomic(context: Any, request: Any) -> Any:
        with request.dbsession.begin_nested():
            result = view(context, request)
            request.dbsession.flush()
        return result

    return atomic


_atomic.options = ("atomic", "fields")  # type: ignore[attr-defined]


def etag_for(request: Any, fingerprint: str) -> str:
    identity = request.identity
    parts = [
        fingerprint,
        "json" if wants_json(request) else "html",
        str(identity.session_id) if identity else "-",
        ",".join(principals_for(identity)),
        request.cookies.get("csrf_token", ""),
        request.query_string,
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _live(view: Any, info: Any) -> Any:
    """Pages with a ``live`` fingerprint answer ``If-None-Match`` with 304 before doing work, and
    serve the body rendered for the same fingerprint and requester to everyone who asks again
    (:mod:`pss_web.readcache`)."""
    fingerprint = info.options.get("live")
    if fingerprint is None:
        return view

    def live(context: Any, request: Any) -> Any:
        if request.cookies.get(FLASH_COOKIE):
            return view(context, request)
        tag = etag_for(request, fingerprint(context, request))
        headers = {"ETag": f'"{tag}"', "Cache-Control": "no-cache", "Vary": "Accept, Cookie"}
        if tag in request.if_none_match:
            return HTTPNotModified(headers=headers)
        # The ETag covers the fingerprint, the representation, the requester and the query;
        # the path tells pages apart.
        # A logged-in HTML page carries one-time form keys, so only JSON and what anybody sees
        # are kept.
        shared = request.method == "GET" and (request.identity is None or wants_json(request))
        key = (request.host_url, request.path, tag)
        cached = readcache.bodies(request).get(key) if shared else None
        if cached is not None:
            response = Response(
                body=cached.body,
                status=cached.status,
                content_type=cached.content_type,
                charset=cached.charset,
            )
            response.headers.update(headers)
            return response
        request.environ["pss.etag"] = tag  # the page tells its script which version it shows
        response = view(context, request)
        response.headers.update(headers)
        if shared and response.status_code == 200 and "Set-Cookie" not in response.headers:
            readcache.bodies(request).put(
                key,
                readcache.CachedBody(
                    response.status_code, response.content_type, response.charset, response.body
                ),
            )
        return response

    return live


_live.options = ("live",)  # type: ignore[attr-defined]


def _declare(view: Any, info: Any) -> Any:
    """Collect every resource view for the OpenAPI document (nothing is written by hand)."""
    context = info.options.get("context")
    if info.exception_only or not (isinstance(context, type) and issubclass(context, Resource)):
        return view
    methods = info.options.get("request_method") or ("GET",)
    if isinstance(methods, str):
        methods = (methods,)
    info.registry.setdefault("pss.views", []).append(
        ViewDecl(
            context=context,
            name=info.options.get("name") or "",
            methods=tuple(m for m in methods if m != "HEAD"),
            permission=str(info.options.get("permission") or ""),
            doc=(getattr(info.original_view, "__doc__", None) or "").strip(),
            function=getattr(info.original_view, "__name__", "view"),
            fields=tuple(info.options.get("fields") or ()),
            live=info.options.get("live") is not None,
            template=str(getattr(info.options.get("renderer"), "name", "") or ""),
            idempotent=bool(info.options.get("atomic")),
        )
    )
    return view


@attrs.frozen
class ViewDecl:
    """One declared view, as the OpenAPI document describes it."""

    context: type
    name: str
    methods: tuple[str, ...]
    permission: str
    doc: str
    function: str
    fields: tuple[Field, ...] = ()
    live: bool = False
    template: str = ""
    #: An ``@action``: it takes an ``Idempotency-Key`` header (see :mod:`pss_web.idempotency`).
    idempotent: bool = False


def includeme(config: Any) -> None:
    config.add_request_method(wants_json, "wants_json", reify=True)
    config.add_view_deriver(_declare, "pss_declare", under="secured_view", over="owrapped_view")
    config.add_view_deriver(_live, "pss_live")
    config.add_view_deriver(_atomic, "pss_atomic", under="pss_live")
    config.add_view_deriver(_json_twin, "pss_json_twin", under="rendered_view", over=VIEW)
