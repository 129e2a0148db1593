"""Many buyers at once: a small online shop built straight from the models, and a runner that sends
buyers through the whole online purchase on real threads, each with its own connection — for the
race tests (with a local fake Stripe) and the purchase benchmark. Not used by pss itself."""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from pss_core import db
from pss_core.errors import DomainError
from pss_core.models import (
    Event,
    EventPlayer,
    Player,
    Purchase,
    PurchaseStatus,
    Token,
    Tournament,
    User,
    utcnow,
)
from pss_core.payments import online
from pss_core.payments.providers import Payments
from pss_core.plugins import Pss
from pss_core.services import quotas


@attrs.frozen
class Shop:
    event_id: int
    tournament_id: int
    player_ids: tuple[int, ...]


def build_shop(
    session: Session,
    *,
    players: int,
    secret_key: str,
    quota: int | None = None,
    price_cents: int = 500,
    max_unused_tickets: int | None = None,
    publishable_key: str = "pk_test_loadtest",
    webhook_secret: str = "whsec_loadtest",
) -> Shop:
    """An event on the given Stripe account with one HERB tournament and ``players`` players
    (inserted in bulk, with a placeholder PIN hash: nobody logs in here)."""
    tag = secrets.token_hex(4)
    owner = User(username=f"owner-{tag}", is_event_owner=True)
    session.add(owner)
    session.flush()
    event = Event(
        slug=f"shop-{tag}",
        name=f"Shop {tag}",
        owner_id=owner.id,
        stripe_secret_key=secret_key,
        stripe_publishable_key=publishable_key,
        stripe_webhook_secret=webhook_secret,
    )
    session.add(event)
    session.flush()
    tournament = Tournament(
        event_id=event.id,
        slug="main",
        name="Main",
        format="herb",
        format_options={},
        price_cents=price_cents,
        ticket_quota=quota,
        max_unused_tickets=max_unused_tickets,
    )
    session.add(tournament)
    session.flush()
    person_ids = session.scalars(
        insert(Player).returning(Player.id),
        [{"first_name": f"Buyer{i}", "last_name": tag} for i in range(players)],
    ).all()
    player_ids = session.scalars(
        insert(EventPlayer).returning(EventPlayer.id),
        [
            {"event_id": event.id, "player_id": pid, "number": 1000 + i, "pin_hash": "-"}
            for i, pid in enumerate(person_ids)
        ],
    ).all()
    return Shop(event.id, tournament.id, tuple(sorted(player_ids)))


@attrs.frozen
class RaceResult:
    """What the buyers got, and what the database says afterwards."""

    outcomes: Counter[str]
    seconds: float
    quota: int | None
    completed_tickets: int
    live_held_tickets: int
    paid_tokens: int
    #: The most tickets any one player holds (paid, or unpaid on a live hold).
    max_per_player: int

    @property
    def sold_or_held(self) -> int:
        return self.completed_tickets + self.live_held_tickets

    @property
    def oversold(self) -> bool:
        return self.quota is not None and self.sold_or_held > self.quota


def race(
    engine: Engine,
    pss: Pss,
    payments: Payments,
    shop: Shop,
    *,
    buyers: Sequence[int],
    succeed: Callable[[str], Any],
    pays: Callable[[int], bool] = lambda i: True,
    threads: int = 24,
    tickets: int = 1,
    code: str | None = None,
    start_together: bool = True,
    busy_retries: int = 50,
) -> RaceResult:
    """Send buyer ``i`` (player ``buyers[i]``) through the online purchase: hold, PaymentIntent,
    then — if ``pays(i)`` — the payment (``succeed(intent_id)``, e.g. ``FakeStripe.succeed``) and
    the return page's check. Buyers that do not pay keep their live hold. Outcomes are counted by
    kind: ``paid``, ``held``, a refusal's code, ``payment:<code>`` or an exception's class name.
    A step refused as ``busy`` is retried up to ``busy_retries`` times before it counts."""
    url = engine.url.render_as_string(hide_password=False)
    own = (
        db.make_engine(url, pool_size=threads, max_overflow=0)
        if engine.dialect.name == ("postgresql")
        else engine
    )
    outcomes: Counter[str] = Counter()
    gate = threading.Event()

    def until_not_busy(session: Session, step: Callable[[], Any]) -> Any:
        """Run one step of the purchase, again after a short pause while the database says
        ``busy`` (a lock held longer than the lock timeout under load): a real buyer's page
        retries too, and a step that was refused as busy changed nothing."""
        for attempt in range(busy_retries):
            try:
                return step()
            except DomainError as exc:
                session.rollback()
                if exc.code != "busy" or attempt == busy_retries - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def buyer(i: int) -> str:
        if start_together:
            gate.wait(30)
        with Session(bind=own, expire_on_commit=False) as session:
            try:
                event = session.get(Event, shop.event_id)
                player = session.get(EventPlayer, buyers[i])
                tournament = session.get(Tournament, shop.tournament_id)
                assert event is not None
                assert player is not None
                assert tournament is not None

                def hold() -> int:
                    purchase = online.reserve(
                        session,
                        pss,
                        event=event,
                        player=player,
                        tickets=tickets,
                        tournament=tournament,
                        code=code,
                    )
                    purchase_id = purchase.id
                    session.commit()
                    return purchase_id

                # The two committed steps of online.start_online_purchase, each retried alone
                # so that a buyer who holds a place never loses it to a busy answer.
                purchase_id = until_not_busy(session, hold)

                def pay_page() -> online.Checkout:
                    result = online.checkout(session, payments, purchase_id)
                    session.commit()
                    return result

                checkout = until_not_busy(session, pay_page)
                if checkout.error is not None:
                    return f"payment:{checkout.error.code}"
                if not pays(i):
                    return "held"
                assert checkout.payment_intent_id is not None
                succeed(checkout.payment_intent_id)
                settled = until_not_busy(
                    session,
                    lambda: online.confirm_from_payment_intent(
                        session, pss, payments, purchase_id, commit=session.commit
                    ),
                )
                return "paid" if settled.paid else f"settled:{settled.outcome}"
            except DomainError as exc:
                session.rollback()
                return exc.code
            except SQLAlchemyError as exc:  # a race the services did not stop: the database refused
                session.rollback()
                return type(exc).__name__

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(buyer, i) for i in range(len(buyers))]
        gate.set()
        for future in futures:
            outcomes[future.result()] += 1
    seconds = time.perf_counter() - started
    if own is not engine:
        own.dispose()
    return _tally(engine, shop, outcomes, seconds)


def _tally(engine: Engine, shop: Shop, outcomes: Counter[str], seconds: float) -> RaceResult:
    now = utcnow()
    with Session(bind=engine) as session:
        tournament = session.get(Tournament, shop.tournament_id)
        assert tournament is not None
        completed = (
            session.scalar(
                select(func.coalesce(func.sum(Purchase.tickets), 0)).where(
                    Purchase.tournament_id == shop.tournament_id,
                    Purchase.status == PurchaseStatus.COMPLETED,
                )
            )
            or 0
        )
        total = quotas.sold_or_held(session, tournament, now)
        paid = (
            session.scalar(
                select(func.count(Token.id)).where(
                    Token.tournament_id == shop.tournament_id, Token.paid_at.is_not(None)
                )
            )
            or 0
        )
        per_player = session.execute(
            select(Purchase.player_id, func.sum(Purchase.tickets))
            .where(Purchase.tournament_id == shop.tournament_id, quotas.live_purchase_filter(now))
            .group_by(Purchase.player_id)
        ).all()
        return RaceResult(
            outcomes=outcomes,
            seconds=seconds,
            quota=tournament.ticket_quota,
            completed_tickets=int(completed),
            live_held_tickets=int(total) - int(completed),
            paid_tokens=int(paid),
            max_per_player=max((int(n) for _, n in per_player), default=0),
        )
