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

from pss_core import hookimpl
from pss_core.contract import (
    OptionSpec,
    PriceRequest,
    Registry,
    RestrictionKind,
    RestrictionVerdict,
    normalise_code,
)
from pss_core.errors import InvalidInput
from pss_core.models import PriceRestriction

KIND = "coupon"


def discounted(base_cents: int, config: Mapping[str, Any]) -> int:
    """The price after the coupon; a percentage's fraction of a cent stays with the organizer."""
    if config.get("percent_off") is not None:
        return base_cents - base_cents * int(config["percent_off"]) // 100
    return max(base_cents - int(config["amount_off_cents"]), 0)


def coupon_config(
    code: str, *, percent_off: int | None = None, amount_off_cents: int | None = None
) -> dict[str, Any]:
    """The settings of a coupon, for ``pss_core.services.restrictions.create_restriction(...,
    kind=KIND, config=coupon_config(...))``."""
    return {"code": code, "percent_off": percent_off, "amount_off_cents": amount_off_cents}


class Coupon(RestrictionKind):
    """A percentage or an amount off for buyers who enter the code."""

    def check_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        code = normalise_code(config.get("code"))
        if code is None or not code.replace("-", "").isalnum() or len(code) > 40:
            raise InvalidInput(
                "A coupon code is 1 to 40 letters, digits or dashes.", code="invalid_coupon_code"
            )
        if (config.get("percent_off") is None) == (config.get("amount_off_cents") is None):
            raise InvalidInput(
                "Give a coupon either a percentage or an amount off, not both.",
                code="invalid_coupon_discount",
            )
        return {**config, "code": code}

    def evaluate(
        self, session: Session, restriction: PriceRestriction, request: PriceRequest
    ) -> RestrictionVerdict:
        config = restriction.config
        if request.code is None or request.code != config["code"]:
            return RestrictionVerdict(available=None)
        return RestrictionVerdict(
            available=True,
            price_cents=discounted(request.base_cents, config),
            label=f"Coupon {config['code']}",
            matched_code=True,
        )


COUPON = Coupon(
    KIND,
    "Coupon code",
    "A percentage or an amount off a purchase for buyers who enter the code.",
    options=(
        OptionSpec("code", "str", "", "Code", "What the buyer types (letters and digits)."),
        OptionSpec(
            "percent_off",
            "int",
            None,
            "Percent off",
            "Take this percentage off the purchase.",
            minimum=1,
            maximum=100,
            nullable=True,
        ),
        OptionSpec(
            "amount_off_cents",
            "int",
            None,
            "Amount off (cents)",
            "Take this amount off the purchase (never below zero).",
            minimum=1,
            nullable=True,
        ),
    ),
    takes_code=True,
)


@hookimpl
def pss_register_restrictions(registry: Registry[RestrictionKind]) -> None:
    registry.add(COUPON)
