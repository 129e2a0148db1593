"""Group prices for pss: a ``group_price`` restriction gives a group of players the TD names
(members, juniors) their own price per ticket, at the desk and online alike.

The group is the list of its players' numbers in the event, kept on the restriction itself, so a
group is set up (and changed) on the offers page like any other offer. Players outside the group
are not affected (no opinion). Where a group price and another offer (an early bird, a coupon)
both apply, the cheapest price wins, as for every offer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core import hookimpl
from pss_core.contract import (
    OptionSpec,
    PriceRequest,
    Registry,
    RestrictionKind,
    RestrictionVerdict,
)
from pss_core.errors import InvalidInput
from pss_core.models import EventPlayer, PriceRestriction

KIND = "group_price"
MAX_NUMBER = 2**31 - 1


def player_numbers(raw: Any) -> list[int]:
    """Player numbers from ``"101, 105 107"`` or a list; sorted, each once."""
    items = raw if isinstance(raw, list | tuple) else re.split(r"[\s,;]+", str(raw or ""))
    numbers: set[int] = set()
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        if not (text.isascii() and text.isdigit()) or int(text) > MAX_NUMBER:
            raise InvalidInput(
                f"{text!r} is not a player number; list numbers like 101, 105.",
                code="invalid_group_players",
            )
        numbers.add(int(text))
    return sorted(numbers)


class GroupPrice(RestrictionKind):
    """Its own price per ticket for the players of one group."""

    def check_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        group = str(config.get("group") or "").strip()
        if not group or len(group) > 60:
            raise InvalidInput(
                "Name the group (1 to 60 characters), like Juniors.", code="invalid_group_name"
            )
        numbers = player_numbers(config.get("players"))
        if not numbers:
            raise InvalidInput(
                "List the group's player numbers, like 101, 105.", code="empty_group"
            )
        if config.get("price_cents") is None:
            raise InvalidInput("Give the group's price per ticket.", code="missing_group_price")
        return {
            **config,
            "group": group,
            "players": numbers,
            "price_cents": int(config["price_cents"]),
        }

    def evaluate(
        self, session: Session, restriction: PriceRestriction, request: PriceRequest
    ) -> RestrictionVerdict:
        if request.player_id is None:
            return RestrictionVerdict(available=None)
        number = session.scalar(
            select(EventPlayer.number).where(
                EventPlayer.id == request.player_id, EventPlayer.event_id == request.event_id
            )
        )
        config = restriction.config
        if number is None or int(number) not in set(config.get("players") or ()):
            return RestrictionVerdict(available=None)
        return RestrictionVerdict(
            available=True,
            price_cents=int(config["price_cents"]) * request.tickets,
            label=f"{config['group']} price",
        )


GROUP_PRICE = GroupPrice(
    KIND,
    "Group price (members, juniors)",
    "Its own price per ticket for a group of players you name.",
    options=(
        OptionSpec("group", "str", "", "Group", "What the group is called, like Juniors."),
        OptionSpec(
            "players",
            "str",
            "",
            "Players",
            "The group's player numbers, separated by commas or spaces.",
        ),
        OptionSpec(
            "price_cents",
            "int",
            None,
            "Price per ticket (cents)",
            "What one ticket costs a player of the group.",
            minimum=0,
            nullable=True,
        ),
    ),
)


@hookimpl
def pss_register_restrictions(registry: Registry[RestrictionKind]) -> None:
    registry.add(GROUP_PRICE)
