"""The login service: three logins scoped to one place, throttling with a hard lockout, sessions
that expire and that logout revokes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Literal

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pss_core.models import AuditLog, Event, LoginKind, LoginSession, Role, utcnow
from pss_core.plugins import Pss
from pss_core.security import token_digest
from pss_core.services import auth, setup

CLIENT = auth.Client("198.51.100.7")
OTHER = auth.Client("198.51.100.8")


@pytest.fixture
def two_events(dbsession: Session, pss: Pss) -> tuple[Event, Event]:
    from pss_core.demo import create_demo

    demo = create_demo(dbsession, pss)
    owner2 = setup.create_user(dbsession, "owner2", password="owner2-pass", event_owner=True)
    dbsession.flush()
    other = setup.create_event(dbsession, owner2, "Other Open", slug="other")
    setup.add_event_user(dbsession, other, "desk", "other-desk-pass", [Role.DESK])
    setup.register_player(dbsession, other, "Zed", "Zero", number=101, pin="9999")
    dbsession.flush()
    return demo, other


def audit_actions(session: Session, event_id: int | None) -> list[str]:
    query = select(AuditLog.action).order_by(AuditLog.id)
    query = query.where(
        AuditLog.event_id.is_(None) if event_id is None else AuditLog.event_id == event_id
    )
    return list(session.scalars(query))


def test_staff_login_is_valid_only_in_its_event(
    dbsession: Session, two_events: tuple[Event, Event]
) -> None:
    demo, other = two_events
    token = auth.login_staff(dbsession, demo, "desk", "desk-pass", CLIENT)
    ident = auth.identity_for(dbsession, token)
    assert ident is not None
    assert (ident.kind, ident.event_id, ident.roles) == (
        LoginKind.STAFF,
        demo.id,
        frozenset({Role.DESK}),
    )
    # The same user has another password in the other event; the demo password does not work.
    with pytest.raises(auth.LoginRefused):
        auth.login_staff(dbsession, other, "desk", "desk-pass", CLIENT)
    token2 = auth.login_staff(dbsession, other, "desk", "other-desk-pass", CLIENT)
    assert auth.identity_for(dbsession, token2).event_id == other.id  # type: ignore[union-attr]
    # Only the digest is stored.
    stored = dbsession.scalars(select(LoginSession.token_hash)).all()
    assert token_digest(token) in stored
    assert token not in stored


def test_owner_is_td_and_admin_login_needs_an_owner(
    dbsession: Session, two_events: tuple[Event, Event]
) -> None:
    demo, _ = two_events
    ident = auth.identity_for(
        dbsession, auth.login_staff(dbsession, demo, "owner", "owner-pass", CLIENT)
    )
    assert ident is not None
    assert ident.is_owner
    assert Role.TOURNAMENT_DIRECTOR in ident.roles
    admin = auth.identity_for(dbsession, auth.login_admin(dbsession, "owner", "owner-pass", CLIENT))
    assert admin is not None
    assert (admin.kind, admin.event_id) == (LoginKind.ADMIN, None)
    # The desk worker has an account but owns no events: no admin login, even with the right
    # event password.
    with pytest.raises(auth.LoginRefused):
        auth.login_admin(dbsession, "desk", "desk-pass", CLIENT)


def test_player_login_and_logout_revokes(
    dbsession: Session, two_events: tuple[Event, Event]
) -> None:
    demo, other = two_events
    token = auth.login_player(dbsession, demo, "101", "4321", CLIENT)
    ident = auth.identity_for(dbsession, token)
    assert ident is not None
    assert (ident.kind, ident.player_number, ident.event_id) == (LoginKind.PLAYER, 101, demo.id)
    # Number 101 exists in the other event too, with another PIN.
    with pytest.raises(auth.LoginRefused):
        auth.login_player(dbsession, other, 101, "4321", OTHER)
    assert auth.logout(dbsession, token) is True
    assert auth.identity_for(dbsession, token) is None
    assert auth.logout(dbsession, token) is False
    assert audit_actions(dbsession, demo.id)[-2:] == ["login", "logout"]


def test_sessions_expire(dbsession: Session, two_events: tuple[Event, Event]) -> None:
    demo, _ = two_events
    now = utcnow()
    token = auth.login_player(dbsession, demo, 102, "4321", CLIENT, now=now)
    lifetime = auth.SESSION_LIFETIME[LoginKind.PLAYER]
    assert auth.identity_for(dbsession, token, now + lifetime - timedelta(seconds=1))
    assert auth.identity_for(dbsession, token, now + lifetime) is None


def test_removed_staff_lose_their_session(
    dbsession: Session, two_events: tuple[Event, Event]
) -> None:
    from pss_core.audit import SYSTEM
    from pss_core.services import admin

    demo, _ = two_events
    token = auth.login_staff(dbsession, demo, "scorekeeper", "scorekeeper-pass", CLIENT)
    assert auth.identity_for(dbsession, token) is not None
    eu = setup.event_user(dbsession, demo, "scorekeeper")
    assert eu is not None
    admin.set_event_user(dbsession, demo, eu, roles=[Role.DESK], actor=SYSTEM)
    assert auth.identity_for(dbsession, token).roles == {Role.DESK}  # type: ignore[union-attr]
    admin.remove_event_user(dbsession, demo, eu, actor=SYSTEM)
    assert auth.identity_for(dbsession, token) is None


def test_pin_lockout_after_five_failures(
    dbsession: Session, two_events: tuple[Event, Event]
) -> None:
    demo, _ = two_events
    now = utcnow()
    policy = auth.ThrottlePolicy(max_failures=5, client_max_failures=100)
    for attempt in range(4):
        with pytest.raises(auth.LoginRefused):
            auth.login_player(dbsession, demo, 103, f"000{attempt}", CLIENT, policy=policy, now=now)
    with pytest.raises(auth.LockedOut) as locked:
        auth.login_player(dbsession, demo, 103, "0009", CLIENT, policy=policy, now=now)
    assert "Ask the desk" in locked.value.message
    assert locked.value.details["retry_after"] == 15 * 60 + 1
    # Locked: even the right PIN is refused, from any device, without being checked.
    with pytest.raises(auth.LockedOut):
        auth.login_player(
            dbsession, demo, 103, "4321", OTHER, policy=policy, now=now + timedelta(minutes=14)
        )
    # Another player is not affected.
    assert auth.login_player(dbsession, demo, 104, "4321", CLIENT, policy=policy, now=now)
    # After the lockout the right PIN works, and the count starts over.
    assert auth.login_player(
        dbsession,
        demo,
        103,
        "4321",
        CLIENT,
        policy=policy,
        now=now + timedelta(minutes=15, seconds=1),
    )
    actions = audit_actions(dbsession, demo.id)
    assert actions.count("login.failed") == 5
    assert actions.count("login.locked") == 1


def test_client_lockout_across_player_numbers(
    dbsession: Session, two_events: tuple[Event, Event]
) -> None:
    demo, _ = two_events
    now = utcnow()
    policy = auth.ThrottlePolicy(max_failures=5, client_max_failures=3)
    for number in (101, 102):
        with pytest.raises(auth.LoginRefused):
            auth.login_player(dbsession, demo, number, "1111", CLIENT, policy=policy, now=now)
    with pytest.raises(auth.LockedOut) as locked:
        auth.login_player(dbsession, demo, 103, "1111", CLIENT, policy=policy, now=now)
    assert "this device" in locked.value.message
    # This device is locked for everyone; another device still gets in.
    with pytest.raises(auth.LockedOut):
        auth.login_player(dbsession, demo, 104, "4321", CLIENT, policy=policy, now=now)
    assert auth.login_player(dbsession, demo, 104, "4321", OTHER, policy=policy, now=now)


def test_failures_are_forgotten_after_the_window(
    dbsession: Session, two_events: tuple[Event, Event]
) -> None:
    demo, _ = two_events
    now = utcnow()
    policy = auth.ThrottlePolicy(
        max_failures=3, client_max_failures=100, window=timedelta(minutes=10)
    )
    for _ in range(2):
        with pytest.raises(auth.LoginRefused):
            auth.login_player(dbsession, demo, 105, "1111", CLIENT, policy=policy, now=now)
    later = now + timedelta(minutes=11)
    for _ in range(2):
        with pytest.raises(auth.LoginRefused):
            auth.login_player(dbsession, demo, 105, "1111", CLIENT, policy=policy, now=later)
    with pytest.raises(auth.LockedOut):
        auth.login_player(dbsession, demo, 105, "1111", CLIENT, policy=policy, now=later)


def test_success_clears_the_subject_count(
    dbsession: Session, two_events: tuple[Event, Event]
) -> None:
    demo, _ = two_events
    policy = auth.ThrottlePolicy(max_failures=3, client_max_failures=100)
    for _ in range(2):
        with pytest.raises(auth.LoginRefused):
            auth.login_staff(dbsession, demo, "desk", "wrong", CLIENT, policy=policy)
    auth.login_staff(dbsession, demo, "desk", "desk-pass", CLIENT, policy=policy)
    for _ in range(2):
        with pytest.raises(auth.LoginRefused):
            auth.login_staff(dbsession, demo, "desk", "wrong", CLIENT, policy=policy)
    (row,) = auth.throttles(dbsession, demo.id, ["staff:desk"])
    assert (row.failures, row.locked_until) == (2, None)


def test_desk_unlocks_a_player(dbsession: Session, two_events: tuple[Event, Event]) -> None:
    demo, _ = two_events
    policy = auth.ThrottlePolicy(max_failures=2, client_max_failures=100)
    for _ in range(2):
        with pytest.raises((auth.LoginRefused, auth.LockedOut)):
            auth.login_player(dbsession, demo, 106, "0000", CLIENT, policy=policy)
    with pytest.raises(auth.LockedOut):
        auth.login_player(dbsession, demo, 106, "4321", CLIENT, policy=policy)
    assert auth.unlock_player(dbsession, demo, 106) is True
    assert auth.login_player(dbsession, demo, 106, "4321", CLIENT, policy=policy)
    assert auth.unlock_player(dbsession, demo, 106) is False


def test_unknown_names_count_like_wrong_secrets(
    dbsession: Session, two_events: tuple[Event, Event]
) -> None:
    demo, _ = two_events
    policy = auth.ThrottlePolicy(max_failures=2, client_max_failures=100)
    with pytest.raises(auth.LoginRefused) as refused:
        auth.login_player(dbsession, demo, 999, "1234", CLIENT, policy=policy)
    # The message does not say whether the number exists.
    assert "Wrong player number or PIN" in refused.value.message
    with pytest.raises(auth.LockedOut):
        auth.login_player(dbsession, demo, 999, "1234", CLIENT, policy=policy)
    with pytest.raises(auth.LoginRefused):
        auth.login_admin(dbsession, "nobody", "x" * 8, CLIENT, policy=policy)
    assert dbsession.scalar(select(func.count(LoginSession.id))) == 0


@pytest.mark.parametrize(("number", "pin"), [("abc", "1234"), ("0", "1234"), ("101", "")])
def test_malformed_player_logins_are_invalid_input(
    dbsession: Session, two_events: tuple[Event, Event], number: str, pin: str
) -> None:
    from pss_core.errors import InvalidInput

    demo, _ = two_events
    with pytest.raises(InvalidInput):
        auth.login_player(dbsession, demo, number, pin, CLIENT)


def test_player_failures_do_not_lock_the_staff_login(
    dbsession: Session, two_events: tuple[Event, Event]
) -> None:
    demo, _ = two_events
    policy = auth.ThrottlePolicy(max_failures=50, client_max_failures=2)
    for number in (101, 102):
        with pytest.raises((auth.LoginRefused, auth.LockedOut)):
            auth.login_player(dbsession, demo, number, "1111", CLIENT, policy=policy)
    with pytest.raises(auth.LockedOut):
        auth.login_player(dbsession, demo, 103, "4321", CLIENT, policy=policy)
    # The same device may still log staff in.
    assert auth.login_staff(dbsession, demo, "desk", "desk-pass", CLIENT, policy=policy)


# --- the device-cookie scheme: the real person always gets in, guesses are bounded ------------


def test_a_device_that_logged_in_before_keeps_its_own_allowance(
    dbsession: Session, two_events: tuple[Event, Event]
) -> None:
    demo, _ = two_events
    now = utcnow()
    phone = auth.authenticate_player(dbsession, demo, 103, "4321", CLIENT, now=now)
    assert phone.device_token is not None
    trusted = auth.Client("198.51.100.7", devices=(phone.device_token,))
    # Someone elsewhere locks number 103 for every device that never logged in as it ...
    for attempt in range(5):
        with pytest.raises((auth.LoginRefused, auth.LockedOut)):
            auth.login_player(
                dbsession, demo, 103, f"000{attempt}", auth.Client(f"10.0.0.{attempt}"), now=now
            )
    with pytest.raises(auth.LockedOut):
        auth.login_player(dbsession, demo, 103, "4321", OTHER, now=now)
    # ... but the player's own phone still gets in, and needs no new device token.
    again = auth.authenticate_player(dbsession, demo, 103, "4321", trusted, now=now)
    assert again.device_token is None
    # The phone's own typos count against the phone only, up to its own limit.
    for _ in range(auth.DEFAULT_POLICY.device_max_failures - 1):
        with pytest.raises(auth.LoginRefused):
            auth.login_player(dbsession, demo, 103, "1111", trusted, now=now)
    with pytest.raises(auth.LockedOut) as locked:
        auth.login_player(dbsession, demo, 103, "1111", trusted, now=now)
    assert "this device" in locked.value.message
    # A device token is good for its own number only.
    with pytest.raises(auth.LoginRefused):
        auth.login_player(dbsession, demo, 104, "0000", trusted, now=now)
    (row,) = auth.throttles(dbsession, demo.id, ["player:104"])
    assert row.failures == 1


def test_a_shared_address_does_not_lock_out_the_players_behind_it(
    dbsession: Session, two_events: tuple[Event, Event]
) -> None:
    demo, _ = two_events
    now = utcnow()
    wifi = auth.Client("203.0.113.1")
    # Typos of several players on the venue's Wi-Fi: far more than one number's limit.
    for number in range(201, 211):
        with pytest.raises(auth.LoginRefused):
            auth.login_player(dbsession, demo, number, "0000", wifi, now=now)
    assert auth.login_player(dbsession, demo, 101, "4321", wifi, now=now)
    # A guessing address is still capped, for devices that never logged in.
    phone = auth.authenticate_player(dbsession, demo, 102, "4321", wifi, now=now)
    for number in range(211, 211 + auth.DEFAULT_POLICY.client_max_failures - 10):
        with pytest.raises((auth.LoginRefused, auth.LockedOut)):
            auth.login_player(dbsession, demo, number, "0000", wifi, now=now)
    with pytest.raises(auth.LockedOut) as locked:
        auth.login_player(dbsession, demo, 103, "4321", wifi, now=now)
    assert "this device or network" in locked.value.message
    # A phone that logged in before is not behind that lock.
    assert auth.login_player(
        dbsession,
        demo,
        102,
        "4321",
        auth.Client("203.0.113.1", devices=(phone.device_token or "",)),
        now=now,
    )


def _spray(dbsession: Session, event: Event, now: Any) -> list[str]:
    """30 addresses guess 4 PINs each over 120 numbers (nobody has that PIN)."""
    outcomes = []
    for i in range(120):
        client = auth.Client(f"192.0.2.{i // 4}")
        try:
            auth.login_player(dbsession, event, 1000 + i, "0000", client, now=now)
            outcomes.append("in")
        except auth.LockedOut:
            outcomes.append("locked")
        except auth.LoginRefused:
            outcomes.append("refused")
    return outcomes


def test_the_event_wide_cap_bounds_spraying_over_numbers_and_addresses(
    dbsession: Session, two_events: tuple[Event, Event]
) -> None:
    demo, _ = two_events
    now = utcnow()
    cap = auth.DEFAULT_POLICY.event_max_failures
    outcomes = _spray(dbsession, demo, now)
    assert outcomes.count("refused") == cap - 1
    assert outcomes.count("locked") == 120 - cap + 1
    failed = dbsession.scalar(
        select(func.count(AuditLog.id)).where(
            AuditLog.action == "login.failed", AuditLog.event_id == demo.id
        )
    )
    assert failed == cap
    # The other event and the staff login are not part of this cap.
    _, other = two_events
    assert auth.login_player(dbsession, other, 101, "9999", CLIENT, now=now)
    assert auth.login_staff(dbsession, demo, "desk", "desk-pass", CLIENT, now=now)
    # The cap lasts until its hour is over.
    with pytest.raises(auth.LockedOut) as locked:
        auth.login_player(dbsession, demo, 101, "4321", CLIENT, now=now + timedelta(minutes=59))
    assert "this event" in locked.value.message
    assert auth.login_player(dbsession, demo, 101, "4321", CLIENT, now=now + timedelta(hours=1))


def test_the_desks_unlock_lifts_every_lock_in_the_players_way(
    dbsession: Session, two_events: tuple[Event, Event]
) -> None:
    demo, _ = two_events
    now = utcnow()
    wifi = auth.Client("203.0.113.1")
    policy = auth.ThrottlePolicy(max_failures=3, client_max_failures=4, event_max_failures=7)
    # Their own number, their address and the whole event are locked by someone's guessing.
    for pin in ("0001", "0002", "0003"):
        with pytest.raises((auth.LoginRefused, auth.LockedOut)):
            auth.login_player(dbsession, demo, 105, pin, OTHER, policy=policy, now=now)
    for number in (201, 202, 203, 204):
        with pytest.raises((auth.LoginRefused, auth.LockedOut)):
            auth.login_player(dbsession, demo, number, "0000", wifi, policy=policy, now=now)
    for key in ("player:105", "client:player:203.0.113.1", "all:player"):
        (row,) = auth.throttles(dbsession, demo.id, [key])
        assert row.locked_until is not None, key
    with pytest.raises(auth.LockedOut):
        auth.login_player(dbsession, demo, 105, "4321", wifi, policy=policy, now=now)
    assert auth.unlock_player(dbsession, demo, 105, policy=policy, now=now) is True
    # The real player gets in from the locked address, on a device never seen before.
    assert auth.login_player(dbsession, demo, 105, "4321", wifi, policy=policy, now=now)
    # Nobody else's number is exempt, and 105's exemption ended with the login.
    with pytest.raises(auth.LockedOut):
        auth.login_player(dbsession, demo, 106, "4321", wifi, policy=policy, now=now)
    (row,) = auth.throttles(dbsession, demo.id, ["player:105"])
    assert row.exempt_until is None
    assert "login.unlock" in audit_actions(dbsession, demo.id)


def test_guesses_at_one_number_stay_under_a_hundred_an_hour(
    dbsession: Session, two_events: tuple[Event, Event]
) -> None:
    """OWASP ASVS 2.2.1, from a fresh address every minute (no address cap helps)."""
    demo, _ = two_events
    start = utcnow()
    for minute in range(60):
        with pytest.raises((auth.LoginRefused, auth.LockedOut)):
            auth.login_player(
                dbsession,
                demo,
                107,
                f"{minute:04d}",
                auth.Client(f"10.1.0.{minute}"),
                now=start + timedelta(minutes=minute),
            )
    failed = dbsession.scalar(
        select(func.count(AuditLog.id)).where(
            AuditLog.action == "login.failed", AuditLog.event_id == demo.id
        )
    )
    assert 0 < failed <= 100
    # 5 failures at minutes 0-4, 19-23, 38-42 and 57-59: each five locks 15 minutes.
    assert failed == 18


def test_admin_throttle_keys_are_unique(
    dbsession: Session, two_events: tuple[Event, Event]
) -> None:
    from sqlalchemy.exc import IntegrityError

    from pss_core.models import LoginThrottle

    for _ in range(2):
        with pytest.raises(auth.LoginRefused):
            auth.login_admin(dbsession, "nobody", "x" * 8, CLIENT)
    (row,) = auth.throttles(dbsession, None, ["admin:nobody"])
    assert row.failures == 2
    # The database itself refuses a second row for one admin key.
    nested = dbsession.begin_nested()
    dbsession.add(
        LoginThrottle(event_id=None, key="admin:nobody", failures=0, window_started_at=utcnow())
    )
    with pytest.raises(IntegrityError):
        dbsession.flush()
    nested.rollback()


def test_logout_ends_only_a_session_of_its_own_kind(
    dbsession: Session, two_events: tuple[Event, Event]
) -> None:
    demo, other = two_events
    admin_token = auth.login_admin(dbsession, "owner", "owner-pass", CLIENT)
    player_token = auth.login_player(dbsession, other, 101, "9999", CLIENT)
    event_kinds = {LoginKind.STAFF, LoginKind.PLAYER}
    assert auth.logout(dbsession, admin_token, kinds=event_kinds, event_id=demo.id) is False
    assert auth.logout(dbsession, player_token, kinds=event_kinds, event_id=demo.id) is False
    assert auth.identity_for(dbsession, admin_token) is not None
    assert auth.identity_for(dbsession, player_token) is not None
    assert auth.logout(dbsession, admin_token, kinds={LoginKind.ADMIN}) is True
    assert auth.logout(dbsession, player_token, kinds=event_kinds, event_id=other.id) is True


# --- constant work: one argon2 verification for every outcome ---------------------------------


class CountingHasher(PasswordHasher):
    """The real (fast) hasher, counting its verifications; safe across threads."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified = 0
        #: A pause in each verification, as a real argon2 cost would make: widens race windows.
        self.pause = 0.0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self._lock:
            self.verified += 1
        time.sleep(self.pause)
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    from pss_core import security

    counting = CountingHasher()
    monkeypatch.setattr(security, "_hasher", counting)
    return counting


def test_every_login_outcome_costs_one_verification(
    dbsession: Session, two_events: tuple[Event, Event], hasher: CountingHasher
) -> None:
    from pss_core.audit import SYSTEM
    from pss_core.services import admin

    demo, _ = two_events
    user = setup.user_by_name(dbsession, "desk")
    assert user is not None
    assert user.password_hash is None  # a staff-only account
    removed = setup.add_event_user(dbsession, demo, "gone", "gone-pass", [Role.DESK])
    admin.remove_event_user(dbsession, demo, removed, actor=SYSTEM)
    setup.create_user(dbsession, "fan", password="fan-pass")
    dbsession.flush()
    policy = auth.ThrottlePolicy(max_failures=100, client_max_failures=100)
    attempts = {
        "admin, unknown user": lambda: auth.login_admin(
            dbsession, "nobody", "pw-123456", CLIENT, policy=policy
        ),
        "admin, no password": lambda: auth.login_admin(
            dbsession, "desk", "pw-123456", CLIENT, policy=policy
        ),
        "admin, owns no events": lambda: auth.login_admin(
            dbsession, "fan", "fan-pass", CLIENT, policy=policy
        ),
        "admin, wrong password": lambda: auth.login_admin(
            dbsession, "owner", "pw-123456", CLIENT, policy=policy
        ),
        "staff, unknown user": lambda: auth.login_staff(
            dbsession, demo, "nobody", "pw-123456", CLIENT, policy=policy
        ),
        "staff, not on the staff": lambda: auth.login_staff(
            dbsession, demo, "owner2", "owner2-pass", CLIENT, policy=policy
        ),
        "staff, removed": lambda: auth.login_staff(
            dbsession, demo, "gone", "gone-pass", CLIENT, policy=policy
        ),
        "staff, wrong password": lambda: auth.login_staff(
            dbsession, demo, "desk", "pw-123456", CLIENT, policy=policy
        ),
        "player, unknown number": lambda: auth.login_player(
            dbsession, demo, 999, "1234", CLIENT, policy=policy
        ),
        "player, wrong PIN": lambda: auth.login_player(
            dbsession, demo, 101, "1234", CLIENT, policy=policy
        ),
    }
    counts = {}
    for outcome, attempt in attempts.items():
        before = hasher.verified
        with pytest.raises(auth.LoginRefused):
            attempt()
        counts[outcome] = hasher.verified - before
    assert counts == dict.fromkeys(attempts, 1)
    before = hasher.verified
    auth.login_staff(dbsession, demo, "desk", "desk-pass", CLIENT, policy=policy)
    assert hasher.verified - before == 1


def test_the_dummy_hash_is_not_made_at_import() -> None:
    """``pss --help`` imports the login code; hashing there would cost a fraction of a second."""
    probe = (
        "import argon2\n"
        "made = []\n"
        "real = argon2.PasswordHasher.hash\n"
        "argon2.PasswordHasher.hash = lambda self, *a, **k: made.append(1) or real(self, *a, **k)\n"
        "import pss_core.cli, pss_core.services.auth, pss_core.services.setup, pss_web\n"
        "from pss_core import security\n"
        "print(len(made))\n"
        "security.verify_in_constant_work(None, 'x')\n"
        "security.verify_in_constant_work(None, 'y')\n"
        "print(len(made))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    # None at import; one, made on first use and then kept.
    assert out == ["0", "1"]


# --- a brand-new key under concurrent first attempts ------------------------------------------


def _first_attempts_at_once(engine: Any, pss: Pss, hasher: CountingHasher) -> tuple[int, list[Any]]:
    from pss_core.demo import create_demo

    from .racing import run_at_once

    with Session(bind=engine, expire_on_commit=False) as s:
        event = create_demo(s, pss)
        s.commit()
    policy = auth.ThrottlePolicy(max_failures=5, client_max_failures=1000, event_max_failures=1000)
    hasher.pause = 0.05
    before = hasher.verified

    def attempt(i: int) -> Callable[[Session], str]:
        def job(s: Session) -> str:
            try:
                auth.login_player(
                    s,
                    s.get_one(Event, event.id),
                    101,
                    f"{i:04d}",
                    auth.Client(f"10.2.{i}.1"),
                    policy=policy,
                )
            except (auth.LoginRefused, auth.LockedOut) as exc:
                # Kept, as the web keeps it: a refused login commits its count.
                s.commit()
                return exc.code
            return "in"

        return job

    outcomes = run_at_once(engine, [attempt(i) for i in range(40)])
    return hasher.verified - before, outcomes


@pytest.mark.postgres_only
def test_concurrent_first_attempts_get_no_more_checks_than_the_limit(
    committed_engine: Any, pss: Pss, hasher: CountingHasher
) -> None:
    checks, outcomes = _first_attempts_at_once(committed_engine, pss, hasher)
    assert [o.kind for o in outcomes] == ["ok"] * 40
    codes = sorted(o.value for o in outcomes)
    assert checks == 5, (checks, codes)
    assert codes.count("login_failed") == 4
    assert codes.count("locked_out") == 36


@pytest.mark.postgres_only
def test_concurrent_first_attempts_race_past_the_limit_without_the_lock(
    committed_engine: Any, pss: Pss, hasher: CountingHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The negative control: without locking the subject's row before the check, the burst of
    first attempts finds no row and every one of them gets its PIN checked."""
    monkeypatch.setattr(
        auth,
        "_hold_subject",
        lambda session, event_id, key, now: auth._peek(session, event_id, key),
    )
    checks, _ = _first_attempts_at_once(committed_engine, pss, hasher)
    assert checks > 5, checks
