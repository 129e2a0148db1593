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
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, unquote

import attrs
from pyramid.httpexceptions import HTTPNotModified, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config
from pyramid.viewderivers import VIEW

from pss_core.errors import InvalidInput

JSON_TYPE = "application/json"
FLASH_COOKIE = "pss_flash"
#: The largest whole number an input may be: every count, number and id column is a 32-bit
#: integer (scores, the one 64-bit column, are parsed as text by their service).
INT_MAX = 2**31 - 1


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


def jsonable(value: Any) -> Any:
    """Plain JSON data from view data: ``_`` keys dropped, times ISO 8601, enums by value."""
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


def json_response(data: Any, status: int = 200,
                  headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(jsonable(data), separators=(",", ":"), ensure_ascii=False)
    response = Response(body=body.encode(), status=status, content_type=JSON_TYPE,
                        charset="utf-8")
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
            response.set_cookie(FLASH_COOKIE, quote(message[:300]), path="/", httponly=True,
                                samesite="Lax")
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
        request.add_response_callback(
            lambda req, resp: resp.delete_cookie(FLASH_COOKIE, path="/"))
    return unquote(raw)


# --- form and JSON input ----------------------------------------------------------------------

FIELD_KINDS = ("str", "text", "int", "bool", "money", "list", "password", "choice", "datetime",
               "object", "bundles")


@attrs.frozen
class Field:
    """One input of an action: parsed from a form or a JSON body, and described in OpenAPI."""

    name: str
    kind: str = attrs.field(default="str", validator=attrs.validators.in_(FIELD_KINDS))
    required: bool = False
    label: str = ""
    help: str = ""
    default: Any = None
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    max_length: int | None = 200

    @property
    def what(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def openapi(self) -> dict[str, Any]:
        schemas: dict[str, dict[str, Any]] = {
            "str": {"type": "string"}, "text": {"type": "string"},
            "password": {"type": "string", "format": "password"},
            "int": {"type": "integer"}, "bool": {"type": "boolean"},
            "money": {"type": "string", "pattern": r"^\d+(\.\d{1,2})?$",
                      "description": "an amount like 3.00"},
            "list": {"type": "array", "items": {"type": "string"}},
            "choice": {"type": "string"},
            "datetime": {"type": "string", "format": "date-time"},
            "object": {"type": "object"},
            "bundles": {"oneOf": [
                {"type": "string", "description": "like '3 for 8.00; 7 for 15.00'"},
                {"type": "array", "items": {
                    "type": "object", "required": ["count", "price_cents"],
                    "properties": {"count": {"type": "integer", "minimum": 2},
                                   "price_cents": {"type": "integer", "minimum": 0}}}},
            ]},
        }
        schema = dict(schemas[self.kind])
        if self.choices:
            schema["enum"] = list(self.choices)
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.help or self.label:
            schema["description"] = self.help or self.label
        return schema


class Input:
    """The submitted values of one request, from a form or from a JSON object body."""

    def __init__(self, request: Any) -> None:
        self.is_json = request.content_type == JSON_TYPE
        if self.is_json:
            try:
                body = request.json_body if request.body else {}
            # RecursionError: nested too deep to read; LookupError: an unknown charset.
            except (ValueError, RecursionError, LookupError):
                raise InvalidInput("The request body is not valid JSON.",
                                   code="invalid_json") from None
            if not isinstance(body, dict):
                raise InvalidInput("The request body must be a JSON object.",
                                   code="invalid_json")
            check_storable(body)
            self._json: dict[str, Any] = body
        else:
            self._post = request.POST
            check_storable(list(self._post.items()))

    def has(self, name: str) -> bool:
        return name in self._json if self.is_json else name in self._post

    def get(self, name: str) -> Any:
        if self.is_json:
            return self._json.get(name)
        return self._post.get(name)

    def getall(self, name: str) -> list[Any]:
        if self.is_json:
            value = self._json.get(name)
            if value is None:
                return []
            return list(value) if isinstance(value, list) else [value]
        return list(self._post.getall(name))

    def echo(self) -> dict[str, Any]:
        """The submitted values to put back into a re-rendered form (never secrets)."""
        items = self._json.items() if self.is_json else self._post.items()
        out: dict[str, Any] = {}
        for key, value in items:
            if key == "csrf_token" or "password" in key or key == "pin":
                continue
            if key in out and not self.is_json:
                out[key] = [*out[key], value] if isinstance(out[key], list) else [out[key], value]
            else:
                out[key] = value
        return out


def storable(text: str) -> bool:
    """False for text no database column can hold: a NUL character, or half of a UTF-16 pair
    (which JSON's ``\\ud800`` escapes can produce and UTF-8 cannot encode)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_storable(value: Any, field: str | None = None) -> None:
    """Refuse submitted values (nested in lists and objects too) holding unstorable text."""
    if isinstance(value, str):
        if not storable(value):
            raise InvalidInput("The text sent contains a character that cannot be stored (a NUL "
                               "or a broken unicode character).", code="invalid_text",
                               field=field)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable(key, field)
            check_storable(item, field if field is not None else str(key)[:40])
    elif isinstance(value, list | tuple):
        for item in value:
            check_storable(item, field)


def plain_number(text: str) -> int | None:
    """The whole number ``text`` is, written in plain digits and small enough for the database's
    integer columns; ``None`` for anything else (``²``, ``-1``, ``1e9``, twenty digits)."""
    if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= INT_MAX:
        return int(text)
    return None


def request_input(request: Any) -> Input:
    cached = request.environ.get("pss.input")
    if cached is None:
        cached = request.environ["pss.input"] = Input(request)
    return cached


def parse_value(field: Field, raw: Any) -> Any:
    """A typed value for ``field`` from a raw form or JSON value (``None`` when empty)."""
    what = field.what
    if field.kind == "list":
        for item in raw or []:
            if isinstance(item, list | dict):
                raise InvalidInput(f"{what} must be a list of words or numbers.",
                                   code="invalid_field", field=field.name)
        items = [str(v).strip() for v in (raw or []) if str(v).strip()]
        for item in items:
            if field.choices and item not in field.choices:
                raise InvalidInput(f"{what} must be among {', '.join(field.choices)}, "
                                   f"not {item[:20]!r}.", code="invalid_field",
                                   field=field.name)
        return items
    if field.kind == "bool":
        if raw is None or raw == "":
            return False
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise InvalidInput(f"{what} must be yes or no.", code="invalid_field", field=field.name)
    if field.kind == "bundles" and isinstance(raw, list):
        return raw  # a JSON list of {count, price_cents}, checked by the service
    if field.kind == "object":
        if raw is None or raw == "":
            return None
        if isinstance(raw, dict):
            return raw
        raise InvalidInput(f"{what} must be an object.", code="invalid_field", field=field.name)
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    if field.kind == "int":
        if isinstance(raw, bool):
            raise InvalidInput(f"{what} must be a whole number.", code="invalid_field",
                               field=field.name)
        try:
            value = raw if isinstance(raw, int) else int(str(raw).strip().replace(",", ""))
        except ValueError:
            raise InvalidInput(f"{what} must be a whole number, not {str(raw)[:20]!r}.",
                               code="invalid_field", field=field.name) from None
        if field.minimum is not None and value < field.minimum:
            raise InvalidInput(f"{what} must be at least {field.minimum}.",
                               code="invalid_field", field=field.name)
        if value < -INT_MAX:
            raise InvalidInput(f"{what} must be at least {-INT_MAX}.",
                               code="invalid_field", field=field.name)
        maximum = INT_MAX if field.maximum is None else min(field.maximum, INT_MAX)
        if value > maximum:
            raise InvalidInput(f"{what} must be at most {maximum}.",
                               code="invalid_field", field=field.name)
        return value
    if field.kind == "money":
        return parse_money(raw, what, field.name)
    if field.kind == "datetime":
        try:
            value_dt = datetime.fromisoformat(str(raw).strip())
        except ValueError:
            raise InvalidInput(f"{what} must be a date and time like 2025-06-01T09:00.",
                               code="invalid_field", field=field.name) from None
        if value_dt.tzinfo is None:
            from datetime import UTC

            value_dt = value_dt.replace(tzinfo=UTC)
        return value_dt
    if isinstance(raw, list | dict):
        raise InvalidInput(f"{what} must be text, not a list or an object.",
                           code="invalid_field", field=field.name)
    text = str(raw) if field.kind in ("password", "text") else str(raw).strip()
    if field.max_length is not None and len(text) > field.max_length and field.kind != "text":
        raise InvalidInput(f"{what} is too long (at most {field.max_length} characters).",
                           code="invalid_field", field=field.name)
    if field.kind == "choice" and text not in field.choices:
        raise InvalidInput(f"{what} must be one of {', '.join(field.choices)}.",
                           code="invalid_field", field=field.name)
    return text


def parse_money(raw: Any, what: str = "The price", name: str = "price") -> int:
    """Cents from ``3``, ``3.5``, ``"3.50"`` or ``"$3.50"``."""
    try:
        amount = Decimal(str(raw).strip().lstrip("$").replace(",", ""))
    except InvalidOperation:
        raise InvalidInput(f"{what} must be an amount like 3.00.", code="invalid_field",
                           field=name) from None
    if not amount.is_finite():
        raise InvalidInput(f"{what} must be an amount like 3.00.", code="invalid_field",
                           field=name)
    cents = amount * 100
    if amount < 0 or cents != cents.to_integral_value():
        raise InvalidInput(f"{what} must be an amount like 3.00, not negative.",
                           code="invalid_field", field=name)
    if cents > INT_MAX:
        raise InvalidInput(f"{what} is too large.", code="invalid_field", field=name)
    return int(cents)


def parse(request: Any, fields: Sequence[Field]) -> dict[str, Any]:
    """Typed values for ``fields`` from the request; a missing required one is refused."""
    data = request_input(request)
    values: dict[str, Any] = {}
    for field in fields:
        raw = data.getall(field.name) if field.kind == "list" else data.get(field.name)
        value = parse_value(field, raw)
        if value is None or value == []:
            if field.required:
                raise InvalidInput(f"{field.what} is required.", code="missing_field",
                                   field=field.name)
            value = field.default if value is None else value
        values[field.name] = value
    return values


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
        context=context, name=name, permission=permission, renderer=template,
        request_method=("GET", "HEAD"), live=live, **settings)


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
        context=context, name=name, permission=permission, request_method=method,
        atomic=True, fields=tuple(fields), **settings)


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
    if isinstance(context, type) and "GET" in methods and isinstance(renderer_name, str) \
            and renderer_name.endswith(".html"):
        pages = registry.setdefault("pss.pages", {})
        pages[(context, info.options.get("name") or "")] = (
            view, renderer_name, info.options.get("permission"))

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
    from pss_web.security import principals_for

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
    """Pages with a ``live`` fingerprint answer ``If-None-Match`` with 304 before doing work."""
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
        request.environ["pss.etag"] = tag  # the page tells its script which version it shows
        response = view(context, request)
        response.headers.update(headers)
        return response

    return live


_live.options = ("live",)  # type: ignore[attr-defined]


def _declare(view: Any, info: Any) -> Any:
    """Collect every resource view for the OpenAPI document (nothing is written by hand)."""
    context = info.options.get("context")
    from pss_web.resources import Resource

    if info.exception_only or not (isinstance(context, type) and issubclass(context, Resource)):
        return view
    methods = info.options.get("request_method") or ("GET",)
    if isinstance(methods, str):
        methods = (methods,)
    info.registry.setdefault("pss.views", []).append(ViewDecl(
        context=context,
        name=info.options.get("name") or "",
        methods=tuple(m for m in methods if m != "HEAD"),
        permission=str(info.options.get("permission") or ""),
        doc=(getattr(info.original_view, "__doc__", None) or "").strip(),
        function=getattr(info.original_view, "__name__", "view"),
        fields=tuple(info.options.get("fields") or ()),
        live=info.options.get("live") is not None,
        template=str(getattr(info.options.get("renderer"), "name", "") or ""),
    ))
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


def _check_request(event: Any) -> None:
    """Before any view (or the CSRF check) reads them: a query string with bytes that are not
    UTF-8, a NUL or broken unicode is refused (no column can be compared with them), and so is a
    form body that cannot be read at all. The refusal's page is then shown without them."""
    request = event.request
    try:
        check_storable(list(request.GET.items()))
    except (UnicodeDecodeError, InvalidInput):
        request.environ["QUERY_STRING"] = ""
        raise InvalidInput("The address contains characters that are not valid here.",
                           code="invalid_query") from None
    if request.method not in ("GET", "HEAD") and request.content_type in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            request.POST  # noqa: B018  (parsed once here, cached for the CSRF check and views)
        except (ValueError, DeprecationWarning):
            # A multipart body without a usable boundary, say, or a charset other than UTF-8
            # (which WebOb refuses by raising DeprecationWarning).
            request.environ["CONTENT_TYPE"] = "application/octet-stream"
            raise InvalidInput("The form sent could not be read (forms are sent in UTF-8).",
                               code="invalid_form") from None


def _drop_unreadable_cookies(event: Any) -> None:
    """Cookies whose values are not UTF-8 (a quoted ``"\\377"`` decodes to such bytes) are
    dropped before anything reads them, so such a request is simply one without them."""
    from webob.cookies import parse_cookie  # type: ignore[import-untyped]

    request = event.request
    try:
        list(request.cookies.items())
    except UnicodeDecodeError:
        kept = []
        for part in request.environ.get("HTTP_COOKIE", "").split(";"):
            try:
                for name, value in parse_cookie(part):
                    name.decode("utf-8")
                    value.decode("utf-8")
            except UnicodeError:
                continue
            kept.append(part)
        request.environ["HTTP_COOKIE"] = ";".join(kept)


def includeme(config: Any) -> None:
    from pyramid.events import ContextFound, NewRequest

    config.add_subscriber(_drop_unreadable_cookies, NewRequest)
    config.add_subscriber(_check_request, ContextFound)
    config.add_view_deriver(_declare, "pss_declare", under="secured_view",
                            over="owrapped_view")
    config.add_view_deriver(_live, "pss_live")
    config.add_view_deriver(_atomic, "pss_atomic", under="pss_live")
    config.add_view_deriver(_json_twin, "pss_json_twin", under="rendered_view", over=VIEW)
