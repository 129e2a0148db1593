"""The Stripe provider's own page: the event owner connects the event to their Stripe account.

/admin/events/<slug>/stripe             the event's own Stripe keys (its owner)
"""

from __future__ import annotations

from typing import Any

from pyramid.response import Response

from pss_core.models import Event
from pss_core.payments import accounts
from pss_web.forms import Field, parse
from pss_web.present import app_url, event_json
from pss_web.resources import AdminEventResource
from pss_web.security import Permission
from pss_web.viewkit import action, done, page

P = Permission

STRIPE_FIELDS = (
    Field("secret_key", "password", label="Secret key (sk_...)", max_length=255),
    Field("publishable_key", label="Publishable key (pk_...)", max_length=255),
    Field("webhook_secret", "password", label="Webhook signing secret (whsec_...)", max_length=255),
    Field("clear", "bool", label="Disconnect the Stripe account"),
)


def _account_json(request: Any, event: Event) -> dict[str, Any]:
    status = accounts.status(event)
    return {
        "secret_key_set": status.secret_key_set,
        "publishable_key_set": status.publishable_key_set,
        "webhook_secret_set": status.webhook_secret_set,
        "test_mode": status.test_mode,
        "online_payments": status.online_payments,
        "webhook_url": app_url(request, "events", event.slug, "stripe", "webhook"),
    }


@page(
    context=AdminEventResource,
    name="stripe",
    permission=P.EDIT_EVENT,
    template="purchases/stripe_account.html",
)
def stripe_account(context: AdminEventResource, request: Any) -> dict[str, Any]:
    """The event's own Stripe account: which keys are set (never the keys themselves) and the
    webhook address to give Stripe."""
    return {
        "event": event_json(request, context.event),
        "account": _account_json(request, context.event),
    }


@action(context=AdminEventResource, name="stripe", permission=P.EDIT_EVENT, fields=STRIPE_FIELDS)
def set_stripe_account(context: AdminEventResource, request: Any) -> Response:
    """Connect the event to its owner's Stripe account (keys left empty are kept)."""
    values = parse(request, STRIPE_FIELDS)
    accounts.set_stripe_keys(
        request.dbsession,
        context.event,
        secret_key=values["secret_key"],
        publishable_key=values["publishable_key"],
        webhook_secret=values["webhook_secret"],
        clear=values["clear"],
        actor=request.identity.actor,
    )
    return done(
        request,
        request.resource_url(context, "stripe"),
        {"account": _account_json(request, context.event)},
        message="Stripe settings saved.",
    )
