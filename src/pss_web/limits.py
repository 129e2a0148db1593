"""How large a request body may be: one small limit for every URL, larger only where a route is
registered for it with :func:`add_body_limit`. A body over its limit is answered 413 before
anything reads or parses it.

    config.add_body_limit(r"^/events/[^/]+/stripe/webhook$", 1024 * 1024)

The limit is checked on ``Content-Length`` (nothing is read) and, for a body sent without one
(chunked), on the bytes actually streamed (at most one byte past the limit is read). The server
in front (see :mod:`pss_web.serving`) bounds every body to ``SERVER_MAX_BODY_BYTES`` anyway, so
no route can allow more than that.
"""

from __future__ import annotations

import io
import re
from typing import Any

from pyramid.renderers import render_to_response
from pyramid.tweens import EXCVIEW

from pss_web.viewkit import json_response, wants_json

#: Every request body: forms and JSON actions are a few kilobytes (``pss.max_body_bytes``).
DEFAULT_MAX_BODY_BYTES = 64 * 1024
#: Stripe's events carry whole objects (a charge with its refunds): room for the largest.
WEBHOOK_MAX_BODY_BYTES = 1024 * 1024
#: The bound the server itself enforces before the app sees a request; larger than any route's.
SERVER_MAX_BODY_BYTES = 2 * 1024 * 1024

_LIMITS = "pss.body_limits"


def add_body_limit(config: Any, path_pattern: str, max_bytes: int) -> None:
    """Allow bodies of up to ``max_bytes`` on the paths matching ``path_pattern`` (a regular
    expression searched in the request's path), instead of the small global limit."""
    if not 0 < max_bytes <= SERVER_MAX_BODY_BYTES:
        raise ValueError(f"a body limit is 1 to {SERVER_MAX_BODY_BYTES} bytes, not {max_bytes}")
    config.registry.setdefault(_LIMITS, []).append((re.compile(path_pattern), max_bytes))


def body_limit(registry: Any, path: str) -> int:
    """The largest body a request to ``path`` may send."""
    for pattern, max_bytes in registry.get(_LIMITS, ()):
        if pattern.search(path):
            return int(max_bytes)
    return int(registry.settings.get("pss.max_body_bytes", DEFAULT_MAX_BODY_BYTES))


def too_large(request: Any, limit: int) -> Any:
    message = f"The request is too large: at most {limit:,} bytes may be sent here."
    if wants_json(request):
        response = json_response(
            {"error": "body_too_large", "message": message, "limit": limit}, status=413
        )
    else:
        response = render_to_response(
            "error.html",
            {
                "error": {"code": "body_too_large", "message": message},
                "status": 413,
            },
            request=request,
        )
        response.status_code = 413
    # No "Connection: close": the server deals with the unread rest (waitress has buffered the
    # body, up to its own bound, before the app is called), and forcing the close made waitress
    # leave that buffer's temporary file open.
    return response


def body_limit_tween_factory(handler: Any, registry: Any) -> Any:
    def body_limit_tween(request: Any) -> Any:
        # The raw path: one that is not UTF-8 is refused later, as not found.
        limit = body_limit(registry, request.environ.get("PATH_INFO", ""))
        # A body within its (small) limit is kept in memory when WebOb copies it, not spooled
        # to a temporary file past 10 KiB as it otherwise does.
        request.request_body_tempfile_limit = limit
        length = request.content_length
        if length is not None:
            if length > limit:
                return too_large(request, limit)
            return handler(request)
        environ = request.environ
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked or environ.get("wsgi.input_terminated"):
            # No length said: read what is streamed, up to one byte past the limit.
            body = environ["wsgi.input"].read(limit + 1)
            if len(body) > limit:
                return too_large(request, limit)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            environ.pop("wsgi.input_terminated", None)
        return handler(request)

    return body_limit_tween


def includeme(config: Any) -> None:
    config.add_directive("add_body_limit", add_body_limit)
    # Just above the exception view (inside the transaction, which the refusal's page may use
    # to learn who is logged in): nothing has touched the body yet.
    config.add_tween(
        "pss_web.limits.body_limit_tween_factory", under="pyramid_tm.tm_tween_factory", over=EXCVIEW
    )
    config.add_body_limit(r"^/events/[^/]+/stripe/webhook/?$", WEBHOOK_MAX_BODY_BYTES)
