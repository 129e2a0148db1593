"""QR codes: a player's (for their slip, their page and the scan buttons of the desk and the
scorekeepers) and an event's (for the TV). A player's code holds the address of their public page,
which ends in their player number; it never holds a PIN."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import segno
from pyramid.httpexceptions import HTTPNotFound
from pyramid.response import FileResponse, Response
from pyramid.view import view_config

from pss_web.present import event_url
from pss_web.resources import EventResource, PlayerResource, Root
from pss_web.security import Permission

P = Permission
#: Where ``npm ci`` puts the browser libraries (``package.json`` at the top of the checkout);
#: the ``pss.node_modules`` setting may name another folder.
NODE_MODULES = Path(__file__).resolve().parents[3] / "node_modules"
#: The only files served from it, by the name pages ask for.
VENDOR_FILES = {"jsQR.js": ("jsqr", "dist", "jsQR.js")}


def qr_svg(data: str, *, scale: int = 6, dark: str = "#000", light: str = "#fff") -> bytes:
    """``data`` as a QR code in SVG, error correction M, with the quiet zone scanners need."""
    out = io.BytesIO()
    segno.make(data, error="m", micro=False).save(
        out,
        kind="svg",
        scale=scale,
        border=4,
        dark=dark,
        light=light,
        xmldecl=False,
        svgclass="qr",
        title=data,
    )
    return out.getvalue()


def player_code(request: Any, event: Any, number: int) -> str:
    return event_url(request, event, "players", number, "")


def _svg(body: bytes) -> Response:
    response = Response(body=body, content_type="image/svg+xml")
    response.cache_control.max_age = 3600
    return response


@view_config(
    context=PlayerResource, name="qr.svg", permission=P.VIEW, request_method=("GET", "HEAD")
)
def player_qr(context: PlayerResource, request: Any) -> Response:
    """The player's QR code (SVG): the address of their page, which ends in their number."""
    return _svg(qr_svg(player_code(request, context.event, context.player.number)))


@view_config(
    context=EventResource, name="qr.svg", permission=P.VIEW, request_method=("GET", "HEAD")
)
def event_qr(context: EventResource, request: Any) -> Response:
    """The event's QR code (SVG): the address of its home page, for the TV screen (on the venue
    network when ``pss serve --lan`` found it, since the TV's own browser may say localhost)."""
    address = lan_event_url(request, context.event) or event_url(request, context.event, "")
    return _svg(qr_svg(address))


def lan_event_url(request: Any, event: Any) -> str | None:
    """The event's address as phones on the venue Wi-Fi open it (``pss serve --lan``)."""
    base = request.registry.settings.get("pss.lan_url")
    return f"{base.rstrip('/')}/events/{event.slug}/" if base else None


@view_config(context=Root, name="vendor", permission=P.VIEW, request_method=("GET", "HEAD"))
def vendor_file(context: Root, request: Any) -> Response:
    """A browser library installed from npm (``/vendor/jsQR.js``), served as it was installed."""
    parts = VENDOR_FILES.get("/".join(request.subpath))
    base = Path(request.registry.settings.get("pss.node_modules") or NODE_MODULES)
    if parts is None or not base.joinpath(*parts).is_file():
        raise HTTPNotFound()
    response = FileResponse(
        str(base.joinpath(*parts)), request=request, content_type="text/javascript"
    )
    response.cache_control.max_age = 86400
    return response
