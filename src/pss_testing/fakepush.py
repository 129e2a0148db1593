"""A push service on 127.0.0.1 for tests, standing in for the browser vendors' (which cannot be
reached here): it hands out subscriptions as a browser's ``PushManager.subscribe()`` would, and for
each message it receives checks the VAPID signature (RFC 8292) and decrypts the body with the
subscription's private key (RFC 8291, ``aes128gcm``), keeping what it read.

    with FakePush() as push:
        sub = push.subscription()          # {"endpoint": ..., "keys": {"p256dh": ..., "auth": ...}}
        ...                                # pss pushes to it
        (message,) = push.wait_for(1)      # message.data is the decrypted JSON
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

__all__ = ["FakePush", "PushMessage"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class PushMessage:
    """One message as the push service got it."""

    subscription: str
    #: The decrypted body, parsed as JSON.
    data: Any
    ttl: int
    #: The VAPID claims (``aud``, ``exp``, ``sub``), verified against the sender's key.
    claims: dict[str, Any]
    #: The sender's VAPID public key (``k=``), base64url.
    sender_key: str


@dataclass
class _Subscription:
    key: ec.EllipticCurvePrivateKey
    auth: bytes
    #: Answer the next deliveries with these statuses (e.g. 410: the browser unsubscribed).
    statuses: list[int] = field(default_factory=list)


class FakePush:
    """Thread-safe; use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(self) -> None:
        self._subs: dict[str, _Subscription] = {}
        self.messages: list[PushMessage] = []
        #: Requests refused for a bad signature, a wrong audience or an undecryptable body.
        self.rejected: list[str] = []
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None

    # -- running -------------------------------------------------------------------------

    def start(self) -> FakePush:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status = fake._receive(self.path, dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakePush:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- what a browser does ---------------------------------------------------------------

    def subscription(self) -> dict[str, Any]:
        """A new browser subscription: its endpoint here and the keys messages are encrypted
        for (the JSON a browser's ``PushSubscription.toJSON()`` gives)."""
        name = secrets.token_urlsafe(12)
        key = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        with self._cond:
            self._subs[name] = _Subscription(key, auth)
        public = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"{self.url}/push/{name}",
            "keys": {"p256dh": _b64(public), "auth": _b64(auth)},
        }

    def answer_next(self, endpoint: str, status: int) -> None:
        """Answer the next message to ``endpoint`` with ``status`` instead of taking it."""
        with self._cond:
            self._subs[endpoint.rsplit("/", 1)[-1]].statuses.append(status)

    def wait_for(self, count: int, timeout: float = 60) -> list[PushMessage]:
        """The messages once at least ``count`` arrived (``timeout`` only as a safety net)."""
        with self._cond:
            self._cond.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)

    # -- receiving -------------------------------------------------------------------------

    def _receive(self, path: str, headers: dict[str, str], body: bytes) -> int:
        name = path.rsplit("/", 1)[-1]
        with self._cond:
            sub = self._subs.get(name)
            if sub is None:
                return 404
            if sub.statuses:
                return sub.statuses.pop(0)
        lower = {k.lower(): v for k, v in headers.items()}
        try:
            claims, sender = self._verify(lower.get("authorization", ""))
            if lower.get("content-encoding") != "aes128gcm":
                raise ValueError(f"content encoding {lower.get('content-encoding')!r}")
            plain = http_ece.decrypt(body, private_key=sub.key, auth_secret=sub.auth)
            data = json.loads(plain)
        except (ValueError, InvalidSignature, KeyError) as exc:
            with self._cond:
                self.rejected.append(f"{type(exc).__name__}: {exc}")
            return 400
        message = PushMessage(name, data, int(lower.get("ttl", "0")), claims, sender)
        with self._cond:
            self.messages.append(message)
            self._cond.notify_all()
        return 201

    def _verify(self, authorization: str) -> tuple[dict[str, Any], str]:
        """RFC 8292: ``vapid t=<JWT signed ES256>, k=<public key>``; the audience is this
        server's origin and the token has not expired."""
        scheme, _, rest = authorization.partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError(f"authorization scheme {scheme!r}")
        parts = dict(p.strip().split("=", 1) for p in rest.split(","))
        token, sender = parts["t"], parts["k"]
        header_b64, claims_b64, signature_b64 = token.split(".")
        header = json.loads(_unb64(header_b64))
        if header.get("alg") != "ES256":
            raise ValueError(f"JWT algorithm {header.get('alg')!r}")
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(sender))
        raw = _unb64(signature_b64)
        signature = encode_dss_signature(
            int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        )
        public.verify(
            signature, f"{header_b64}.{claims_b64}".encode("ascii"), ec.ECDSA(hashes.SHA256())
        )
        claims = json.loads(_unb64(claims_b64))
        origin = urlsplit(self.url)
        if claims.get("aud") != f"{origin.scheme}://{origin.netloc}":
            raise ValueError(f"audience {claims.get('aud')!r}")
        if int(claims.get("exp", 0)) < time.time():
            raise ValueError("the token has expired")
        return claims, sender
