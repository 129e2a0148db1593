"""The login service: three logins scoped to one place, throttling with a hard lockout, sessions
that expire and that logout revokes."""

from __future__ import annotations

from datetime import timedelta

import pytest
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
    query = query.where(AuditLog.event_id.is_(None) if event_id is None
                        else AuditLog.event_id == event_id)
    return list(session.scalars(query))


def test_staff_login_is_valid_only_in_its_event(dbsession: Session,
                                                two_events: tuple[Event, Event]) -> None:
    demo, other = two_events
    token = auth.login_staff(dbsession, demo, "desk", "desk-pass", CLIENT)
    ident = auth.identity_for(dbsession, token)
    assert ident is not None
    assert (ident.kind, ident.event_id, ident.roles) == (LoginKind.STAFF, demo.id,
                                                         frozenset({Role.DESK}))
    # The same user has another password in the other event; the demo password does not work.
    with pytest.raises(auth.LoginRefused):
        auth.login_staff(dbsession, other, "desk", "desk-pass", CLIENT)
    token2 = auth.login_staff(dbsession, other, "desk", "other-desk-pass", CLIENT)
    assert auth.identity_for(dbsession, token2).event_id == other.id  # type: ignore[union-attr]
    # Only the digest is stored.
    stored = dbsession.scalars(select(LoginSession.token_hash)).all()
    assert token_digest(token) in stored
    assert token not in stored


def test_owner_is_td_and_admin_login_needs_an_owner(dbsession: Session,
                                                    two_events: tuple[Event, Event]) -> None:
    demo, _ = two_events
    ident = auth.identity_for(dbsession, auth.login_staff(dbsession, demo, "owner", "owner-pass",
                                                          CLIENT))
    assert ident is not None
    assert ident.is_owner
    assert Role.TOURNAMENT_DIRECTOR in ident.roles
    admin = auth.identity_for(dbsession, auth.login_admin(dbsession, "owner", "owner-pass",
                                                          CLIENT))
    assert admin is not None
    assert (admin.kind, admin.event_id) == (LoginKind.ADMIN, None)
    # The desk worker has an account but owns no events: no admin login, even with the right
    # event password.
    with pytest.raises(auth.LoginRefused):
        auth.login_admin(dbsession, "desk", "desk-pass", CLIENT)


def test_player_login_and_logout_revokes(dbsession: Session,
                                         two_events: tuple[Event, Event]) -> None:
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


def test_removed_staff_lose_their_session(dbsession: Session,
                                          two_events: tuple[Event, Event]) -> None:
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


def test_pin_lockout_after_five_failures(dbsession: Session,
                                         two_events: tuple[Event, Event]) -> None:
    demo, _ = two_events
    now = utcnow()
    policy = auth.ThrottlePolicy(max_failures=5, client_max_failures=100)
    for attempt in range(4):
        with pytest.raises(auth.LoginRefused):
            auth.login_player(dbsession, demo, 103, f"000{attempt}", CLIENT, policy=policy,
                              now=now)
    with pytest.raises(auth.LockedOut) as locked:
        auth.login_player(dbsession, demo, 103, "0009", CLIENT, policy=policy, now=now)
    assert "Ask the desk" in locked.value.message
    assert locked.value.details["retry_after"] == 15 * 60 + 1
    # Locked: even the right PIN is refused, from any device, without being checked.
    with pytest.raises(auth.LockedOut):
        auth.login_player(dbsession, demo, 103, "4321", OTHER, policy=policy,
                          now=now + timedelta(minutes=14))
    # Another player is not affected.
    assert auth.login_player(dbsession, demo, 104, "4321", CLIENT, policy=policy, now=now)
    # After the lockout the right PIN works, and the count starts over.
    assert auth.login_player(dbsession, demo, 103, "4321", CLIENT, policy=policy,
                             now=now + timedelta(minutes=15, seconds=1))
    actions = audit_actions(dbsession, demo.id)
    assert actions.count("login.failed") == 5
    assert actions.count("login.locked") == 1


def test_client_lockout_across_player_numbers(dbsession: Session,
                                              two_events: tuple[Event, Event]) -> None:
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


def test_failures_are_forgotten_after_the_window(dbsession: Session,
                                                 two_events: tuple[Event, Event]) -> None:
    demo, _ = two_events
    now = utcnow()
    policy = auth.ThrottlePolicy(max_failures=3, client_max_failures=100,
                                 window=timedelta(minutes=10))
    for _ in range(2):
        with pytest.raises(auth.LoginRefused):
            auth.login_player(dbsession, demo, 105, "1111", CLIENT, policy=policy, now=now)
    later = now + timedelta(minutes=11)
    for _ in range(2):
        with pytest.raises(auth.LoginRefused):
            auth.login_player(dbsession, demo, 105, "1111", CLIENT, policy=policy, now=later)
    with pytest.raises(auth.LockedOut):
        auth.login_player(dbsession, demo, 105, "1111", CLIENT, policy=policy, now=later)


def test_success_clears_the_subject_count(dbsession: Session,
                                          two_events: tuple[Event, Event]) -> None:
    demo, _ = two_events
    policy = auth.ThrottlePolicy(max_failures=3, client_max_failures=100)
    for _ in range(2):
        with pytest.raises(auth.LoginRefused):
            auth.login_staff(dbsession, demo, "desk", "wrong", CLIENT, policy=policy)
    auth.login_staff(dbsession, demo, "desk", "desk-pass", CLIENT, policy=policy)
    for _ in range(2):
        with pytest.raises(auth.LoginRefused):
            auth.login_staff(dbsession, demo, "desk", "wrong", CLIENT, policy=policy)
    row, = auth.throttles(dbsession, demo.id, ["staff:desk"])
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


def test_unknown_names_count_like_wrong_secrets(dbsession: Session,
                                                two_events: tuple[Event, Event]) -> None:
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
        dbsession: Session, two_events: tuple[Event, Event], number: str, pin: str) -> None:
    from pss_core.errors import InvalidInput

    demo, _ = two_events
    with pytest.raises(InvalidInput):
        auth.login_player(dbsession, demo, number, pin, CLIENT)


def test_player_failures_do_not_lock_the_staff_login(dbsession: Session,
                                                     two_events: tuple[Event, Event]) -> None:
    demo, _ = two_events
    policy = auth.ThrottlePolicy(max_failures=50, client_max_failures=2)
    for number in (101, 102):
        with pytest.raises((auth.LoginRefused, auth.LockedOut)):
            auth.login_player(dbsession, demo, number, "1111", CLIENT, policy=policy)
    with pytest.raises(auth.LockedOut):
        auth.login_player(dbsession, demo, 103, "4321", CLIENT, policy=policy)
    # The same device may still log staff in.
    assert auth.login_staff(dbsession, demo, "desk", "desk-pass", CLIENT, policy=policy)
