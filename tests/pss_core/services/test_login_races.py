"""The address and event caps on player logins under a burst of simultaneous wrong PINs
(PostgreSQL, real threads): no burst gets more guesses answered than the cap, and the real player
still gets in.

What protects: the login service's row lock (``SELECT ... FOR UPDATE`` in ``auth._locked_row``) on
the address's and the event's throttle rows, taken after the PIN check and before the failure is
counted; an attempt that finds the cap filled meanwhile gets no verdict. No database constraint
takes part in the counting (the unique index on the key only keeps one row per key, which the
brand-new-key race in ``test_auth`` covers), so the negative controls turn off only that lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Literal

import attrs
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core.demo import DEMO_PIN, create_demo
from pss_core.models import AuditLog, Event
from pss_core.plugins import Pss
from pss_core.services import auth

from .racing import GATE_TIMEOUT, run_at_once

pytestmark = pytest.mark.postgres_only

#: The cap under test (the subject's own limit is the same, but every guess is at another number).
CAP = 5
#: Wrong PINs sent at once. Every attempt holds a connection while it waits at the gate, so this
#: stays within the engine's pool (5 + 10 overflow) with the real player's attempt beside it.
BURST = 12
REAL = auth.Client("198.51.100.200")
ADDRESS_CAP = auth.ThrottlePolicy(
    max_failures=CAP, client_max_failures=CAP, event_max_failures=1000
)
EVENT_CAP = auth.ThrottlePolicy(max_failures=CAP, client_max_failures=1000, event_max_failures=CAP)


class GatedHasher(PasswordHasher):
    """The real (fast) hasher; while a gate is set, every verification waits until the whole burst
    is verifying, so every attempt has passed the throttles' first look before any is counted and
    they all count at once: the worst case for the caps."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.gate: threading.Barrier | None = None

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        if self.gate is not None:
            self.gate.wait(GATE_TIMEOUT)
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> GatedHasher:
    from pss_core import security

    gated = GatedHasher()
    monkeypatch.setattr(security, "_hasher", gated)
    return gated


@attrs.frozen
class Burst:
    #: The burst's outcome codes (``in``, ``login_failed``, ``locked_out``), sorted.
    codes: list[str]
    #: Guesses that got a verdict: failures counted (one ``login.failed`` audit row each), in the
    #: burst and before it, from the addresses under test.
    answered: int
    real: str | None


def _attempt(
    event_id: int, number: int, pin: str, client: auth.Client, policy: auth.ThrottlePolicy
) -> Callable[[Session], str]:
    def job(s: Session) -> str:
        try:
            auth.login_player(
                s,
                s.get(Event, event_id),  # type: ignore[arg-type]
                number,
                pin,
                client,
                policy=policy,
            )
        except (auth.LoginRefused, auth.LockedOut) as exc:
            s.commit()  # kept, as the web keeps it: a refused login commits its count
            return exc.code
        return "in"

    return job


def _burst(
    engine: Any,
    pss: Pss,
    hasher: GatedHasher,
    policy: auth.ThrottlePolicy,
    attackers: list[auth.Client],
    *,
    with_real_player: bool,
    arm: Callable[[], None] = lambda: None,
) -> Burst:
    with Session(bind=engine, expire_on_commit=False) as s:
        event = create_demo(s, pss)
        s.commit()
        # The real player's phone logged in yesterday: it holds a device token.
        phone = auth.authenticate_player(s, event, 101, DEMO_PIN, REAL)
        s.commit()
    # One earlier wrong guess, so the address and event rows exist and hold a count: the burst
    # then races on rows that are there, not on creating them.
    with Session(bind=engine, expire_on_commit=False) as s:
        assert _attempt(event.id, 900, "0000", attackers[0], policy)(s) == "login_failed"
    jobs = [
        _attempt(event.id, 1000 + i, "0000", client, policy) for i, client in enumerate(attackers)
    ]
    if with_real_player:
        # From another address, on a new device; where the whole event is capped, from the phone
        # it logged in on before (or the desk unlocks the number: ``test_auth``).
        real = (
            auth.Client("198.51.100.201")
            if policy is ADDRESS_CAP
            else attrs.evolve(REAL, devices=(phone.device_token or "",))
        )
        jobs.append(_attempt(event.id, 101, DEMO_PIN, real, policy))
    arm()
    hasher.gate = threading.Barrier(len(jobs))
    try:
        outcomes = run_at_once(engine, jobs, timeout=2 * GATE_TIMEOUT)
    finally:
        hasher.gate = None
    assert [o.kind for o in outcomes] == ["ok"] * len(jobs), outcomes
    codes = [str(o.value) for o in outcomes]
    real_code = codes.pop() if with_real_player else None
    addresses = {c.address for c in attackers}
    with Session(engine) as s:
        failed = s.scalars(
            select(AuditLog.details).where(
                AuditLog.action == "login.failed", AuditLog.event_id == event.id
            )
        ).all()
    answered = sum(1 for d in failed if d.get("address") in addresses)
    return Burst(sorted(codes), answered, real_code)


def _expected(codes: list[str]) -> dict[str, int]:
    return {code: codes.count(code) for code in ("in", "login_failed", "locked_out")}


def _one_address() -> list[auth.Client]:
    return [auth.Client("203.0.113.9")] * BURST


def _many_addresses() -> list[auth.Client]:
    return [auth.Client(f"10.3.{i}.1") for i in range(BURST)]


@pytest.mark.parametrize(
    ("policy", "attackers"),
    [(ADDRESS_CAP, _one_address()), (EVENT_CAP, _many_addresses())],
    ids=["per-address", "per-event"],
)
def test_a_burst_of_wrong_pins_gets_no_more_answers_than_the_cap(
    committed_engine: Any,
    pss: Pss,
    hasher: GatedHasher,
    policy: auth.ThrottlePolicy,
    attackers: list[auth.Client],
) -> None:
    burst = _burst(committed_engine, pss, hasher, policy, attackers, with_real_player=True)
    counts = _expected(burst.codes)
    # The guess before the burst was the first of the cap; the one that fills it is told so.
    assert burst.answered == CAP, (burst, counts)
    assert counts == {"in": 0, "login_failed": CAP - 2, "locked_out": BURST - CAP + 2}, burst
    assert burst.real == "in", burst


@pytest.mark.parametrize(
    ("policy", "attackers", "key"),
    [
        (ADDRESS_CAP, _one_address(), "client:player:203.0.113.9"),
        (EVENT_CAP, _many_addresses(), "all:player"),
    ],
    ids=["per-address", "per-event"],
)
def test_a_burst_of_wrong_pins_gets_past_the_cap_without_the_row_lock(
    committed_engine: Any,
    pss: Pss,
    hasher: GatedHasher,
    monkeypatch: pytest.MonkeyPatch,
    policy: auth.ThrottlePolicy,
    attackers: list[auth.Client],
    key: str,
) -> None:
    """The negative control: the capped row read without ``FOR UPDATE``; every attempt has read
    it before any writes (a gate makes that certain), so each counts on the same old value."""
    read_all = threading.Barrier(BURST)
    real_locked_row = auth._locked_row

    def unlocked_row(session: Session, event_id: int | None, row_key: str, now: Any) -> Any:
        if row_key != key:
            return real_locked_row(session, event_id, row_key, now)
        auth._ensure_row(session, event_id, row_key, now)
        row = auth._peek(session, event_id, row_key)
        read_all.wait(GATE_TIMEOUT)
        return row

    burst = _burst(
        committed_engine,
        pss,
        hasher,
        policy,
        attackers,
        with_real_player=False,
        arm=lambda: monkeypatch.setattr(auth, "_locked_row", unlocked_row),
    )
    counts = _expected(burst.codes)
    # The violation itself: more guesses answered than the cap allows.
    assert burst.answered > CAP, (burst, counts)
    assert counts["login_failed"] > CAP - 2, (burst, counts)
