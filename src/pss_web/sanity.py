"""Input sanity checks made before any view reads the request: text no column can hold, numbers
too large for the database, query strings and form bodies that cannot be decoded, unreadable
cookies. A refusal is an :class:`~pss_core.errors.InvalidInput` like any other."""

from __future__ import annotations

from typing import Any

from pyramid.events import ContextFound, NewRequest
from webob.cookies import parse_cookie  # type: ignore[import-untyped]

from pss_core.errors import InvalidInput

#: The largest whole number an input may be: every count, number and id column is a 32-bit
#: integer (scores, the one 64-bit column, are parsed as text by their service).
INT_MAX = 2**31 - 1


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
            raise InvalidInput(
                "The text sent contains a character that cannot be stored (a NUL "
                "or a broken unicode character).",
                code="invalid_text",
                field=field,
            )
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


def check_request(event: Any) -> None:
    """Before any view (or the CSRF check) reads them: a query string with bytes that are not
    UTF-8, a NUL or broken unicode is refused (no column can be compared with them), and so is a
    form body that cannot be read at all. The refusal's page is then shown without them."""
    request = event.request
    try:
        check_storable(list(request.GET.items()))
    except (UnicodeDecodeError, InvalidInput):
        request.environ["QUERY_STRING"] = ""
        raise InvalidInput(
            "The address contains characters that are not valid here.", code="invalid_query"
        ) from None
    if request.method not in ("GET", "HEAD") and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        try:
            request.POST  # noqa: B018  (parsed once here, cached for the CSRF check and views)
        except (ValueError, DeprecationWarning):
            # A multipart body without a usable boundary, say, or a charset other than UTF-8
            # (which WebOb refuses by raising DeprecationWarning).
            request.environ["CONTENT_TYPE"] = "application/octet-stream"
            raise InvalidInput(
                "The form sent could not be read (forms are sent in UTF-8).", code="invalid_form"
            ) from None


def drop_unreadable_cookies(event: Any) -> None:
    """Cookies whose values are not UTF-8 (a quoted ``"\\377"`` decodes to such bytes) are
    dropped before anything reads them, so such a request is simply one without them."""

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
    config.add_subscriber(drop_unreadable_cookies, NewRequest)
    config.add_subscriber(check_request, ContextFound)
