"""Restriction kinds (early bird, coupons, ...): what a plugin registers, the request pss asks a
restriction about, and the verdict it answers with. How verdicts combine is
:mod:`pss_core.services.restrictions`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from pss_core.contract.options import OptionSpec, find_option, resolve_options

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pss_core.models import Metatournament, PriceRestriction, Tournament


@attrs.frozen
class RestrictionKind:
    """A kind of restriction as a plugin registers it (``pss_register_restrictions``), and its
    behaviour. Subclass it and override :meth:`evaluate` (and :meth:`check_config` where settings
    must agree); pss calls the kind that owns a restriction, never the others.

    A subclass stays a frozen value: keep what it needs in fields, not in attributes set later.
    """

    #: The name stored in ``PriceRestriction.kind`` (``coupon``).
    name: str
    #: What organizers read ("Coupon code").
    title: str
    #: One or two sentences for the organizer choosing a kind.
    description: str = ""
    #: The organizer's settings for one restriction of this kind; the admin form is built from them.
    options: tuple[OptionSpec, ...] = ()
    #: The buyer enters a code for it (the purchase page then shows a code field).
    takes_code: bool = False

    def option(self, name: str) -> OptionSpec:
        return find_option(self.options, name, f"A {self.title} restriction has no setting")

    def resolve_config(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with ``raw``, each value parsed; unknown names are refused."""
        return resolve_options(self.options, raw, f"A {self.title} restriction has no setting")

    def check_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Called when an organizer creates or edits a restriction of this kind, after each value
        was parsed by :attr:`options`: return the settings to store (normalised), or raise
        :class:`pss_core.errors.InvalidInput` for a bad combination. Default: store them as
        they are."""
        return dict(config)

    def evaluate(
        self, session: Session, restriction: PriceRestriction, request: PriceRequest
    ) -> RestrictionVerdict:
        """Called for every active restriction of this kind on the tickets being priced (a quote,
        a purchase, a late payment), possibly while the quota and restriction rows are locked, so
        it must not commit or call the network. Return whether the tickets may be sold (or no
        opinion) and at what total price. Uses are counted by pss, not here: a restriction with
        ``max_uses`` stops applying once that many live purchases used it. Default: no
        opinion."""
        return RestrictionVerdict(available=None)


def normalise_code(code: str | None) -> str | None:
    """Codes are compared without surrounding spaces and without regard to case."""
    if code is None:
        return None
    code = code.strip()
    return code.upper() or None


@attrs.frozen
class PriceRequest:
    """What is being priced, handed to :meth:`RestrictionKind.evaluate`."""

    #: The event the tickets are in.
    event_id: int
    #: The tournament or metatournament the tickets are good in.
    scope: Tournament | Metatournament
    #: The buyer (``EventPlayer.id``), when known.
    player_id: int | None
    #: How many tickets are being priced.
    tickets: int
    #: The scope's own price for ``tickets`` (bundles applied), in cents.
    base_cents: int
    #: The moment of the quote (UTC), for time windows.
    now: datetime
    #: A code the buyer entered (coupon), stripped and upper-cased; ``None`` if none.
    code: str | None = attrs.field(default=None, converter=normalise_code)
    #: ``online``, ``desk`` or ``comp``.
    channel: str = "online"


@attrs.frozen
class RestrictionVerdict:
    """One restriction's answer for one request."""

    #: True: allows the sale; False: refuses it (``reason`` says why); None: no opinion.
    available: bool | None
    #: Total price in cents for all ``request.tickets`` if this restriction sets one.
    price_cents: int | None = attrs.field(default=None)
    #: Shown on the price breakdown ("Early bird", "Coupon SPRING").
    label: str = ""
    #: Plain words for the buyer when ``available`` is False.
    reason: str = ""
    #: The buyer's code matched this restriction.
    matched_code: bool = False

    @price_cents.validator
    def _check_price(self, attribute: Any, value: int | None) -> None:
        if value is not None and value < 0:
            raise ValueError("a restriction price cannot be negative")
