"""How ``pss serve`` runs the app: waitress with its limits set on purpose, so that slow or idle
clients (120 half-open connections stopped the default setup) and huge bodies cannot take the
server down. In production a reverse proxy sits in front (see docs/deployment.rst); these limits
still hold when it does not.
"""

from __future__ import annotations

from typing import Any

from pss_web.limits import SERVER_MAX_BODY_BYTES

#: waitress's settings for ``pss serve``. Each is chosen, not inherited:
SERVE_OPTIONS: dict[str, Any] = {
    # Workers running views; a request waits for a free one, a connection does not hold one.
    "threads": 8,
    # Open connections before waitress stops accepting new ones (its default, 100, is what 120
    # idle sockets used up). Idle sockets cost a file descriptor and a little memory each.
    "connection_limit": 1000,
    # poll() instead of select(): select() cannot watch descriptors past 1024.
    "asyncore_use_poll": True,
    # A connection that sends nothing for this long is closed (its default is 120 seconds),
    # checked every ``cleanup_interval`` seconds.
    "channel_timeout": 20,
    "cleanup_interval": 5,
    # Request line and headers together (its default is 256 KiB; browsers send a few KiB).
    "max_request_header_size": 32 * 1024,
    # The outer bound on any body (its default is 1 GiB); the app's own limits are smaller.
    "max_request_body_size": SERVER_MAX_BODY_BYTES,
    # Pending connections the kernel queues while all are busy.
    "backlog": 1024,
    "ident": "pss",
}


def server_options(**overrides: Any) -> dict[str, Any]:
    """:data:`SERVE_OPTIONS` with ``overrides`` (host, port, trusted_proxy, ...)."""
    return {**SERVE_OPTIONS, **overrides}


def create_server(app: Any, **overrides: Any) -> Any:
    """A waitress server for ``app`` with pss's limits (not yet running: call ``.run()``)."""
    import waitress  # noqa: PLC0415  waitress loads when a server starts

    return waitress.create_server(app, **server_options(**overrides))


def serve(app: Any, **overrides: Any) -> None:
    """Serve ``app`` until interrupted."""
    import waitress  # noqa: PLC0415  waitress loads when a server starts

    waitress.serve(app, **server_options(**overrides))
