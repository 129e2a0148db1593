"""Time-window pricing for pss: a ``time_window`` restriction sets a per-ticket price between two
times (an early-bird price), and can close sales outside its window altogether.

Several windows on the same tickets are OR-ed (sales are open if any window is), and of the prices
that apply the cheapest wins — so "early bird until Friday, then full price until Sunday" is two
windows. Outside its window a restriction has no opinion unless it is ``closed_outside``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

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
from pss_core.models import PriceRestriction

KIND = "time_window"


def parse_time(raw: str, name: str) -> datetime | None:
    """An ISO 8601 time with a time zone, in UTC; blank is ``None``."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{name} must be a date and time like 2026-05-01T09:00-04:00, not {raw!r}.",
            code="invalid_time",
        ) from None
    if value.tzinfo is None:
        raise InvalidInput(
            f"{name} needs a time zone (add Z for UTC, or an offset like -04:00).",
            code="invalid_time",
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:  # year 1 east of UTC, or 9999 west of it, is before or after any time
        raise InvalidInput(
            f"{name} must be a date between the years 1 and 9999, not {raw!r}.", code="invalid_time"
        ) from None


def window(config: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    return parse_time(config["starts_at"], "The start"), parse_time(config["ends_at"], "The end")


def _when(value: datetime) -> str:
    return value.strftime("%d %b %Y %H:%M UTC")


class TimeWindow(RestrictionKind):
    """A price between two times, and optionally no sales outside them."""

    def check_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        starts, ends = window(config)
        if starts is None and ends is None:
            raise InvalidInput("Give the window a start, an end, or both.", code="empty_window")
        if starts is not None and ends is not None and ends <= starts:
            raise InvalidInput("The window must end after it starts.", code="invalid_window")
        return {
            **config,
            "starts_at": starts.isoformat() if starts else "",
            "ends_at": ends.isoformat() if ends else "",
        }

    def evaluate(
        self, session: Session, restriction: PriceRestriction, request: PriceRequest
    ) -> RestrictionVerdict:
        config = restriction.config
        starts, ends = window(config)
        inside = (starts is None or starts <= request.now) and (ends is None or request.now < ends)
        if inside:
            price = config.get("price_cents")
            return RestrictionVerdict(
                available=True,
                price_cents=None if price is None else int(price) * request.tickets,
                label=restriction.name,
            )
        if not config.get("closed_outside"):
            return RestrictionVerdict(available=None)
        if starts is not None and request.now < starts:
            reason = f"Tickets for {request.scope.name} go on sale on {_when(starts)}."
        else:
            assert ends is not None
            reason = f"Ticket sales for {request.scope.name} closed on {_when(ends)}."
        return RestrictionVerdict(available=False, reason=reason, label=restriction.name)


TIME_WINDOW = TimeWindow(
    KIND,
    "Time window (early bird)",
    "A price per ticket between two times, and optionally no sales outside them.",
    options=(
        OptionSpec(
            "starts_at",
            "str",
            "",
            "Starts",
            "When the window opens, with a time zone (2026-05-01T09:00-04:00); "
            "blank: open from the start.",
        ),
        OptionSpec(
            "ends_at",
            "str",
            "",
            "Ends",
            "When the window closes (not included); blank: open to the end.",
        ),
        OptionSpec(
            "price_cents",
            "int",
            None,
            "Price per ticket (cents)",
            "The price of one ticket inside the window; blank: the usual price.",
            minimum=0,
            nullable=True,
        ),
        OptionSpec(
            "closed_outside",
            "bool",
            False,
            "No sales outside",
            "Tickets can be bought only inside this window (or another one).",
        ),
    ),
)


@hookimpl
def pss_register_restrictions(registry: Registry[RestrictionKind]) -> None:
    registry.add(TIME_WINDOW)
