"""Coupon codes for pss: a ``coupon`` restriction takes a percentage or an amount off a purchase
when the buyer enters its code, at most ``max_uses`` times.

Uses are counted by pss from the purchases that used the coupon (completed ones and live holds),
under a lock on the coupon taken after the quota's, so a code is never used more often than
allowed, however many buyers enter it at once. When a coupon and another price (an early bird) both
apply, the cheapest price wins and the coupon is not used up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from pss_core import audit, hookimpl
from pss_core.audit import Actor
from pss_core.errors import InvalidInput
from pss_core.formats import OptionSpec
from pss_core.models import Metatournament, PriceRestriction, Tournament
from pss_core.plugins import Pss
from pss_core.registry import Registry
from pss_core.restrictions import (
    PriceRequest,
    RestrictionKind,
    RestrictionVerdict,
    create_restriction,
    normalise_code,
)

KIND = "coupon"

COUPON = RestrictionKind(
    KIND,
    "Coupon code",
    "A percentage or an amount off a purchase for buyers who enter the code.",
    options=(
        OptionSpec("code", "str", "", "Code", "What the buyer types (letters and digits)."),
        OptionSpec("percent_off", "int", None, "Percent off",
                   "Take this percentage off the purchase.", minimum=1, maximum=100,
                   nullable=True),
        OptionSpec("amount_off_cents", "int", None, "Amount off (cents)",
                   "Take this amount off the purchase (never below zero).", minimum=1,
                   nullable=True),
    ),
    takes_code=True,
)


def discounted(base_cents: int, config: Mapping[str, Any]) -> int:
    """The price after the coupon; a percentage's fraction of a cent stays with the organizer."""
    if config.get("percent_off") is not None:
        return base_cents - base_cents * int(config["percent_off"]) // 100
    return max(base_cents - int(config["amount_off_cents"]), 0)


@hookimpl
def pss_register_restrictions(registry: Registry[RestrictionKind]) -> None:
    registry.add(COUPON)


@hookimpl
def pss_check_restriction_config(
    kind: RestrictionKind, config: Mapping[str, Any]
) -> dict[str, Any] | None:
    if kind.name != KIND:
        return None
    code = normalise_code(config.get("code"))
    if code is None or not code.replace("-", "").isalnum() or len(code) > 40:
        raise InvalidInput("A coupon code is 1 to 40 letters, digits or dashes.",
                           code="invalid_coupon_code")
    if (config.get("percent_off") is None) == (config.get("amount_off_cents") is None):
        raise InvalidInput("Give a coupon either a percentage or an amount off, not both.",
                           code="invalid_coupon_discount")
    return {**config, "code": code}


@hookimpl
def pss_evaluate_restriction(
    session: Session, restriction: PriceRestriction, request: PriceRequest
) -> RestrictionVerdict | None:
    if restriction.kind != KIND:
        return None
    config = restriction.config
    if request.code is None or request.code != config["code"]:
        return RestrictionVerdict(available=None)
    return RestrictionVerdict(
        available=True,
        price_cents=discounted(request.base_cents, config),
        label=f"Coupon {config['code']}",
        matched_code=True,
    )


def create_coupon(
    session: Session,
    pss: Pss,
    *,
    event_id: int,
    code: str,
    percent_off: int | None = None,
    amount_off_cents: int | None = None,
    max_uses: int | None = None,
    tournament: Tournament | None = None,
    metatournament: Metatournament | None = None,
    name: str | None = None,
    actor: Actor = audit.SYSTEM,
) -> PriceRestriction:
    """A coupon for one tournament, one metatournament, or (neither given) every ticket."""
    return create_restriction(
        session, pss, event_id=event_id, kind=KIND, name=name or f"Coupon {code.strip()}",
        config={"code": code, "percent_off": percent_off, "amount_off_cents": amount_off_cents},
        tournament=tournament, metatournament=metatournament, max_uses=max_uses, actor=actor,
    )
