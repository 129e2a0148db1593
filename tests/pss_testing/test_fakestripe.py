"""FakeStripe driven by the real ``stripe`` library: payments, faults, idempotency, webhooks."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from pss_testing.fakestripe import FakeStripe, parse_form, sign_webhook

WEBHOOK_SECRET = "whsec_test_secret"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeStripe) -> FakeStripe:
    server.reset()
    return server


def _client(fake: FakeStripe, http: stripe.HTTPClient, retries: int = 0) -> stripe.StripeClient:
    return stripe.StripeClient(
        fake.api_key,
        base_addresses={"api": fake.url},
        max_network_retries=retries,
        http_client=http,
    )


@pytest.fixture
def http() -> Iterator[stripe.HTTPClient]:
    client = stripe.RequestsClient()
    yield client
    client.close()


@pytest.fixture
def client(fake: FakeStripe, http: stripe.HTTPClient) -> stripe.StripeClient:
    return _client(fake, http)


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """stripe-python sleeps >= 0.5 s between retries; shrink that to keep the suite fast."""
    monkeypatch.setattr(stripe.HTTPClient, "INITIAL_DELAY", 0.01)
    monkeypatch.setattr(stripe.HTTPClient, "MAX_DELAY", 0.02)


def _create(client: stripe.StripeClient, amount: int = 1500, **extra: Any) -> stripe.PaymentIntent:
    params: Any = {"amount": amount, "currency": "usd", **extra}
    return client.v1.payment_intents.create(params)


def _raw(
    fake: FakeStripe, method: str, path: str, data: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """A browser-like request without the stripe library (no Authorization header)."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(fake.url + path, data=body, method=method)
    request.add_header("Origin", "http://shop.example")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), exc.read()


# ----------------------------------------------------------------------------- payments


def test_create_and_confirm_succeeds(fake: FakeStripe, client: stripe.StripeClient) -> None:
    pi = _create(client, metadata={"purchase_id": "12"}, description="Entry fee")
    assert pi.id.startswith("pi_")
    assert pi.object == "payment_intent"
    assert pi.status == "requires_payment_method"
    assert pi.livemode is False
    assert str(pi.client_secret).startswith(f"{pi.id}_secret_")
    assert pi.metadata["purchase_id"] == "12"
    assert abs(pi.created - time.time()) < 60

    confirmed = client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_visa"})
    assert confirmed.status == "succeeded"
    assert confirmed.amount_received == 1500
    assert isinstance(confirmed.latest_charge, str)
    assert confirmed.latest_charge.startswith("ch_")
    assert fake.payment_intents[pi.id]["status"] == "succeeded"
    assert fake.requests[0].params["metadata"] == {"purchase_id": "12"}
    assert [e["type"] for e in fake.events][-1] == "payment_intent.succeeded"

    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_visa"})
    assert excinfo.value.code == "payment_intent_unexpected_state"


def test_retrieve_unknown_is_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.payment_intents.retrieve("pi_doesnotexist")
    assert excinfo.value.http_status == 404
    assert excinfo.value.code == "resource_missing"


def test_invalid_params_rejected(fake: FakeStripe, client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        _create(client, amount=0)
    assert excinfo.value.param == "amount"
    typo: Any = {"amout": 5, "currency": "usd"}
    with pytest.raises(stripe.InvalidRequestError, match="unknown parameter: amout"):
        client.v1.payment_intents.create(typo)
    assert fake.payment_intents == {}


@pytest.mark.parametrize(
    ("payment_method", "decline_code", "message"),
    [
        ("pm_card_chargeDeclined", "generic_decline", "Your card was declined."),
        ("pm_card_visa_chargeDeclined", "generic_decline", "Your card was declined."),
        (
            "pm_card_chargeDeclinedInsufficientFunds",
            "insufficient_funds",
            "Your card has insufficient funds.",
        ),
    ],
)
def test_decline_raises_card_error_and_leaves_pi_unpaid(
    fake: FakeStripe,
    client: stripe.StripeClient,
    payment_method: str,
    decline_code: str,
    message: str,
) -> None:
    pi = _create(client)
    with pytest.raises(stripe.CardError) as excinfo:
        client.v1.payment_intents.confirm(pi.id, {"payment_method": payment_method})
    err = excinfo.value
    assert err.http_status == 402
    assert err.code == "card_declined"
    assert err.user_message == message
    assert err.error is not None
    assert err.error.decline_code == decline_code
    assert err.error.payment_intent is not None
    assert err.error.payment_intent.id == pi.id

    after = client.v1.payment_intents.retrieve(pi.id)
    assert after.status == "requires_payment_method"
    assert after.amount_received == 0
    assert after.last_payment_error is not None
    assert after.last_payment_error.decline_code == decline_code


def test_decline_next_overrides_payment_method(
    client: stripe.StripeClient, fake: FakeStripe
) -> None:
    pi = _create(client)
    fake.decline_next("insufficient_funds")
    with pytest.raises(stripe.CardError) as excinfo:
        client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_visa"})
    assert excinfo.value.error is not None
    assert excinfo.value.error.decline_code == "insufficient_funds"
    # Only the next confirm declines: retrying the same card now works.
    ok = client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_visa"})
    assert ok.status == "succeeded"


def test_cancel(client: stripe.StripeClient) -> None:
    pi = _create(client)
    canceled = client.v1.payment_intents.cancel(pi.id, {"cancellation_reason": "abandoned"})
    assert canceled.status == "canceled"
    assert canceled.cancellation_reason == "abandoned"
    paid = _create(client, payment_method="pm_card_visa", confirm=True)
    assert paid.status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.payment_intents.cancel(paid.id)
    assert excinfo.value.code == "payment_intent_unexpected_state"


def test_succeed_helper_marks_paid(fake: FakeStripe, client: stripe.StripeClient) -> None:
    pi = _create(client)
    fake.succeed(pi.id)
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"
    with pytest.raises(ValueError, match="succeeded"):
        fake.succeed(pi.id)


def test_wrong_api_key_is_authentication_error(fake: FakeStripe, http: stripe.HTTPClient) -> None:
    bad = stripe.StripeClient(
        "sk_test_wrong", base_addresses={"api": fake.url}, max_network_retries=0, http_client=http
    )
    with pytest.raises(stripe.AuthenticationError) as excinfo:
        _create(bad)
    assert excinfo.value.http_status == 401
    assert fake.payment_intents == {}


def test_legacy_global_api_base(fake: FakeStripe, monkeypatch: pytest.MonkeyPatch) -> None:
    http = stripe.RequestsClient()
    monkeypatch.setattr(stripe, "api_key", fake.api_key)
    monkeypatch.setattr(stripe, "api_base", fake.url)
    monkeypatch.setattr(stripe, "default_http_client", http)
    try:
        pi = stripe.PaymentIntent.create(amount=700, currency="eur")
        assert stripe.PaymentIntent.retrieve(pi.id).amount == 700
    finally:
        http.close()
    assert list(fake.payment_intents) == [pi.id]


def test_urllib_http_client(fake: FakeStripe) -> None:
    client = _client(fake, stripe.UrllibClient())
    pi = _create(client)
    assert client.v1.payment_intents.retrieve(pi.id).status == "requires_payment_method"
    fake.fail_next("drop_before")
    # stripe-python's UrllibClient only wraps URLError, so a response-less close escapes as
    # http.client.RemoteDisconnected (a ConnectionError) instead of APIConnectionError.
    with pytest.raises((stripe.APIConnectionError, ConnectionError)):
        client.v1.payment_intents.retrieve(pi.id)


# ----------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("kind", "error", "status"),
    [("rate_limit", stripe.RateLimitError, 429), ("server_error", stripe.APIError, 500)],
)
def test_error_faults(
    fake: FakeStripe,
    client: stripe.StripeClient,
    kind: Any,
    error: type[stripe.StripeError],
    status: int,
) -> None:
    fake.fail_next(kind, path_contains="/v1/payment_intents", method="POST")
    with pytest.raises(error) as excinfo:
        _create(client)
    assert excinfo.value.http_status == status
    assert fake.payment_intents == {}
    assert fake.requests[-1].fault == kind
    assert fake.requests[-1].executed is False
    assert _create(client).status == "requires_payment_method"  # the fault was used up


def test_fault_filters_skip_non_matching_requests(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    pi = _create(client)
    fake.fail_next("server_error", path_contains="/confirm")
    assert client.v1.payment_intents.retrieve(pi.id).id == pi.id
    with pytest.raises(stripe.APIError):
        client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_visa"})


def test_drop_before_executes_nothing(fake: FakeStripe, client: stripe.StripeClient) -> None:
    pi = _create(client)
    fake.fail_next("drop_before", path_contains="/confirm")
    with pytest.raises(stripe.APIConnectionError):
        client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_visa"})
    assert fake.payment_intents[pi.id]["status"] == "requires_payment_method"
    last = fake.requests[-1]
    assert (last.fault, last.status, last.executed) == ("drop_before", None, False)
    assert client.v1.payment_intents.retrieve(pi.id).status == "requires_payment_method"


def test_drop_after_changes_state_then_reconcile(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    pi = _create(client)
    fake.fail_next("drop_after", path_contains="/confirm")
    with pytest.raises(stripe.APIConnectionError) as dropped:
        client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_visa"})
    # The client is not left hanging: the connection was closed on it, it did not time out.
    assert "ConnectionError" in str(dropped.value), dropped.value
    assert "Timeout" not in str(dropped.value), dropped.value
    assert fake.requests[-1].executed is True
    reconciled = client.v1.payment_intents.retrieve(pi.id)
    assert reconciled.status == "succeeded"
    assert reconciled.amount_received == 1500


# ----------------------------------------------------------------------------- idempotency


def test_idempotent_replay_and_mismatch(fake: FakeStripe, client: stripe.StripeClient) -> None:
    params: Any = {"amount": 2500, "currency": "usd", "metadata": {"purchase_id": "7"}}
    first = client.v1.payment_intents.create(params, {"idempotency_key": "purchase-7"})
    second = client.v1.payment_intents.create(params, {"idempotency_key": "purchase-7"})
    assert second.id == first.id
    assert second.client_secret == first.client_secret
    assert len(fake.payment_intents) == 1
    stats = fake.idempotency["purchase-7"]
    assert (stats.executed, stats.replayed) == (1, 1)
    assert fake.requests[-1].replayed is True

    changed: Any = {**params, "amount": 2600}
    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.create(changed, {"idempotency_key": "purchase-7"})
    assert len(fake.payment_intents) == 1


def test_idempotent_replay_of_decline(fake: FakeStripe, client: stripe.StripeClient) -> None:
    pi = _create(client)
    options: Any = {"idempotency_key": "confirm-1"}
    for _ in range(2):
        with pytest.raises(stripe.CardError):
            client.v1.payment_intents.confirm(
                pi.id, {"payment_method": "pm_card_chargeDeclined"}, options
            )
    assert len(fake.charges) == 1
    assert fake.idempotency["confirm-1"].executed == 1


@pytest.mark.usefixtures("fast_retries")
@pytest.mark.parametrize(
    ("kind", "should_retry"), [("server_error", None), ("rate_limit", True), ("drop_before", None)]
)
def test_library_retries_transparently_and_creates_once(
    fake: FakeStripe, http: stripe.HTTPClient, kind: Any, should_retry: bool | None
) -> None:
    client = _client(fake, http, retries=2)
    fake.fail_next(kind, should_retry=should_retry)
    pi = _create(client)
    assert list(fake.payment_intents) == [pi.id]
    first, second = fake.requests
    assert first.fault == kind
    assert first.idempotency_key is not None
    assert second.idempotency_key == first.idempotency_key  # the library reuses its key
    assert fake.idempotency[first.idempotency_key].executed == 1


@pytest.mark.usefixtures("fast_retries")
def test_library_does_not_retry_plain_rate_limit(fake: FakeStripe, http: stripe.HTTPClient) -> None:
    client = _client(fake, http, retries=2)
    fake.fail_next("rate_limit")  # no Stripe-Should-Retry header
    with pytest.raises(stripe.RateLimitError):
        _create(client)
    assert len(fake.requests) == 1


@pytest.mark.usefixtures("fast_retries")
def test_retry_after_drop_after_replays_stored_result(
    fake: FakeStripe, http: stripe.HTTPClient
) -> None:
    client = _client(fake, http, retries=2)
    pi = _create(client)
    fake.fail_next("drop_after", path_contains="/confirm")
    confirmed = client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_visa"})
    assert confirmed.status == "succeeded"
    key = fake.requests[-1].idempotency_key
    assert key is not None
    assert fake.idempotency[key] == type(fake.idempotency[key])(executed=1, replayed=1)
    assert len(fake.charges) == 1


# ----------------------------------------------------------------------------- refunds


def test_refunds_partial_default_and_over_refund(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    pi = _create(client, amount=5000, payment_method="pm_card_visa", confirm=True)
    partial = client.v1.refunds.create(
        {"payment_intent": pi.id, "amount": 2000, "metadata": {"reason": "dup"}}
    )
    assert partial.id.startswith("re_")
    assert (partial.status, partial.amount, partial.payment_intent) == ("succeeded", 2000, pi.id)
    assert partial.metadata is not None
    assert partial.metadata["reason"] == "dup"
    assert client.v1.refunds.retrieve(partial.id).amount == 2000

    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.refunds.create({"payment_intent": pi.id, "amount": 3001})
    assert excinfo.value.code == "amount_too_large"
    assert fake.amount_refunded(pi.id) == 2000

    rest = client.v1.refunds.create({"payment_intent": pi.id})
    assert rest.amount == 3000
    assert fake.amount_refunded(pi.id) == 5000
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.refunds.create({"payment_intent": pi.id, "amount": 1})
    assert excinfo.value.code == "charge_already_refunded"

    listed = client.v1.refunds.list({"payment_intent": pi.id})
    assert [r.id for r in listed.data] == [rest.id, partial.id]
    assert set(fake.refunds) == {partial.id, rest.id}


def test_refund_requires_succeeded_pi(client: stripe.StripeClient) -> None:
    pi = _create(client)
    with pytest.raises(stripe.InvalidRequestError, match="successful charge"):
        client.v1.refunds.create({"payment_intent": pi.id})


# ----------------------------------------------------------------------------- webhooks


def test_webhook_signature_round_trip(fake: FakeStripe, client: stripe.StripeClient) -> None:
    pi = _create(client, payment_method="pm_card_visa", confirm=True)
    event = fake.event_for("payment_intent.succeeded", fake.payment_intents[pi.id])
    assert event["id"].startswith("evt_")
    payload = fake.webhook_payload(event)
    header = sign_webhook(payload, WEBHOOK_SECRET)

    parsed = stripe.Webhook.construct_event(payload, header, WEBHOOK_SECRET)
    assert parsed.type == "payment_intent.succeeded"
    assert parsed.data.object["id"] == pi.id
    assert parsed.data.object["status"] == "succeeded"

    tampered = payload.replace(b'"succeeded"', b'"canceled"')
    assert tampered != payload
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered, header, WEBHOOK_SECRET)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, header, "whsec_other")
    stale = sign_webhook(payload, WEBHOOK_SECRET, timestamp=int(time.time()) - 3600)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, stale, WEBHOOK_SECRET)


def test_sign_webhook_matches_stripe_scheme() -> None:
    header = sign_webhook(b'{"id": "evt_1"}', "whsec_x", timestamp=1700000000)
    expected = stripe.WebhookSignature.generate_signature_header(
        '{"id": "evt_1"}', "whsec_x", timestamp=1700000000
    )
    assert header == expected


# ----------------------------------------------------------------------------- browser shim


def test_js_shim_served_with_cors(fake: FakeStripe) -> None:
    status, headers, body = _raw(fake, "GET", "/v1/fake-stripe.js")
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Content-Type"].startswith("application/javascript")
    text = body.decode()
    assert "confirmCardPayment" in text
    assert json.dumps(fake.url) in text

    status, headers, _ = _raw(fake, "OPTIONS", "/v1/payment_intents/pi_x/confirm")
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in headers["Access-Control-Allow-Methods"]


def test_publishable_key_confirm_like_stripe_js(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    pi = _create(client)
    path = f"/v1/payment_intents/{pi.id}/confirm"
    form = {"key": "pk_test_abc", "payment_method": "pm_card_visa"}

    status, _, body = _raw(fake, "POST", path, {**form, "client_secret": pi.id + "_secret_bad"})
    assert status == 400
    assert fake.payment_intents[pi.id]["status"] == "requires_payment_method"

    secret = str(pi.client_secret)
    status, headers, body = _raw(fake, "POST", path, {**form, "client_secret": secret})
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert json.loads(body)["status"] == "succeeded"

    status, _, body = _raw(fake, "POST", "/v1/payment_intents", {"key": "pk_test_abc"})
    assert status == 401
    assert json.loads(body)["error"]["type"] == "invalid_request_error"


# ----------------------------------------------------------------------------- plumbing


def test_parse_form_nested_keys() -> None:
    parsed = parse_form(
        "amount=12&metadata[purchase_id]=12&metadata[x]=&payment_method_types[0]=card"
        "&payment_method_types[1]=link&automatic_payment_methods[enabled]=true&expand[]=a"
    )
    assert parsed == {
        "amount": "12",
        "metadata": {"purchase_id": "12", "x": ""},
        "payment_method_types": ["card", "link"],
        "automatic_payment_methods": {"enabled": "true"},
        "expand": ["a"],
    }
    with pytest.raises(ValueError, match="conflicts"):
        parse_form("a=1&a[b]=2")


def test_stop_closes_listener_and_keepalive_connections() -> None:
    fake = FakeStripe(api_key="sk_test_other").start()
    port = fake.port
    http = stripe.RequestsClient()
    client = _client(fake, http)
    assert _create(client).status == "requires_payment_method"  # leaves a keep-alive socket
    server = fake._server
    assert server is not None
    assert server._connections
    fake.stop()
    # The client still holds its socket: only the stop itself can end the handler's connection.
    deadline = time.monotonic() + 60  # a safety net; the handler ends at once
    while server._connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not server._connections
    http.close()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass


def test_latency_is_applied(fake: FakeStripe, client: stripe.StripeClient) -> None:
    fake.latency = 0.2
    started = time.monotonic()
    _create(client)
    assert time.monotonic() - started >= 0.2
