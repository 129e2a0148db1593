"""Web Push: a player's browser subscribes on their page, and every message to that player
(:mod:`pss_core.notify`) is also pushed there, encrypted for that browser (RFC 8291) and signed
with the instance's VAPID key (RFC 8292), so it reaches a phone whose pss page is closed.

A plugin on the ``pss_notify`` hook like any other delivery, registered through pss's own entry
points; it needs the ``push`` extra (``pywebpush``) and does nothing without it.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pss_core import audit, hookimpl
from pss_core.audit import Actor
from pss_core.contract import GameResult, PlayerNotification
from pss_core.errors import InvalidInput
from pss_core.models import EventPlayer, PushKeys, PushSubscription, utcnow
from pss_core.notify import tell
from pss_core.services import occupants

log = logging.getLogger("pss.push")

#: Who push services may contact about this instance (the VAPID ``sub`` claim).
CONTACT_ENV = "PSS_PUSH_CONTACT"
#: Deliveries that may fail in a row before a subscription is dropped.
MAX_FAILURES = 5
#: How long a push service keeps a message for a phone that is off (seconds).
TTL = 15 * 60


def available() -> bool:
    """Whether the ``push`` extra (pywebpush) is installed."""
    try:
        import pywebpush  # noqa: F401, PLC0415  the optional extra, looked for when asked
    except ImportError:
        return False
    return True


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key(session: Session) -> str | None:
    """The instance's VAPID public key, if it has been made (reading never makes it)."""
    return session.scalar(select(PushKeys.public_key).where(PushKeys.name == "vapid"))


#: Who makes the keys when no person asked for them (a delivery before any key request).
SYSTEM = Actor.system("push")


def vapid_keys(session: Session, *, actor: Actor = SYSTEM, event_id: int | None = None) -> PushKeys:
    """The instance's VAPID key pair, made (and committed by the caller) on first use, with an
    audit row naming ``actor``; two processes making it at once keep the one stored first."""
    keys = session.scalars(select(PushKeys).where(PushKeys.name == "vapid")).first()
    if keys is not None:
        return keys
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415  push extra
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415  push extra

    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    keys = PushKeys(name="vapid", private_pem=pem, public_key=_b64(public))
    try:
        with session.begin_nested():
            session.add(keys)
            session.flush()
            audit.record(
                session, actor, "push.keys_made", event_id=event_id, public_key=keys.public_key
            )
    except IntegrityError:
        keys = session.scalars(select(PushKeys).where(PushKeys.name == "vapid")).one()
    return keys


def _key(text: str, size: int, field: str, what: str) -> str:
    try:
        raw = _unb64(text.strip())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size or (field == "p256dh" and raw[:1] != b"\x04"):
        raise InvalidInput(
            f"The browser's {what} is not valid; allow notifications again.",
            code="invalid_push_subscription",
            field=field,
        )
    return _b64(raw)


def _check_endpoint(endpoint: str, *, allow_http: bool) -> str:
    url = urlsplit(endpoint.strip())
    local = url.hostname in ("127.0.0.1", "localhost", "::1")
    if url.scheme == "https" and url.hostname and not local:
        return endpoint.strip()
    if allow_http and url.scheme in ("http", "https") and local:
        return endpoint.strip()
    raise InvalidInput(
        "Notifications can only be sent through the browser's own push service (an https "
        "address); allow notifications again.",
        code="invalid_push_subscription",
        field="endpoint",
    )


def subscribe(
    session: Session,
    player: EventPlayer,
    *,
    endpoint: str,
    p256dh: str,
    auth: str,
    actor: Actor,
    allow_http: bool = False,
) -> PushSubscription:
    """Keep a browser's subscription for ``player`` (the same browser subscribing again, or for
    another player after a new login, replaces its earlier one). ``allow_http`` admits a push
    service on this machine over plain http (tests, a local relay)."""
    endpoint = _check_endpoint(endpoint, allow_http=allow_http)
    if len(endpoint) > 1000:
        raise InvalidInput(
            "The browser's push address is too long.",
            code="invalid_push_subscription",
            field="endpoint",
        )
    p256dh = _key(p256dh, 65, "p256dh", "encryption key")
    auth = _key(auth, 16, "auth", "authentication secret")
    sub = session.scalars(
        select(PushSubscription).where(PushSubscription.endpoint == endpoint)
    ).first()
    if sub is None:
        sub = PushSubscription(endpoint=endpoint, event_id=player.event_id, player_id=player.id)
        session.add(sub)
    sub.event_id, sub.player_id = player.event_id, player.id
    sub.p256dh, sub.auth = p256dh, auth
    sub.failures, sub.last_error = 0, None
    audit.record(session, actor, "push.subscribe", event_id=player.event_id, player_id=player.id)
    session.flush()
    return sub


def unsubscribe(session: Session, player: EventPlayer, *, endpoint: str, actor: Actor) -> bool:
    """Forget a browser's subscription of ``player``; False if there was none."""
    sub = session.scalars(
        select(PushSubscription).where(
            PushSubscription.endpoint == endpoint.strip(),
            PushSubscription.player_id == player.id,
        )
    ).first()
    if sub is None:
        return False
    session.delete(sub)
    audit.record(session, actor, "push.unsubscribe", event_id=player.event_id, player_id=player.id)
    session.flush()
    return True


def subscriptions(session: Session, player_ids: list[int]) -> list[PushSubscription]:
    if not player_ids:
        return []
    return list(
        session.scalars(
            select(PushSubscription)
            .where(PushSubscription.player_id.in_(player_ids))
            .order_by(PushSubscription.id)
        )
    )


def payload(notification: PlayerNotification) -> dict[str, Any]:
    """What the service worker shows: a title, the message, and the event page to open."""
    titles = {
        "queue_next": "You're up next",
        "your_turn": "Your turn",
        "game_recorded": "Game recorded",
    }
    return {
        "title": titles.get(notification.kind, "Pinball"),
        "body": notification.message,
        "kind": notification.kind,
        "tag": f"pss-{notification.kind}-{notification.player_id}",
        "notification_id": notification.notification_id,
    }


def send(session: Session, sub: PushSubscription, data: dict[str, Any]) -> bool:
    """Push ``data`` to one browser. A push service that says the subscription is gone (404,
    410) or too many failures in a row drop it; other failures are kept on it."""
    from pywebpush import WebPushException, webpush  # noqa: PLC0415  the push extra

    keys = vapid_keys(session)
    contact = os.environ.get(CONTACT_ENV) or "mailto:pss@localhost"
    try:
        webpush(
            {"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}},
            data=json.dumps(data),
            vapid_private_key=_vapid(keys),
            vapid_claims={"sub": contact},
            timeout=10,
            ttl=TTL,
        )
    except WebPushException as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status in (404, 410):
            session.delete(sub)
            return False
        return _failed(session, sub, f"the push service refused it: {status} {exc.message}")
    except OSError as exc:
        return _failed(session, sub, f"the push service could not be reached: {exc}")
    sub.failures, sub.last_error, sub.last_sent_at = 0, None, utcnow()
    return True


def _vapid(keys: PushKeys) -> Any:
    from py_vapid import Vapid02  # noqa: PLC0415  the push extra

    return Vapid02.from_pem(keys.private_pem.encode("ascii"))


def _failed(session: Session, sub: PushSubscription, error: str) -> bool:
    sub.failures += 1
    sub.last_error = error[:2000]
    if sub.failures >= MAX_FAILURES:
        log.info("push subscription %s dropped after %s failures: %s", sub.id, sub.failures, error)
        session.delete(sub)
    return False


@hookimpl
def pss_notify(session: Session, notification: PlayerNotification) -> bool | None:
    """Push the message to every browser of the player that subscribed. Delivered (True) stops
    the other deliveries, so a player with push gets "you're up next" there, not also by
    e-mail; without a subscription (or pywebpush) the next delivery is asked."""
    subs = subscriptions(session, [notification.player_id])
    if not subs or not available():
        return None
    data = payload(notification)
    delivered = [send(session, sub, data) for sub in subs]
    session.flush()
    return True if any(delivered) else None


@hookimpl
def pss_game_finished(session: Session, result: GameResult) -> None:
    """ "Your game was recorded", for players whose browser subscribed to push (their page
    shows the score anyway; without a subscription nothing is written)."""
    if result.voided or result.score is None:
        return
    entry = result.entry
    if entry.team_id is not None:
        people = occupants.members_of(session, entry.team_id)
    else:
        people = [entry.player_id] if entry.player_id is not None else []
    subscribed = sorted({s.player_id for s in subscriptions(session, people)})
    machine = result.machine.machine.name
    for player_id in subscribed:
        tell(
            session,
            PlayerNotification(
                event_id=result.machine.event_id,
                player_id=player_id,
                kind="game_recorded",
                message=f"Your game on {machine} was recorded: {result.score:,}.",
                details={
                    "machine": machine,
                    "tournament": result.tournament.name,
                    "score": result.score,
                },
            ),
        )
