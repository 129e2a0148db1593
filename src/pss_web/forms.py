"""Form and JSON input of actions: the declared :class:`Field` of each input, the submitted
values of a request (``request.submitted``), and :func:`parse`, which turns them into typed values
or refuses them with a message that names the field."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from pss_core import timezones
from pss_core.errors import InvalidInput
from pss_web.sanity import INT_MAX, check_storable
from pss_web.zones import zone_name

JSON_TYPE = "application/json"

FIELD_KINDS = (
    "str",
    "text",
    "int",
    "bool",
    "money",
    "list",
    "password",
    "choice",
    "datetime",
    "object",
    "bundles",
)


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
            "str": {"type": "string"},
            "text": {"type": "string"},
            "password": {"type": "string", "format": "password"},
            "int": {"type": "integer"},
            "bool": {"type": "boolean"},
            "money": {
                "type": "string",
                "pattern": r"^\d+(\.\d{1,2})?$",
                "description": "an amount like 3.00",
            },
            "list": {"type": "array", "items": {"type": "string"}},
            "choice": {"type": "string"},
            "datetime": {"type": "string", "format": "date-time"},
            "object": {"type": "object"},
            "bundles": {
                "oneOf": [
                    {"type": "string", "description": "like '3 for 8.00; 7 for 15.00'"},
                    {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["count", "price_cents"],
                            "properties": {
                                "count": {"type": "integer", "minimum": 2},
                                "price_cents": {"type": "integer", "minimum": 0},
                            },
                        },
                    },
                ]
            },
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
                raise InvalidInput(
                    "The request body is not valid JSON.", code="invalid_json"
                ) from None
            if not isinstance(body, dict):
                raise InvalidInput("The request body must be a JSON object.", code="invalid_json")
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


def request_input(request: Any) -> Input:
    """The submitted values of ``request``, read once (``request.submitted``)."""
    cached = request.environ.get("pss.input")
    if cached is None:
        cached = request.environ["pss.input"] = Input(request)
    return cached


def parse_value(field: Field, raw: Any, zone: str | None = None) -> Any:
    """A typed value for ``field`` from a raw form or JSON value (``None`` when empty)."""
    what = field.what
    if field.kind == "list":
        for item in raw or []:
            if isinstance(item, list | dict):
                raise InvalidInput(
                    f"{what} must be a list of words or numbers.",
                    code="invalid_field",
                    field=field.name,
                )
        items = [str(v).strip() for v in (raw or []) if str(v).strip()]
        for item in items:
            if field.choices and item not in field.choices:
                raise InvalidInput(
                    f"{what} must be among {', '.join(field.choices)}, not {item[:20]!r}.",
                    code="invalid_field",
                    field=field.name,
                )
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
            raise InvalidInput(
                f"{what} must be a whole number.", code="invalid_field", field=field.name
            )
        try:
            value = raw if isinstance(raw, int) else int(str(raw).strip().replace(",", ""))
        except ValueError:
            raise InvalidInput(
                f"{what} must be a whole number, not {str(raw)[:20]!r}.",
                code="invalid_field",
                field=field.name,
            ) from None
        if field.minimum is not None and value < field.minimum:
            raise InvalidInput(
                f"{what} must be at least {field.minimum}.", code="invalid_field", field=field.name
            )
        if value < -INT_MAX:
            raise InvalidInput(
                f"{what} must be at least {-INT_MAX}.", code="invalid_field", field=field.name
            )
        maximum = INT_MAX if field.maximum is None else min(field.maximum, INT_MAX)
        if value > maximum:
            raise InvalidInput(
                f"{what} must be at most {maximum}.", code="invalid_field", field=field.name
            )
        return value
    if field.kind == "money":
        return parse_money(raw, what, field.name)
    if field.kind == "datetime":
        try:
            value_dt = datetime.fromisoformat(str(raw).strip())
        except ValueError:
            raise InvalidInput(
                f"{what} must be a date and time like 2025-06-01T09:00.",
                code="invalid_field",
                field=field.name,
            ) from None
        try:
            # A time without an offset is a wall-clock time where the event happens. Stored in
            # UTC: an offset can push year 1 or 9999 past what a datetime holds.
            return timezones.from_local(value_dt, zone, field=field.name)
        except OverflowError:
            raise InvalidInput(
                f"{what} is out of range; use a date between the years 1 and 9999.",
                code="invalid_field",
                field=field.name,
            ) from None
    if isinstance(raw, list | dict):
        raise InvalidInput(
            f"{what} must be text, not a list or an object.", code="invalid_field", field=field.name
        )
    text = str(raw) if field.kind in ("password", "text") else str(raw).strip()
    if field.max_length is not None and len(text) > field.max_length and field.kind != "text":
        raise InvalidInput(
            f"{what} is too long (at most {field.max_length} characters).",
            code="invalid_field",
            field=field.name,
        )
    if field.kind == "choice" and text not in field.choices:
        raise InvalidInput(
            f"{what} must be one of {', '.join(field.choices)}.",
            code="invalid_field",
            field=field.name,
        )
    return text


#: An amount as typed: digits, at most one decimal point. No sign, exponent, NaN or Infinity:
#: ``1E+999999999`` overflows Decimal arithmetic and ``1E-999999999`` rounds to nothing.
_AMOUNT = re.compile(r"[0-9]*\.?[0-9]*")
#: Longer than any amount a column holds (21474836.47), so Decimal never sees a huge number.
_AMOUNT_MAX_CHARS = 24


def parse_money(raw: Any, what: str = "The price", name: str = "price") -> int:
    """Cents from ``3``, ``3.5``, ``"3.50"``, ``"1,000.00"`` or ``"$3.50"``."""
    text = str(raw).strip().lstrip("$").replace(",", "")
    if text.startswith("-") and _AMOUNT.fullmatch(text[1:]) and text.strip("-.0") != "":
        raise InvalidInput(
            f"{what} must be an amount like 3.00, not negative.", code="invalid_field", field=name
        )
    text = text.removeprefix("-")  # minus zero is zero
    if isinstance(raw, bool) or not _AMOUNT.fullmatch(text) or not any(c.isdigit() for c in text):
        raise InvalidInput(f"{what} must be an amount like 3.00.", code="invalid_field", field=name)
    if len(text) > _AMOUNT_MAX_CHARS:
        raise InvalidInput(f"{what} is too large.", code="invalid_field", field=name)
    try:
        amount = Decimal(text)
    except InvalidOperation:  # pragma: no cover  (the pattern admits only plain decimals)
        raise InvalidInput(
            f"{what} must be an amount like 3.00.", code="invalid_field", field=name
        ) from None
    cents = amount * 100
    if amount < 0 or cents != cents.to_integral_value():
        raise InvalidInput(
            f"{what} must be an amount like 3.00, not negative.", code="invalid_field", field=name
        )
    if cents > INT_MAX:
        raise InvalidInput(f"{what} is too large.", code="invalid_field", field=name)
    return int(cents)


def parse(request: Any, fields: Sequence[Field], *, zone: str | None = None) -> dict[str, Any]:
    """Typed values for ``fields`` from the request; a missing required one is refused. Times
    without an offset are read in ``zone`` (default: the event's)."""
    data = request_input(request)
    if zone is None and any(f.kind == "datetime" for f in fields):
        zone = zone_name(request)
    values: dict[str, Any] = {}
    for field in fields:
        raw = data.getall(field.name) if field.kind == "list" else data.get(field.name)
        value = parse_value(field, raw, zone)
        if value is None or value == []:
            if field.required:
                raise InvalidInput(
                    f"{field.what} is required.", code="missing_field", field=field.name
                )
            value = field.default if value is None else value
        values[field.name] = value
    return values


def includeme(config: Any) -> None:
    config.add_request_method(request_input, "submitted", reify=True)
