"""Which payment provider takes an event's money: the one its ``payment_provider`` names, made
once from the registered factory and the application's settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core.contract import PaymentProvider, PaymentProviderSpec, Registry
from pss_core.errors import Refused
from pss_core.models import Event, Metatournament, Tournament, TournamentStatus

if TYPE_CHECKING:
    from pss_core.plugins import Pss

#: The provider of an event that names none (the built-in one).
DEFAULT_PROVIDER = "stripe"


def provider_name(event: Event) -> str:
    """The name of the provider ``event`` takes online payments through."""
    return event.payment_provider or DEFAULT_PROVIDER


class Payments:
    """The installed payment providers, made on first use. ``made`` gives providers already
    made (a test's provider talking to a fake server), by name; they win over the registry."""

    def __init__(
        self,
        registry: Registry[PaymentProviderSpec] | None = None,
        settings: Mapping[str, Any] | None = None,
        made: Mapping[str, PaymentProvider] | None = None,
    ) -> None:
        self.registry = registry
        self.settings = dict(settings or {})
        self._made: dict[str, PaymentProvider] = dict(made or {})

    @classmethod
    def of(
        cls, pss: Pss, settings: Mapping[str, Any] | None = None, *providers: PaymentProvider
    ) -> Payments:
        """The providers ``pss`` has installed, with ``providers`` made already."""
        return cls(pss.payment_providers, settings, {p.name: p for p in providers})

    @classmethod
    def only(cls, *providers: PaymentProvider) -> Payments:
        """Just ``providers`` (a test, a load test): no other provider can be used."""
        return cls(None, {}, {p.name: p for p in providers})

    def named(self, name: str) -> PaymentProvider:
        """The provider called ``name``, made on first use; refused if it is not installed."""
        provider = self._made.get(name)
        if provider is None:
            if self.registry is None or name not in self.registry:
                raise Refused(
                    f"The payment service {name!r} is not installed, so online "
                    "payments are off. Please buy your tickets at the desk.",
                    code="unknown_payment_provider",
                )
            provider = self._made[name] = self.registry[name].factory(self.settings)
        return provider

    def for_event(self, event: Event) -> PaymentProvider:
        """The provider ``event`` takes online payments through."""
        return self.named(provider_name(event))

    def __contains__(self, name: object) -> bool:
        return name in self._made or (self.registry is not None and name in self.registry)


def takes_online_payments(pss: Pss, event: Event) -> bool:
    """Whether ``event``'s provider is installed and set up for it (no payment is made)."""
    name = provider_name(event)
    if name not in pss.payment_providers:
        return False
    return pss.payment_providers[name].factory({}).configured(event)


def sells_online(session: Session, pss: Pss, event: Event) -> bool:
    """Whether players can buy tickets online at ``event`` now: its payment provider is installed
    and set up for it, and something is on sale (a tournament that is open or running, or a
    metatournament). Links to online buying are shown only then."""
    if not takes_online_payments(pss, event):
        return False
    open_tournament = session.scalar(
        select(Tournament.id)
        .where(
            Tournament.event_id == event.id,
            Tournament.allow_ticket_purchases.is_(True),
            Tournament.status.not_in(
                (TournamentStatus.DRAFT, TournamentStatus.FINALIZED, TournamentStatus.CANCELLED)
            ),
        )
        .limit(1)
    )
    if open_tournament is not None:
        return True
    return (
        session.scalar(
            select(Metatournament.id)
            .where(
                Metatournament.event_id == event.id, Metatournament.allow_ticket_purchases.is_(True)
            )
            .limit(1)
        )
        is not None
    )
