"""The address phones on the venue Wi-Fi open: this laptop's own address on the local network,
found without the internet (nothing is sent anywhere), and a QR code of it for the terminal."""

from __future__ import annotations

import contextlib
import io
import ipaddress
import socket
from collections.abc import Callable, Iterable

import segno

#: Connecting a UDP socket only picks the interface a packet would leave by; none is sent. A
#: private address is used so that the route asked about is the local network's.
PROBE = "10.255.255.255"


def local_addresses(probe: str = PROBE) -> list[str]:
    """This machine's IPv4 addresses: the one its route to ``probe`` would use, then those its
    host name resolves to (offline, from the hosts file or the local resolver)."""
    found: list[str] = []
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect((probe, 9))
        found.append(sock.getsockname()[0])
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.append(str(info[4][0]))
    return list(dict.fromkeys(found))


def is_lan(address: str) -> bool:
    """A private or link-local IPv4 address: one phones on the same Wi-Fi can reach."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return (
        ip.version == 4
        and not ip.is_loopback
        and (ip.is_private or ip.is_link_local)
        and not ip.is_unspecified
    )


def lan_address(candidates: Callable[[], Iterable[str]] = local_addresses) -> str | None:
    """The best address for phones: a private one before a link-local one (what a laptop gets
    when the venue router hands out none); ``None`` with no network at all."""
    usable = [a for a in candidates() if is_lan(a)]
    usable.sort(key=lambda a: ipaddress.ip_address(a).is_link_local)
    return usable[0] if usable else None


def terminal_qr(data: str) -> str:
    """``data`` as a QR code drawn with block characters, for a terminal."""
    out = io.StringIO()
    segno.make(data, error="m", micro=False).terminal(out=out, compact=True, border=2)
    return out.getvalue()
