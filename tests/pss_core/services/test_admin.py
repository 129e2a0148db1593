"""Staff changes: removing someone who did work keeps their history and ends their logins at once;
a new password ends every login made with the old one."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core.audit import SYSTEM
from pss_core.models import (
    AuditLog,
    Channel,
    EventUser,
    LoginSession,
    Purchase,
    Refund,
    Role,
    Score,
    User,
)
from pss_core.security import hash_secret
from pss_core.services import admin, auth, setup

from .conftest import World

CLIENT = auth.Client("198.51.100.7")


def _member(w: World, user_id: int | None) -> EventUser:
    eu = w.session.scalars(
        select(EventUser).where(EventUser.event_id == w.event.id, EventUser.user_id == user_id)
    ).one()
    eu.password_hash = hash_secret("staff-pass")
    w.session.flush()
    return eu


def test_removing_staff_who_did_work_keeps_their_history_and_ends_logins(world: World) -> None:
    w = world
    ada = w.players[0]
    desk = _member(w, w.desk.user_id)
    sk = _member(w, w.sk.user_id)
    purchase = w.sell(ada, 2, sold_by_id=desk.id)
    w.start(ada, w.m())
    w.record(w.m(), 1_234_560)
    w.session.add(
        Refund(
            purchase_id=purchase.id,
            amount_cents=0,
            tokens=0,
            channel=Channel.DESK,
            refunded_by_id=desk.id,
        )
    )
    w.session.flush()
    username = w.session.get(User, desk.user_id).username  # type: ignore[union-attr]
    tokens = [
        auth.login_staff(w.session, w.event, username, "staff-pass", CLIENT) for _ in range(2)
    ]
    assert all(auth.identity_for(w.session, t) for t in tokens)

    for eu in (desk, sk):
        admin.remove_event_user(w.session, w.event, eu, actor=w.td)
    w.session.flush()

    # Every session of theirs ended, at once.
    assert [auth.identity_for(w.session, t) for t in tokens] == [None, None]
    assert all(
        s.revoked_at is not None
        for s in w.session.scalars(select(LoginSession).where(LoginSession.user_id == desk.user_id))
    )
    # Their work still points at them; they are marked removed, with no roles.
    w.session.expire_all()
    assert w.session.get(Purchase, purchase.id).sold_by_id == desk.id  # type: ignore[union-attr]
    assert w.session.scalars(select(Score.recorded_by_id)).all() == [sk.id]
    assert w.session.scalars(select(Refund.refunded_by_id)).all() == [desk.id]
    assert desk.removed_at is not None
    assert desk.role_set == frozenset()
    assert setup.event_user(w.session, w.event, username) is None
    assert setup.event_user(w.session, w.event, username, removed=True) is desk
    # The old password opens nothing any more.
    try:
        auth.login_staff(w.session, w.event, username, "staff-pass", CLIENT)
    except auth.LoginRefused:
        pass
    else:
        raise AssertionError("a removed staff member logged in")
    row = w.session.scalars(
        select(AuditLog).where(AuditLog.action == "event_user.remove").order_by(AuditLog.id)
    ).first()
    assert row is not None
    assert (row.details["username"], row.details["roles"], row.details["logins_ended"]) == (
        username,
        ["desk"],
        2,
    )


def test_removed_staff_come_back_with_their_old_membership(world: World) -> None:
    w = world
    desk = _member(w, w.desk.user_id)
    username = desk.user.username
    admin.remove_event_user(w.session, w.event, desk, actor=w.td)
    again = setup.add_event_user(
        w.session, w.event, username, "new-staff-pass", [Role.SCOREKEEPER], actor=w.td
    )
    assert again.id == desk.id
    assert (again.removed_at, again.role_set) == (None, frozenset({Role.SCOREKEEPER}))
    token = auth.login_staff(w.session, w.event, username, "new-staff-pass", CLIENT)
    assert auth.identity_for(w.session, token).roles == {Role.SCOREKEEPER}  # type: ignore[union-attr]


def test_a_new_password_ends_every_login_made_with_the_old_one(
    dbsession: Session, demo_event: object
) -> None:
    from pss_core.models import Event

    assert isinstance(demo_event, Event)
    event = demo_event
    eu = setup.event_user(dbsession, event, "desk")
    assert eu is not None
    laptop, phone = (
        auth.login_staff(dbsession, event, "desk", "desk-pass", CLIENT) for _ in range(2)
    )
    admin.set_event_user(
        dbsession, event, eu, roles=[Role.DESK], actor=SYSTEM, password="changed-pass"
    )
    assert auth.identity_for(dbsession, laptop) is None
    assert auth.identity_for(dbsession, phone) is None
    # Changing your own password keeps the session you did it from, and ends the others.
    laptop, phone = (
        auth.login_staff(dbsession, event, "desk", "changed-pass", CLIENT) for _ in range(2)
    )
    own = auth.identity_for(dbsession, laptop)
    assert own is not None
    admin.set_event_user(
        dbsession,
        event,
        eu,
        roles=[Role.DESK],
        actor=own.actor,
        password="changed-again",
        keep_session_id=own.session_id,
    )
    assert auth.identity_for(dbsession, laptop) is not None
    assert auth.identity_for(dbsession, phone) is None
    # Roles alone end nothing: they are read on every request.
    admin.set_event_user(dbsession, event, eu, roles=[Role.DESK, Role.SCOREKEEPER], actor=SYSTEM)
    assert auth.identity_for(dbsession, laptop).roles == {  # type: ignore[union-attr]
        Role.DESK,
        Role.SCOREKEEPER,
    }
    # Re-adding with a new password is a new password too.
    setup.add_event_user(dbsession, event, "desk", "third-pass", [Role.DESK])
    assert auth.identity_for(dbsession, laptop) is None
