"""``pss sweep-holds`` and ``pss payments-worker`` on a database of their own."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from pss_core import cli, db
from pss_core.models import Event, EventPlayer, Purchase, PurchaseStatus, Tournament, utcnow
from pss_core.payments import online
from pss_core.payments.providers import Payments
from pss_core.payments.stripe_gateway import API_BASE_ENV, StripeProvider
from pss_testing.database import migrated_sqlite
from pss_testing.loadtest import build_shop


def test_sweep_holds_and_the_worker(tmp_path, pss, fake, monkeypatch, capsys):
    url = migrated_sqlite(tmp_path / "pss.sqlite")
    engine = db.make_engine(url)
    payments = Payments.only(StripeProvider(api_base=fake.url))
    now = utcnow()
    with Session(engine, expire_on_commit=False) as s:
        shop = build_shop(s, players=3, secret_key=fake.api_key)
        event, main = s.get_one(Event, shop.event_id), s.get_one(Tournament, shop.tournament_id)
        started = [
            online.start_online_purchase(
                s,
                pss,
                payments,
                commit=s.commit,
                event=event,
                player=s.get_one(EventPlayer, pid),
                tickets=1,
                tournament=main,
                now=at,
            )
            for pid, at in zip(
                shop.player_ids, (now - timedelta(minutes=30), now, now), strict=True
            )
        ]
    fake.succeed(started[1].payment_intent_id)

    assert cli.main(["--db", url, "sweep-holds"]) == 0
    assert capsys.readouterr().out == "1 expired hold marked cancelled.\n"

    monkeypatch.setenv(API_BASE_ENV, fake.url)
    assert cli.main(["--db", url, "payments-worker", "--once"]) == 0
    assert "paid=1" in capsys.readouterr().out
    with Session(engine) as s:
        statuses = [s.get_one(Purchase, c.purchase_id).status for c in started]
    assert statuses == [PurchaseStatus.CANCELLED, PurchaseStatus.COMPLETED, PurchaseStatus.PENDING]
    engine.dispose()
