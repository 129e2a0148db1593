"""Desk sales, comps, limits, quotas and the ticket summary (on SQLite and PostgreSQL)."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from pss_core import audit
from pss_core.errors import InvalidInput, PermissionDenied, Refused
from pss_core.models import (
    AuditLog,
    Channel,
    Purchase,
    PurchaseStatus,
    Token,
    TournamentStatus,
    utcnow,
)
from pss_core.services import quotas, setup, tickets


def test_desk_sale_prices_bundles_and_pays_tokens(world):
    ada = world.players[0]
    purchase = world.sell(ada, 11, sold_by_id=None)
    assert purchase.amount_cents == 3000
    assert purchase.channel == Channel.DESK
    assert purchase.status == PurchaseStatus.COMPLETED
    assert purchase.breakdown["lines"] == [
        {"count": 3, "size": 3, "unit_cents": 800, "cents": 2400},
        {"count": 2, "size": 1, "unit_cents": 300, "cents": 600},
    ]
    tokens = world.session.scalars(select(Token).where(Token.purchase_id == purchase.id)).all()
    assert len(tokens) == 11
    assert all(t.paid_at is not None and t.player_id == ada.id and not t.comped for t in tokens)
    s = world.summary(ada)
    assert (s.tickets, s.paid, s.used, s.voided, s.remaining) == (11, 11, 0, 0, 11)


def test_papa_ticket_makes_games_per_entry_tokens(world):
    world.tournament("classics", "papa", options={"games_per_entry": 3}, price_cents=500)
    ada = world.players[0]
    purchase = world.sell(ada, 2, "classics")
    assert len(purchase.tokens) == 6
    assert purchase.amount_cents == 1000
    assert world.summary(ada, "classics").remaining == 6


def test_comp_is_free_marked_and_ignores_minimum_and_switch(world):
    t = world.tournaments["main"]
    t.min_purchase = 3
    t.allow_ticket_purchases = False
    ada = world.players[0]
    with pytest.raises(Refused) as err:
        world.sell(ada, 3)
    assert err.value.code == "sales_closed"
    purchase = world.sell(ada, 1, channel=Channel.COMP)
    assert purchase.amount_cents == 0
    assert purchase.breakdown["comp"] is True
    assert all(t.comped for t in purchase.tokens)
    assert world.summary(ada).comped == 1
    row = world.session.scalars(select(AuditLog).where(AuditLog.action == "tickets.comp")).one()
    assert row.player_id == ada.id


def test_online_channel_is_not_a_desk_sale(world):
    with pytest.raises(InvalidInput, match="online sales go through the checkout"):
        world.sell(world.players[0], 1, channel=Channel.ONLINE)


@pytest.mark.parametrize(
    ("count", "code"),
    [(2, "below_minimum_purchase"), (5, "purchase_increment"), (0, "invalid_count")],
)
def test_minimum_and_increment(world, count, code):
    t = world.tournaments["main"]
    t.min_purchase, t.purchase_increment = 3, 3
    with pytest.raises(InvalidInput) as err:
        world.sell(world.players[0], count)
    assert err.value.code == code
    assert world.session.scalar(select(Purchase.id)) is None


def test_max_unused_tickets_counts_unused_only(world):
    t = world.tournaments["main"]
    t.max_unused_tickets = 3
    ada = world.players[0]
    world.sell(ada, 2)
    with pytest.raises(Refused) as err:
        world.sell(ada, 2)
    assert err.value.code == "max_unused_tickets"
    assert "at most 1 more" in err.value.message
    # Playing a game frees room for another ticket.
    world.start(ada, world.m())
    world.record(world.m(), 1000)
    world.sell(ada, 2)
    assert world.summary(ada).remaining == 3


def test_max_unused_counts_papa_tickets_not_games(world):
    world.tournament("classics", "papa", options={"games_per_entry": 3}, max_unused_tickets=1)
    ada = world.players[0]
    world.sell(ada, 1, "classics")
    with pytest.raises(Refused, match="already holds 1 unused ticket"):
        world.sell(ada, 1, "classics")


def test_quota_sold_out_and_only_n_left(world):
    t = world.tournaments["main"]
    t.ticket_quota = 5
    ada, bo = world.players[:2]
    world.sell(ada, 3)
    with pytest.raises(Refused) as err:
        world.sell(bo, 3)
    assert err.value.code == "quota_exceeded"
    assert err.value.message == "Only 2 tickets left for Main; 3 cannot be sold."
    world.sell(bo, 2)
    with pytest.raises(Refused, match="Main is sold out") as err:
        world.sell(bo, 1)
    assert err.value.details["available"] == 0


def test_quota_counts_live_holds_but_not_expired_or_cancelled(world):
    t = world.tournaments["main"]
    t.ticket_quota = 10
    ada = world.players[0]
    now = utcnow()
    for status, expires, n in [
        (PurchaseStatus.PENDING, now + timedelta(minutes=5), 3),
        (PurchaseStatus.PENDING, now - timedelta(minutes=1), 4),
        (PurchaseStatus.CANCELLED, None, 2),
        (PurchaseStatus.COMPLETED, None, 1),
    ]:
        world.session.add(
            Purchase(
                event_id=world.event.id,
                player_id=ada.id,
                tournament_id=t.id,
                tickets=n,
                amount_cents=0,
                channel=Channel.ONLINE,
                status=status,
                hold_expires_at=expires,
            )
        )
    world.session.flush()
    assert quotas.sold_or_held(world.session, t, now) == 4
    assert quotas.available(world.session, t, now) == 6
    t.ticket_quota = None
    assert quotas.available(world.session, t, now) is None


def test_online_hold_building_blocks(world):
    """What the online checkout does: a held sale, unpaid tokens, then paid."""
    t = world.tournaments["main"]
    t.max_unused_tickets = 4
    ada = world.players[0]
    s, pss = world.session, world.pss
    now = utcnow()
    quote = tickets.prepare_sale(s, pss, player=ada, count=3, tournament=t, channel=Channel.ONLINE)
    assert quote.amount_cents == 800
    tickets.lock_for_sale(s, quote)
    tickets.check_sale(s, pss, quote, now=now)
    purchase = tickets.new_purchase(
        quote, status=PurchaseStatus.PENDING, hold_expires_at=now + timedelta(minutes=15)
    )
    held = tickets.issue_tokens(s, purchase, quote, paid_at=None)
    assert all(tok.paid_at is None for tok in held)
    summary = world.summary(ada)
    assert (summary.paid, summary.held_unpaid, summary.remaining) == (0, 3, 0)
    # The hold counts towards the player's limit: only 1 more may be sold at the desk.
    with pytest.raises(Refused, match="at most 1 more"):
        world.sell(ada, 2)
    # Not usable before it is paid.
    assert tickets.usable_tokens(s, pss, t, player_id=ada.id) == []
    assert tickets.pay_tokens(s, purchase, now) == 3
    assert len(tickets.usable_tokens(s, pss, t, player_id=ada.id)) == 3


def test_limited_herb_entry_cap(world):
    world.tournament("limited", "limited_herb", options={"max_entries": 3})
    ada = world.players[0]
    world.sell(ada, 2, "limited")
    with pytest.raises(Refused) as err:
        world.sell(ada, 2, "limited")
    assert err.value.code == "entry_cap_reached"


def test_sales_refused_when_tournament_is_finalized(world):
    world.tournaments["main"].status = TournamentStatus.FINALIZED
    with pytest.raises(Refused, match="finalized"):
        world.sell(world.players[0], 1)


def test_player_from_another_event_is_refused(world, dbsession, pss):
    from .conftest import build_world

    other = build_world(dbsession, pss, players=1)
    with pytest.raises(InvalidInput) as err:
        world.sell(other.players[0], 1)
    assert err.value.code == "wrong_event"


def test_metatournament_tickets_and_summary(world):
    day1 = world.tournament("day1", "herb")
    day2 = world.tournament("day2", "herb")
    meta = setup.create_metatournament(
        world.session,
        world.event,
        "Classics",
        [day1, day2],
        slug="classics-meta",
        price_cents=200,
        bundles=[{"count": 5, "price_cents": 800}],
    )
    ada = world.players[0]
    purchase = world.sell(ada, 6, meta)
    assert purchase.amount_cents == 1000
    assert purchase.metatournament_id == meta.id
    rows = tickets.ticket_summary(world.session, ada)
    assert [(r.scope, r.slug, r.remaining) for r in rows] == [
        ("metatournament", "classics-meta", 6)
    ]
    # A meta token is used only after the tournament's own tokens.
    world.sell(ada, 1, "day1")
    order = tickets.usable_tokens(world.session, world.pss, day1, player_id=ada.id)
    assert order[0].tournament_id == day1.id
    assert {t.metatournament_id for t in order[1:]} == {meta.id}
    world.start(ada, world.m("day1"))
    world.record(world.m("day1"), 10)
    world.start(ada, world.m("day2"))
    world.record(world.m("day2"), 10)
    by_slug = {r.slug: r for r in tickets.ticket_summary(world.session, ada)}
    assert (by_slug["day1"].used, by_slug["day1"].remaining) == (1, 0)
    assert (by_slug["classics-meta"].used, by_slug["classics-meta"].remaining) == (1, 5)


def test_empty_metatournament_cannot_sell(world):
    meta = setup.create_metatournament(world.session, world.event, "Empty", [], slug="empty")
    with pytest.raises(Refused) as err:
        world.sell(world.players[0], 1, meta)
    assert err.value.code == "empty_metatournament"


def test_team_tournament_tokens_belong_to_the_team(world):
    world.tournament("split", "team", options={"team_size": 2}, price_cents=400)
    ada, bo, cy = world.players[:3]
    team = world.team("Flippers", ada, bo)
    purchase = world.sell(ada, 2, "split")
    assert purchase.team_id == team.id
    assert {(t.team_id, t.player_id) for t in purchase.tokens} == {(team.id, None)}
    # Bo sees the team's tokens in their summary too.
    s = world.summary(bo, "split")
    assert (s.team_id, s.remaining, s.tickets) == (team.id, 2, 2)
    with pytest.raises(Refused) as err:
        world.sell(cy, 1, "split")
    assert err.value.code == "not_on_team"


def test_every_sale_is_audited_with_the_remaining_summary(world):
    ada = world.players[0]
    purchase = world.sell(ada, 3)
    rows = audit.player_history(world.session, world.event.id, ada.id)
    sale = [r for r in rows if r.action == "tickets.sell"]
    assert len(sale) == 1
    d = sale[0].details
    assert sale[0].subject_id == purchase.id
    assert sale[0].actor == "desk"
    assert d["amount_cents"] == 800
    assert d["tickets_left"] == [
        {
            "scope": "tournament",
            "slug": "main",
            "team_id": None,
            "paid": 3,
            "used": 0,
            "voided": 0,
            "remaining": 3,
            "held_unpaid": 0,
        }
    ]


def test_summary_counts_refunded_and_in_play(world):
    ada = world.players[0]
    purchase = world.sell(ada, 4)
    purchase.tokens[-1].refunded_at = utcnow()
    world.start(ada, world.m())
    s = world.summary(ada)
    assert (s.paid, s.refunded, s.in_play, s.remaining, s.used) == (4, 1, 1, 3, 0)


def test_a_player_cannot_use_the_desk(world):
    from pss_core.audit import Actor

    ada = world.players[0]
    with pytest.raises(PermissionDenied):
        world.sell(ada, 1, actor=Actor("ada", player_id=ada.id))
