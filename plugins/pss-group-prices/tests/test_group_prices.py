"""The group_price restriction, installed through its entry point: the group's players pay
their price (at the desk and online), others are not affected, the cheapest offer wins, and
the group is checked when it is set up."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
from pss_group_prices import KIND

from pss_core.audit import Actor
from pss_core.errors import InvalidInput
from pss_core.models import Channel, PurchaseStatus, utcnow
from pss_core.payments import online
from pss_core.services import tickets
from pss_core.services.restrictions import PriceRequest, create_restriction, evaluate


def group(shop, pss, name="Juniors", **config):
    return create_restriction(
        shop.session,
        pss,
        event_id=shop.event.id,
        kind=KIND,
        name=name,
        config=config,
        tournament=shop.main,
    )


def player(shop, number):
    return next(p for p in shop.players if p.number == number)


def quote(shop, pss, number, tickets=2):
    return evaluate(
        shop.session,
        pss,
        PriceRequest(
            event_id=shop.event.id,
            scope=shop.main,
            player_id=player(shop, number).id,
            tickets=tickets,
            base_cents=600,
            now=utcnow(),
        ),
    )


def test_installed_through_its_entry_point(installed):
    assert "group_prices" in {ep.name for ep in entry_points(group="pss")}
    assert installed.restrictions.owner(KIND) == "group_prices"


def test_config_is_checked(shop, installed):
    row = group(shop, installed, group=" Juniors ", players="105, 102 102;101", price_cents=100)
    assert row.config == {"group": "Juniors", "players": [101, 102, 105], "price_cents": 100}
    with pytest.raises(InvalidInput, match="group"):
        group(shop, installed, group="", players="101", price_cents=100)
    with pytest.raises(InvalidInput, match="List the group"):
        group(shop, installed, group="Juniors", players=" , ", price_cents=100)
    with pytest.raises(InvalidInput, match="'10a' is not a player number"):
        group(shop, installed, group="Juniors", players="101, 10a", price_cents=100)
    with pytest.raises(InvalidInput, match="price per ticket"):
        group(shop, installed, group="Juniors", players="101")


def test_the_group_pays_its_price_and_others_do_not(shop, installed):
    group(shop, installed, group="Juniors", players="102", price_cents=100)
    mine = quote(shop, installed, 102)
    assert (mine.available, mine.amount_cents, mine.winner.label) == (True, 200, "Juniors price")
    other = quote(shop, installed, 101)
    assert (other.available, other.amount_cents, other.winner) == (True, 600, None)


def test_the_cheapest_offer_wins(shop, installed):
    group(shop, installed, group="Members", players="102", price_cents=250)
    group(shop, installed, name="Juniors", group="Juniors", players="102", price_cents=150)
    assert quote(shop, installed, 102).amount_cents == 300


def test_the_group_price_at_the_desk_and_online(shop, installed):
    group(shop, installed, group="Juniors", players="102", price_cents=100)
    sold = tickets.sell_tickets(
        shop.session,
        installed,
        player=player(shop, 102),
        count=1,
        tournament=shop.main,
        channel=Channel.DESK,
        actor=Actor("desk"),
    )
    assert sold.amount_cents == 100
    held = online.reserve(
        shop.session,
        installed,
        event=shop.event,
        player=player(shop, 102),
        tickets=1,
        tournament=shop.main,
    )
    assert (held.status, held.amount_cents) == (PurchaseStatus.PENDING, 100)
