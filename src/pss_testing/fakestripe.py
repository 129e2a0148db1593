"""Local fake of the Stripe v1 HTTP API that the real ``stripe`` library can talk to.
Covers PaymentIntents, refunds, idempotency, fault injection and webhook signing."""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import hashlib
import hmac
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, get_args
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "API_VERSION",
    "JS_PATH",
    "FakeStripe",
    "FaultKind",
    "Hold",
    "IdempotencyStats",
    "RecordedRequest",
    "parse_form",
    "sign_webhook",
]

JSONDict = dict[str, Any]
FaultKind = Literal["rate_limit", "server_error", "drop_before", "drop_after"]
#: Seconds a held answer waits for its release before it goes out anyway.
HOLD_TIMEOUT = 60.0

#: API version stamped on events built by :meth:`FakeStripe.event_for`.
API_VERSION = "2026-10-28.endive"
#: Path of the browser shim (see :meth:`FakeStripe.js_url`).
JS_PATH = "/v1/fake-stripe.js"

_DOCS = "https://stripe.com/docs/error-codes/"
_CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
_CANCELABLE = (*_CONFIRMABLE, "requires_capture", "processing")

#: Test payment methods: id -> decline code, or None for a successful charge.
_TEST_PAYMENT_METHODS: dict[str, str | None] = {
    "pm_card_visa": None,
    "pm_card_visa_debit": None,
    "pm_card_mastercard": None,
    "pm_card_amex": None,
    "pm_card_chargeDeclined": "generic_decline",
    "pm_card_visa_chargeDeclined": "generic_decline",
    "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
    "pm_card_visa_chargeDeclinedInsufficientFunds": "insufficient_funds",
    "pm_card_chargeDeclinedLostCard": "lost_card",
    "pm_card_visa_chargeDeclinedLostCard": "lost_card",
    "pm_card_chargeDeclinedStolenCard": "stolen_card",
    "pm_card_visa_chargeDeclinedStolenCard": "stolen_card",
    "pm_card_chargeDeclinedFraudulent": "fraudulent",
    "pm_card_visa_chargeDeclinedFraudulent": "fraudulent",
}
_DECLINE_MESSAGES = {"insufficient_funds": "Your card has insufficient funds."}
_DEFAULT_DECLINE_MESSAGE = "Your card was declined."


def _names(text: str) -> frozenset[str]:
    """Parameter names from a space-separated string."""
    return frozenset(text.split())


_COMMON = frozenset({"expand"})
_PI_CREATE_PARAMS = _COMMON | _names(
    "amount application_fee_amount automatic_payment_methods capture_method confirm "
    "confirmation_method currency customer description metadata off_session on_behalf_of "
    "payment_method payment_method_options payment_method_types receipt_email return_url "
    "setup_future_usage shipping statement_descriptor statement_descriptor_suffix "
    "transfer_data transfer_group use_stripe_sdk"
)
_PI_UPDATE_PARAMS = _COMMON | _names(
    "amount currency customer description metadata payment_method payment_method_options "
    "payment_method_types receipt_email setup_future_usage shipping statement_descriptor "
    "statement_descriptor_suffix transfer_group"
)
_PI_CONFIRM_PARAMS = _COMMON | _names(
    "client_secret error_on_requires_action mandate_data off_session payment_method "
    "payment_method_options receipt_email return_url setup_future_usage shipping "
    "use_stripe_sdk"
)
_PI_CANCEL_PARAMS = _COMMON | {"cancellation_reason"}
_RETRIEVE_PARAMS = _COMMON | {"client_secret"}
_REFUND_CREATE_PARAMS = _COMMON | _names(
    "amount charge instructions_email metadata payment_intent reason "
    "refund_application_fee reverse_transfer"
)
_REFUND_LIST_PARAMS = _COMMON | _names(
    "charge created ending_before limit payment_intent starting_after"
)
_CANCELLATION_REASONS = ("abandoned", "duplicate", "fraudulent", "requested_by_customer")
_REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")

_JS_SHIM = """\
/* fake-stripe.js: a tiny stand-in for Stripe.js that talks to FakeStripe. */
(function () {
  "use strict";
  var BASE = __BASE__;
  function form(fields) {
    return Object.keys(fields).map(function (k) {
      return encodeURIComponent(k) + "=" + encodeURIComponent(fields[k]);
    }).join("&");
  }
  function settle(promise) {
    return promise.then(function (response) {
      return response.json().then(function (body) {
        return body.error ? {error: body.error} : {paymentIntent: body};
      });
    }, function (err) {
      return {error: {type: "api_connection_error", message: String(err)}};
    });
  }
  function intentId(clientSecret) { return String(clientSecret).split("_secret_")[0]; }
  window.Stripe = function (publishableKey) {
    return {
      confirmCardPayment: function (clientSecret, data) {
        var pm = data && typeof data.payment_method === "string"
          ? data.payment_method : "pm_card_visa";
        return settle(fetch(BASE + "/v1/payment_intents/"
            + encodeURIComponent(intentId(clientSecret)) + "/confirm", {
          method: "POST",
          headers: {"Content-Type": "application/x-www-form-urlencoded"},
          body: form({key: publishableKey, client_secret: clientSecret, payment_method: pm})
        }));
      },
      retrievePaymentIntent: function (clientSecret) {
        return settle(fetch(BASE + "/v1/payment_intents/"
            + encodeURIComponent(intentId(clientSecret)) + "?"
            + form({key: publishableKey, client_secret: clientSecret})));
      }
    };
  };
})();
"""


# --------------------------------------------------------------------------- public helpers


def sign_webhook(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """Return a ``Stripe-Signature`` header value for ``payload`` signed with ``secret``.

    The scheme is Stripe's: ``t=<ts>,v1=<hex HMAC-SHA256 of b"<ts>." + payload>``, so
    ``stripe.Webhook.construct_event(payload, header, secret)`` accepts it.
    """
    if timestamp is None:
        timestamp = int(time.time())
    body = payload.encode("utf-8") if isinstance(payload, str) else payload
    signed = str(timestamp).encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake saw it (see :attr:`FakeStripe.requests`).

    ``status`` is None when the connection was dropped without a response.
    ``executed`` is True when the endpoint logic ran (also for ``drop_after``);
    ``replayed`` is True when an idempotent response was replayed instead.
    """

    method: str
    path: str
    params: JSONDict
    idempotency_key: str | None
    status: int | None
    fault: str | None
    executed: bool
    replayed: bool
    request_id: str


@dataclass(frozen=True)
class IdempotencyStats:
    """How often requests carrying one ``Idempotency-Key`` were executed and replayed."""

    executed: int
    replayed: int


# --------------------------------------------------------------------------- internals


class _StripeError(Exception):
    """An API error to be rendered as a Stripe-shaped error response."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        extra: JSONDict | None = None,
        store: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.store = store
        self.headers = dict(headers or {})
        error: JSONDict = {"type": type, "message": message}
        if code is not None:
            error["code"] = code
            error["doc_url"] = _DOCS + code.replace("_", "-")
        if param is not None:
            error["param"] = param
        error.update(extra or {})
        self.error = error

    def body(self, request_id: str) -> JSONDict:
        """The JSON body Stripe would send."""
        error = dict(self.error)
        error["request_log_url"] = (
            f"https://dashboard.stripe.com/test/logs/{request_id}?t={int(time.time())}"
        )
        return {"error": error}


def _invalid(message: str, param: str | None = None, code: str | None = None) -> _StripeError:
    """A parameter-validation error; Stripe does not store these for idempotent replay."""
    return _StripeError(400, message, param=param, code=code, store=False)


@dataclass
class _Response:
    status: int
    body: bytes
    headers: dict[str, str]


@dataclass
class _Fault:
    kind: FaultKind
    remaining: int
    path_contains: str | None
    method: str | None
    should_retry: bool | None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        return self.path_contains is None or self.path_contains in path


class Hold:
    """A request the fake has executed but not answered yet (see :meth:`FakeStripe.hold_next`):
    ``arrived`` is set when it is held; :meth:`release` lets the answer go out."""

    def __init__(self, path_contains: str, method: str | None, skip: int) -> None:
        self.path_contains = path_contains
        self.method = method
        self.skip = skip
        self.arrived = threading.Event()
        self._released = threading.Event()

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        return self.path_contains in path

    def release(self) -> None:
        self._released.set()

    def wait_for_release(self, timeout: float) -> None:
        self._released.wait(timeout)


@dataclass
class _IdempotentResult:
    method: str
    path: str
    params: JSONDict
    response: _Response
    request_id: str


@dataclass
class _Call:
    """What a route handler gets to see about the request."""

    params: JSONDict
    publishable: bool
    request_id: str
    idempotency_key: str | None


_Route = tuple[str, re.Pattern[str], Callable[[_Call, str], JSONDict], frozenset[str], bool]

_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART_RE = re.compile(r"\[([^\[\]]*)\]")


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


def _listify(value: Any) -> Any:
    """Turn dicts whose keys are all array indices into lists, recursively."""
    if not isinstance(value, dict):
        return value
    converted = {k: _listify(v) for k, v in value.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def parse_form(body: str) -> JSONDict:
    """Decode a Stripe form body: ``a[b][c]=v`` nests dicts, ``a[0]=x`` / ``a[]=x`` build lists.

    Values stay strings, as on the wire. Raises ValueError on malformed or conflicting keys.
    """
    root: JSONDict = {}
    for raw_key, value in parse_qsl(body, keep_blank_values=True):
        match = _KEY_RE.match(raw_key)
        if match is None:
            raise ValueError(f"Invalid parameter name: {raw_key!r}")
        parts = [match.group(1), *_PART_RE.findall(match.group(2))]
        node = root
        for depth, part in enumerate(parts):
            key = str(len(node)) if part == "" else part
            if depth == len(parts) - 1:
                if isinstance(node.get(key), dict):
                    raise ValueError(f"Invalid parameter: {raw_key!r} conflicts with a hash")
                node[key] = value
                break
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise ValueError(f"Invalid parameter: {raw_key!r} conflicts with a scalar")
            node = child
    return {k: _listify(v) for k, v in root.items()}


def _as_int(params: JSONDict, name: str, *, minimum: int | None = None) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str) or not re.fullmatch(r"-?\d+", raw):
        raise _invalid(f"Invalid integer: {raw}", param=name)
    value = int(raw)
    if minimum is not None and value < minimum:
        raise _invalid(
            f"This value must be greater than or equal to {minimum}.",
            param=name,
            code="parameter_invalid_integer",
        )
    return value


def _as_str(params: JSONDict, name: str) -> str | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise _invalid(f"Invalid string: {raw!r}", param=name)
    return raw


def _as_bool(params: JSONDict, name: str) -> bool:
    raw = params.get(name)
    if raw is None:
        return False
    if raw not in ("true", "false"):
        raise _invalid(f"Invalid boolean: {raw}", param=name)
    return bool(raw == "true")


def _metadata(params: JSONDict, current: Mapping[str, str] | None = None) -> dict[str, str]:
    """Apply ``metadata`` from params onto ``current`` the way Stripe does ("" unsets)."""
    result = dict(current or {})
    raw = params.get("metadata")
    if raw is None:
        return result
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise _invalid("Invalid object", param="metadata")
    for key, value in raw.items():
        if not isinstance(value, str):
            raise _invalid("Invalid metadata value", param=f"metadata[{key}]")
        if len(key) > 40:
            raise _invalid("Metadata keys can be at most 40 characters.", param="metadata")
        if len(value) > 500:
            raise _invalid("Metadata values can be at most 500 characters.", param="metadata")
        if value == "":
            result.pop(key, None)
        else:
            result[key] = value
    if len(result) > 50:
        raise _invalid("Metadata can have at most 50 keys.", param="metadata")
    return result


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:.2f} {currency.upper()}"


# --------------------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its FakeStripe and tracks open connections."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], fake: FakeStripe) -> None:
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, conn: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(conn)

    def untrack(self, conn: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(conn)

    def shutdown_connections(self) -> None:
        """Shut down every open (e.g. idle keep-alive) connection so handler threads end."""
        with self._connections_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """Turns HTTP requests into FakeStripe calls; keep-alive (HTTP/1.1) is supported."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read :attr:`FakeStripe.requests` instead."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_OPTIONS(self) -> None:
        self._serve("OPTIONS")

    def _serve(self, method: str) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self._send(_Response(400, b"", {}))
            return
        body = self.rfile.read(length) if length else b""
        fake = self.server.fake
        path = urlsplit(self.path).path
        if method == "OPTIONS":
            requested = self.headers.get("Access-Control-Request-Headers")
            headers = {
                "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
                "Access-Control-Allow-Headers": requested
                or "Authorization, Content-Type, Idempotency-Key, Stripe-Version",
                "Access-Control-Max-Age": "600",
            }
            self._send(_Response(204, b"", headers))
            return
        if method == "GET" and path == JS_PATH:
            js = _JS_SHIM.replace("__BASE__", json.dumps(fake.url)).encode("utf-8")
            self._send(
                _Response(200, js, {"Content-Type": "application/javascript; charset=utf-8"})
            )
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        response = fake._handle(method, self.path, headers, body)
        if response is None:
            self._drop()
            return
        # A client killed while its answer was held (or one that gave up) is simply gone.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._send(response)

    def _send(self, response: _Response) -> None:
        self.send_response(response.status)
        headers = {"Access-Control-Allow-Origin": "*", **response.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if response.body:
            self.wfile.write(response.body)

    def _drop(self) -> None:
        """Close the TCP connection without writing a single byte of response."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


# --------------------------------------------------------------------------- the fake


class FakeStripe:
    """A thread-safe, in-process fake of the Stripe v1 API on ``127.0.0.1``.

    Use it as a context manager (or call :meth:`start` / :meth:`stop`)::

        with FakeStripe() as fake:
            client = stripe.StripeClient(
                fake.api_key, base_addresses={"api": fake.url}, max_network_retries=0
            )
            pi = client.v1.payment_intents.create({"amount": 1500, "currency": "usd"})

    The legacy global style works too: ``stripe.api_key = fake.api_key`` and
    ``stripe.api_base = fake.url``, then ``stripe.PaymentIntent.create(...)``.

    Supported: ``POST /v1/payment_intents`` (create), ``GET|POST /v1/payment_intents/{id}``
    (retrieve, update), ``POST .../{id}/confirm``, ``POST .../{id}/cancel``,
    ``POST|GET /v1/refunds``, ``GET /v1/refunds/{id}``, ``GET /v1/charges/{id}``,
    ``GET /v1/events/{id}`` and the browser shim at :data:`JS_PATH`.
    Every POST honours ``Idempotency-Key``; faults are injected with :meth:`fail_next`.
    """

    def __init__(
        self,
        api_key: str = "sk_test_fake",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
    ) -> None:
        self.api_key = api_key
        #: Seconds slept (outside the state lock) before handling each API request.
        self.latency = latency
        self._initial_latency = latency
        self._host = host
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()
        self._routes: list[_Route] = self._build_routes()
        self._init_state()

    # ----------------------------------------------------------------- lifecycle

    def _init_state(self) -> None:
        self._payment_intents: dict[str, JSONDict] = {}
        self._charges: dict[str, JSONDict] = {}
        self._refunds: dict[str, JSONDict] = {}
        self._events: list[JSONDict] = []
        self._requests: list[RecordedRequest] = []
        self._faults: list[_Fault] = []
        self._holds: list[Hold] = []
        self._declines: list[str] = []
        self._idempotent: dict[str, _IdempotentResult] = {}
        self._idempotency_stats: dict[str, IdempotencyStats] = {}

    def start(self) -> FakeStripe:
        """Bind the socket and serve on a daemon thread; returns self."""
        if self._server is not None:
            raise RuntimeError("FakeStripe is already running")
        server = _Server((self._host, self._port), self)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeStripe:{server.server_address[1]}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end open connections and close the listening socket."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.shutdown_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeStripe:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound TCP port (only while running)."""
        if self._server is None:
            raise RuntimeError("FakeStripe is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL such as ``http://127.0.0.1:54321``: the stripe library's ``api`` base."""
        return f"http://{self._host}:{self.port}"

    @property
    def js_url(self) -> str:
        """URL of the Stripe.js stand-in, for a ``<script src>`` in browser tests."""
        return self.url + JS_PATH

    def reset(self) -> None:
        """Forget all objects, queued faults/declines, logs and idempotency records."""
        with self._lock:
            self._init_state()
            self.latency = self._initial_latency

    # ----------------------------------------------------------------- test controls

    def fail_next(
        self,
        kind: FaultKind,
        times: int = 1,
        path_contains: str | None = None,
        method: str | None = None,
        *,
        should_retry: bool | None = None,
    ) -> None:
        """Queue a fault for the next ``times`` API requests matching the filters.

        ``rate_limit`` answers 429, ``server_error`` 500 (neither executes the request);
        ``drop_before`` closes the connection without executing; ``drop_after`` executes
        (and stores the idempotent result), then closes without responding.
        ``should_retry`` adds a ``Stripe-Should-Retry`` header to 429/500 answers; note
        that stripe-python retries a 429 only when that header says ``true``.
        """
        if kind not in get_args(FaultKind):
            raise ValueError(f"unknown fault kind {kind!r}")
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._faults.append(_Fault(kind, times, path_contains, method, should_retry))

    def hold_next(self, path_contains: str, *, method: str | None = "POST", skip: int = 0) -> Hold:
        """Execute the next matching request (after ``skip`` others) but keep its answer back
        until the returned :class:`Hold` is released: the moment after Stripe did the work and
        before the client heard of it, where a test kills the client's process. A hold that is
        never released lets the answer go after a minute."""
        hold = Hold(path_contains, method, skip)
        with self._lock:
            self._holds.append(hold)
        return hold

    def decline_next(self, decline_code: str = "generic_decline") -> None:
        """Make the next confirm decline with ``decline_code``, whatever the payment method."""
        with self._lock:
            self._declines.append(decline_code)

    def succeed(self, pi_id: str, payment_method: str = "pm_card_visa") -> JSONDict:
        """Mark a PaymentIntent succeeded as if the customer confirmed it in the browser.

        Raises KeyError for an unknown id and ValueError if it cannot be confirmed.
        """
        with self._lock:
            pi = self._payment_intents.get(pi_id)
            if pi is None:
                raise KeyError(pi_id)
            if pi["status"] not in _CONFIRMABLE:
                raise ValueError(f"{pi_id} has status {pi['status']}")
            self._charge_succeeded(pi, payment_method, None)
            return copy.deepcopy(pi)

    @property
    def payment_intents(self) -> dict[str, JSONDict]:
        """Copies of all PaymentIntents by id."""
        with self._lock:
            return copy.deepcopy(self._payment_intents)

    @property
    def refunds(self) -> dict[str, JSONDict]:
        """Copies of all Refunds by id."""
        with self._lock:
            return copy.deepcopy(self._refunds)

    @property
    def charges(self) -> dict[str, JSONDict]:
        """Copies of all Charges (one per confirm attempt) by id."""
        with self._lock:
            return copy.deepcopy(self._charges)

    @property
    def events(self) -> list[JSONDict]:
        """Copies of the Events the fake emitted on state changes, oldest first."""
        with self._lock:
            return copy.deepcopy(self._events)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Copies of every API request seen (not OPTIONS or the JS shim), oldest first."""
        with self._lock:
            return copy.deepcopy(self._requests)

    @property
    def idempotency(self) -> dict[str, IdempotencyStats]:
        """Executed vs replayed counts per ``Idempotency-Key`` seen on a POST."""
        with self._lock:
            return dict(self._idempotency_stats)

    def amount_refunded(self, pi_id: str) -> int:
        """Total refunded so far on a PaymentIntent's charge (0 if none)."""
        with self._lock:
            pi = self._payment_intents[pi_id]
            charge = self._charges.get(pi["latest_charge"] or "")
            return int(charge["amount_refunded"]) if charge else 0

    # ----------------------------------------------------------------- webhooks

    def event_for(self, type: str, obj: Mapping[str, Any]) -> JSONDict:
        """Build a Stripe Event wrapping ``obj`` (e.g. ``type="payment_intent.succeeded"``)."""
        return {
            "id": _new_id("evt_"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": copy.deepcopy(dict(obj))},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type,
        }

    @staticmethod
    def webhook_payload(event: Mapping[str, Any]) -> bytes:
        """Serialise an event the way Stripe posts it to a webhook endpoint."""
        return json.dumps(event, indent=2).encode("utf-8")

    # ----------------------------------------------------------------- request pipeline

    def _handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> _Response | None:
        """Run one API request; None means "drop the connection without answering"."""
        if self.latency > 0:
            time.sleep(self.latency)
        split = urlsplit(raw_path)
        path = split.path
        request_id = _new_id("req_")
        idem_key = headers.get("idempotency-key") if method == "POST" else None
        try:
            text = body.decode("utf-8")
            params = parse_form(split.query)
            if method == "POST":
                params.update(parse_form(text))
        except (UnicodeDecodeError, ValueError) as exc:
            params = {}
            parse_error: _StripeError | None = _invalid(str(exc))
        else:
            parse_error = None

        with self._lock:
            fault = self._take_fault(method, path)
            executed = replayed = False
            response: _Response | None
            if fault is not None and fault.kind == "drop_before":
                response = None
            elif fault is not None and fault.kind in ("rate_limit", "server_error"):
                response = self._fault_response(fault, request_id)
            elif parse_error is not None:
                response = self._error_response(parse_error, request_id)
            else:
                response, executed, replayed = self._execute(
                    method, path, headers, params, idem_key, request_id
                )
            if fault is not None and fault.kind == "drop_after":
                response = None
            self._requests.append(
                RecordedRequest(
                    method=method,
                    path=path,
                    params=copy.deepcopy({k: v for k, v in params.items() if k != "key"}),
                    idempotency_key=idem_key,
                    status=None if response is None else response.status,
                    fault=None if fault is None else fault.kind,
                    executed=executed,
                    replayed=replayed,
                    request_id=request_id,
                )
            )
            hold = self._take_hold(method, path)
        if hold is not None:
            hold.arrived.set()
            hold.wait_for_release(HOLD_TIMEOUT)
        return response

    def _take_hold(self, method: str, path: str) -> Hold | None:
        for index, hold in enumerate(self._holds):
            if hold.matches(method, path):
                if hold.skip > 0:
                    hold.skip -= 1
                    return None
                del self._holds[index]
                return hold
        return None

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for index, fault in enumerate(self._faults):
            if fault.matches(method, path):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self._faults[index]
                return fault
        return None

    def _fault_response(self, fault: _Fault, request_id: str) -> _Response:
        headers = {}
        if fault.should_retry is not None:
            headers["Stripe-Should-Retry"] = "true" if fault.should_retry else "false"
        if fault.kind == "rate_limit":
            error = _StripeError(
                429,
                "Too many requests hit the API too quickly. We recommend an exponential "
                "backoff of your requests.",
                code="rate_limit",
                headers=headers,
            )
        else:
            error = _StripeError(
                500,
                "An unknown error occurred (injected by FakeStripe).",
                type="api_error",
                headers=headers,
            )
        return self._error_response(error, request_id)

    def _execute(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        params: JSONDict,
        idem_key: str | None,
        request_id: str,
    ) -> tuple[_Response, bool, bool]:
        """Authenticate, apply idempotency and route. Returns (response, executed, replayed)."""
        publishable = False
        try:
            publishable = self._authenticate(headers, params)
        except _StripeError as exc:
            return self._error_response(exc, request_id), False, False
        params.pop("key", None)

        if idem_key is not None:
            stored = self._idempotent.get(idem_key)
            if stored is not None:
                if stored.method != method or stored.path != path or stored.params != params:
                    error = _StripeError(
                        400,
                        "Keys for idempotent requests can only be used with the same "
                        "parameters they were first used with. Try using a key other than "
                        f"'{idem_key}' if you meant to execute a different request.",
                        type="idempotency_error",
                        store=False,
                    )
                    return self._error_response(error, request_id), False, False
                self._bump(idem_key, replayed=1)
                replay = _Response(
                    stored.response.status,
                    stored.response.body,
                    {
                        **stored.response.headers,
                        "Request-Id": request_id,
                        "Idempotent-Replayed": "true",
                        "Original-Request": stored.request_id,
                    },
                )
                return replay, False, True

        call = _Call(params, publishable, request_id, idem_key)
        store = True
        try:
            status, body = 200, self._route(method, path, call)
            extra_headers: dict[str, str] = {}
        except _StripeError as exc:
            status, body, store = exc.status, exc.body(request_id), exc.store
            extra_headers = exc.headers
        headers_out = {
            "Content-Type": "application/json",
            "Request-Id": request_id,
            "Stripe-Version": headers.get("stripe-version") or API_VERSION,
            **extra_headers,
        }
        if idem_key is not None:
            headers_out["Idempotency-Key"] = idem_key
        response = _Response(status, json.dumps(body, indent=2).encode("utf-8"), headers_out)
        if idem_key is not None:
            self._bump(idem_key, executed=1)
            if store:
                self._idempotent[idem_key] = _IdempotentResult(
                    method, path, copy.deepcopy(params), response, request_id
                )
        return response, True, False

    def _bump(self, key: str, *, executed: int = 0, replayed: int = 0) -> None:
        old = self._idempotency_stats.get(key, IdempotencyStats(0, 0))
        self._idempotency_stats[key] = IdempotencyStats(
            old.executed + executed, old.replayed + replayed
        )

    def _authenticate(self, headers: Mapping[str, str], params: JSONDict) -> bool:
        """Check credentials; returns True for a publishable-key (browser) request."""
        auth = headers.get("authorization")
        key: str | None = None
        if auth:
            scheme, _, value = auth.partition(" ")
            if scheme.lower() == "bearer":
                key = value.strip()
            elif scheme.lower() == "basic":
                try:
                    key = base64.b64decode(value.strip()).decode("utf-8").partition(":")[0]
                except (binascii.Error, UnicodeDecodeError):
                    key = ""
        if key is None and isinstance(params.get("key"), str):
            key = params["key"]
        if not key:
            raise _StripeError(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY').",
                store=False,
            )
        if key.startswith("pk_test"):
            return True
        if not hmac.compare_digest(key.encode("utf-8"), self.api_key.encode("utf-8")):
            masked = key[:8] + "*" * max(len(key) - 12, 0) + key[-4:]
            raise _StripeError(401, f"Invalid API Key provided: {masked}", store=False)
        return False

    def _error_response(self, error: _StripeError, request_id: str) -> _Response:
        headers = {"Content-Type": "application/json", "Request-Id": request_id, **error.headers}
        body = json.dumps(error.body(request_id), indent=2).encode("utf-8")
        return _Response(error.status, body, headers)

    # ----------------------------------------------------------------- routing

    def _build_routes(self) -> list[_Route]:
        pi = r"/v1/payment_intents/(?P<id>[^/]+)"

        def route(
            method: str,
            pattern: str,
            handler: Callable[[_Call, str], JSONDict],
            allowed: frozenset[str],
            publishable: bool = False,
        ) -> _Route:
            return (method, re.compile(pattern + r"/?"), handler, allowed, publishable)

        return [
            route("POST", r"/v1/payment_intents", self._pi_create, _PI_CREATE_PARAMS),
            route("GET", pi, self._pi_retrieve, _RETRIEVE_PARAMS, publishable=True),
            route("POST", pi, self._pi_update, _PI_UPDATE_PARAMS),
            route("POST", pi + "/confirm", self._pi_confirm, _PI_CONFIRM_PARAMS, True),
            route("POST", pi + "/cancel", self._pi_cancel, _PI_CANCEL_PARAMS),
            route("POST", r"/v1/refunds", self._refund_create, _REFUND_CREATE_PARAMS),
            route("GET", r"/v1/refunds", self._refund_list, _REFUND_LIST_PARAMS),
            route("GET", r"/v1/refunds/(?P<id>[^/]+)", self._refund_retrieve, _COMMON),
            route("GET", r"/v1/charges/(?P<id>[^/]+)", self._charge_retrieve, _COMMON),
            route("GET", r"/v1/events/(?P<id>[^/]+)", self._event_retrieve, _COMMON),
        ]

    def _route(self, method: str, path: str, call: _Call) -> JSONDict:
        for route_method, pattern, handler, allowed, publishable_ok in self._routes:
            match = pattern.fullmatch(path)
            if match is None or route_method != method:
                continue
            if call.publishable and not publishable_ok:
                raise _StripeError(
                    401,
                    "This API call cannot be made with a publishable API key. Please use "
                    "a secret API key.",
                    store=False,
                )
            for name in call.params:
                if name not in allowed:
                    raise _invalid(f"Received unknown parameter: {name}", param=name)
            return handler(call, match.groupdict().get("id") or "")
        raise _StripeError(
            404,
            f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
            store=False,
        )

    # ----------------------------------------------------------------- PaymentIntents

    def _get_pi(self, pi_id: str, call: _Call | None = None) -> JSONDict:
        pi = self._payment_intents.get(pi_id)
        if pi is None:
            raise _StripeError(
                404,
                f"No such payment_intent: '{pi_id}'",
                code="resource_missing",
                param="intent",
            )
        secret_ok = call is None or call.params.get("client_secret") == pi["client_secret"]
        if call is not None and call.publishable and not secret_ok:
            raise _StripeError(
                400,
                "The client_secret provided does not match the client_secret "
                "associated with the PaymentIntent.",
                param="client_secret",
                store=False,
            )
        return pi

    def _render(self, obj: JSONDict, params: JSONDict) -> JSONDict:
        """A response copy of ``obj`` with supported ``expand[]`` paths expanded."""
        out = copy.deepcopy(obj)
        expand = params.get("expand") or []
        if isinstance(expand, str):
            expand = [expand]
        for field in expand:
            value = out.get(field)
            if not isinstance(value, str):
                continue
            source = {
                "latest_charge": self._charges,
                "charge": self._charges,
                "payment_intent": self._payment_intents,
            }.get(field)
            if source is not None and value in source:
                out[field] = copy.deepcopy(source[value])
        return out

    def _pi_create(self, call: _Call, _: str) -> JSONDict:
        params = call.params
        amount = _as_int(params, "amount")
        if amount is None:
            raise _invalid("Missing required param: amount.", "amount", "parameter_missing")
        if amount <= 0:
            raise _invalid(
                "This value must be greater than or equal to 1.",
                "amount",
                "parameter_invalid_integer",
            )
        if amount > 99_999_999:
            raise _invalid("Amount must be no more than $999,999.99", "amount", "amount_too_large")
        currency = _as_str(params, "currency")
        if currency is None:
            raise _invalid("Missing required param: currency.", "currency", "parameter_missing")
        if not re.fullmatch(r"[A-Za-z]{3}", currency):
            raise _invalid(f"Invalid currency: {currency}.", "currency")
        capture_method = params.get("capture_method", "automatic")
        if capture_method not in ("automatic", "automatic_async"):
            raise _invalid(
                f"FakeStripe supports only automatic capture, not {capture_method!r}.",
                "capture_method",
            )
        payment_method = _as_str(params, "payment_method")
        if payment_method is not None:
            self._check_payment_method(payment_method)
        confirm = _as_bool(params, "confirm")
        metadata = _metadata(params)
        pi_id = _new_id("pi_")
        types = params.get("payment_method_types")
        pi: JSONDict = {
            "id": pi_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "automatic_payment_methods": None,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": capture_method,
            "client_secret": f"{pi_id}_secret_{secrets.token_hex(12)}",
            "confirmation_method": "automatic",
            "created": int(time.time()),
            "currency": currency.lower(),
            "customer": params.get("customer"),
            "description": _as_str(params, "description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": metadata,
            "next_action": None,
            "payment_method": payment_method,
            "payment_method_types": types if isinstance(types, list) else ["card"],
            "receipt_email": params.get("receipt_email"),
            "statement_descriptor": params.get("statement_descriptor"),
            "status": "requires_confirmation" if payment_method else "requires_payment_method",
        }
        if isinstance(params.get("automatic_payment_methods"), dict):
            pi["automatic_payment_methods"] = {
                "enabled": params["automatic_payment_methods"].get("enabled") == "true"
            }
        self._payment_intents[pi_id] = pi
        self._emit("payment_intent.created", pi, call)
        if confirm:
            self._confirm(pi, payment_method, call)
        return self._render(pi, params)

    def _pi_retrieve(self, call: _Call, pi_id: str) -> JSONDict:
        return self._render(self._get_pi(pi_id, call), call.params)

    def _pi_update(self, call: _Call, pi_id: str) -> JSONDict:
        pi = self._get_pi(pi_id)
        params = call.params
        if pi["status"] in ("succeeded", "canceled"):
            raise _StripeError(
                400,
                f"This PaymentIntent's status is {pi['status']}; it can no longer be updated.",
                code="payment_intent_unexpected_state",
                extra={"payment_intent": copy.deepcopy(pi)},
            )
        amount = _as_int(params, "amount", minimum=1)
        payment_method = _as_str(params, "payment_method")
        if payment_method is not None:
            self._check_payment_method(payment_method)
        metadata = _metadata(params, pi["metadata"])
        if amount is not None:
            pi["amount"] = amount
        for field in ("currency", "description", "receipt_email", "customer"):
            value = _as_str(params, field)
            if value is not None:
                pi[field] = value.lower() if field == "currency" else value
        if payment_method is not None:
            pi["payment_method"] = payment_method
            pi["status"] = "requires_confirmation"
        pi["metadata"] = metadata
        return self._render(pi, params)

    def _check_payment_method(self, payment_method: str) -> None:
        if payment_method not in _TEST_PAYMENT_METHODS:
            raise _invalid(
                f"No such PaymentMethod: '{payment_method}'",
                "payment_method",
                "resource_missing",
            )

    def _pi_confirm(self, call: _Call, pi_id: str) -> JSONDict:
        pi = self._get_pi(pi_id, call)
        payment_method = _as_str(call.params, "payment_method")
        if payment_method is not None:
            self._check_payment_method(payment_method)
        self._confirm(pi, payment_method or pi["payment_method"], call)
        return self._render(pi, call.params)

    def _confirm(self, pi: JSONDict, payment_method: str | None, call: _Call | None) -> None:
        """Confirm ``pi`` with ``payment_method``; raises a 402 CardError on decline."""
        status = pi["status"]
        if status == "succeeded":
            raise _StripeError(
                400,
                "You cannot confirm this PaymentIntent because it has already succeeded "
                "after being previously confirmed.",
                code="payment_intent_unexpected_state",
                extra={"payment_intent": copy.deepcopy(pi)},
            )
        if status not in _CONFIRMABLE:
            raise _StripeError(
                400,
                f"You cannot confirm this PaymentIntent because it has a status of {status}. "
                "Only a PaymentIntent with one of the following statuses may be confirmed: "
                "requires_confirmation, requires_payment_method.",
                code="payment_intent_unexpected_state",
                extra={"payment_intent": copy.deepcopy(pi)},
            )
        if payment_method is None:
            raise _StripeError(
                400,
                "You cannot confirm this PaymentIntent because it's missing a payment method. "
                "To confirm the PaymentIntent, pass a payment_method.",
                code="payment_intent_unexpected_state",
                param="payment_method",
                extra={"payment_intent": copy.deepcopy(pi)},
            )
        decline_code = self._declines.pop(0) if self._declines else None
        if decline_code is None:
            decline_code = _TEST_PAYMENT_METHODS[payment_method]
        if decline_code is None:
            self._charge_succeeded(pi, payment_method, call)
            return
        charge = self._new_charge(pi, payment_method, paid=False, decline_code=decline_code)
        message = _DECLINE_MESSAGES.get(decline_code, _DEFAULT_DECLINE_MESSAGE)
        error: JSONDict = {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": decline_code,
            "message": message,
            "charge": charge["id"],
            "doc_url": _DOCS + "card-declined",
            "payment_method": {"id": payment_method, "object": "payment_method", "type": "card"},
        }
        pi.update(
            status="requires_payment_method",
            last_payment_error=copy.deepcopy(error),
            latest_charge=charge["id"],
            payment_method=None,
        )
        self._emit("charge.failed", charge, call)
        self._emit("payment_intent.payment_failed", pi, call)
        extra = {k: v for k, v in error.items() if k not in ("type", "message", "code")}
        extra["payment_intent"] = copy.deepcopy(pi)
        raise _StripeError(402, message, type="card_error", code="card_declined", extra=extra)

    def _new_charge(
        self, pi: JSONDict, payment_method: str, *, paid: bool, decline_code: str | None
    ) -> JSONDict:
        charge: JSONDict = {
            "id": _new_id("ch_"),
            "object": "charge",
            "amount": pi["amount"],
            "amount_captured": pi["amount"] if paid else 0,
            "amount_refunded": 0,
            "captured": paid,
            "created": int(time.time()),
            "currency": pi["currency"],
            "description": pi["description"],
            "failure_code": None if paid else "card_declined",
            "failure_message": None
            if paid
            else _DECLINE_MESSAGES.get(decline_code or "", _DEFAULT_DECLINE_MESSAGE),
            "livemode": False,
            "metadata": dict(pi["metadata"]),
            "outcome": {
                "type": "authorized" if paid else "issuer_declined",
                "reason": decline_code,
                "network_status": "approved_by_network" if paid else "declined_by_network",
            },
            "paid": paid,
            "payment_intent": pi["id"],
            "payment_method": payment_method,
            "refunded": False,
            "status": "succeeded" if paid else "failed",
        }
        self._charges[charge["id"]] = charge
        return charge

    def _charge_succeeded(self, pi: JSONDict, payment_method: str, call: _Call | None) -> None:
        charge = self._new_charge(pi, payment_method, paid=True, decline_code=None)
        pi.update(
            status="succeeded",
            amount_received=pi["amount"],
            latest_charge=charge["id"],
            payment_method=payment_method,
            last_payment_error=None,
        )
        self._emit("charge.succeeded", charge, call)
        self._emit("payment_intent.succeeded", pi, call)

    def _pi_cancel(self, call: _Call, pi_id: str) -> JSONDict:
        pi = self._get_pi(pi_id)
        reason = _as_str(call.params, "cancellation_reason")
        if reason is not None and reason not in _CANCELLATION_REASONS:
            raise _invalid(f"Invalid cancellation_reason: {reason}", "cancellation_reason")
        if pi["status"] not in _CANCELABLE:
            raise _StripeError(
                400,
                "You cannot cancel this PaymentIntent because it has a status of "
                f"{pi['status']}. Only a PaymentIntent with one of the following statuses "
                "may be canceled: " + ", ".join(_CANCELABLE) + ".",
                code="payment_intent_unexpected_state",
                extra={"payment_intent": copy.deepcopy(pi)},
            )
        pi.update(status="canceled", canceled_at=int(time.time()), cancellation_reason=reason)
        self._emit("payment_intent.canceled", pi, call)
        return self._render(pi, call.params)

    # ----------------------------------------------------------------- refunds, charges, events

    def _refund_create(self, call: _Call, _: str) -> JSONDict:
        params = call.params
        pi_id = _as_str(params, "payment_intent")
        charge_id = _as_str(params, "charge")
        if pi_id is None and charge_id is None:
            raise _invalid(
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                code="parameter_missing",
            )
        if pi_id is not None:
            pi = self._get_pi(pi_id)
        else:
            pi = self._get_pi(self._get_charge(charge_id or "")["payment_intent"])
        amount = _as_int(params, "amount", minimum=1)
        reason = _as_str(params, "reason")
        if reason is not None and reason not in _REFUND_REASONS:
            raise _invalid(f"Invalid reason: {reason}", "reason")
        metadata = _metadata(params)
        if pi["status"] != "succeeded":
            raise _StripeError(
                400,
                f"This PaymentIntent ({pi['id']}) does not have a successful charge to refund.",
                param="payment_intent",
            )
        charge = self._charges[pi["latest_charge"]]
        remaining = charge["amount_captured"] - charge["amount_refunded"]
        if remaining <= 0:
            raise _StripeError(
                400,
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        if amount is None:
            amount = remaining
        if amount > remaining:
            raise _StripeError(
                400,
                f"Refund amount ({_money(amount, charge['currency'])}) is greater than "
                f"unrefunded amount on charge ({_money(remaining, charge['currency'])})",
                code="amount_too_large",
                param="amount",
            )
        refund: JSONDict = {
            "id": _new_id("re_"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": None,
            "charge": charge["id"],
            "created": int(time.time()),
            "currency": charge["currency"],
            "metadata": metadata,
            "payment_intent": pi["id"],
            "reason": reason,
            "status": "succeeded",
        }
        self._refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
        self._emit("refund.created", refund, call)
        self._emit("charge.refunded", charge, call)
        return self._render(refund, params)

    def _refund_retrieve(self, call: _Call, refund_id: str) -> JSONDict:
        refund = self._refunds.get(refund_id)
        if refund is None:
            raise _StripeError(
                404, f"No such refund: '{refund_id}'", code="resource_missing", param="id"
            )
        return self._render(refund, call.params)

    def _refund_list(self, call: _Call, _: str) -> JSONDict:
        params = call.params
        limit = _as_int(params, "limit", minimum=1) or 10
        pi_id = _as_str(params, "payment_intent")
        charge_id = _as_str(params, "charge")
        refunds = [
            r
            for r in self._refunds.values()
            if (pi_id is None or r["payment_intent"] == pi_id)
            and (charge_id is None or r["charge"] == charge_id)
        ]
        refunds.reverse()  # newest first, like Stripe
        after = _as_str(params, "starting_after")
        if after is not None:
            ids = [r["id"] for r in refunds]
            refunds = refunds[ids.index(after) + 1 :] if after in ids else []
        page = refunds[:limit]
        return {
            "object": "list",
            "data": [self._render(r, {}) for r in page],
            "has_more": len(refunds) > limit,
            "url": "/v1/refunds",
        }

    def _get_charge(self, charge_id: str) -> JSONDict:
        charge = self._charges.get(charge_id)
        if charge is None:
            raise _StripeError(
                404, f"No such charge: '{charge_id}'", code="resource_missing", param="id"
            )
        return charge

    def _charge_retrieve(self, call: _Call, charge_id: str) -> JSONDict:
        return self._render(self._get_charge(charge_id), call.params)

    def _event_retrieve(self, call: _Call, event_id: str) -> JSONDict:
        for event in self._events:
            if event["id"] == event_id:
                return copy.deepcopy(event)
        raise _StripeError(404, f"No such event: '{event_id}'", code="resource_missing", param="id")

    def _emit(self, type: str, obj: JSONDict, call: _Call | None) -> None:
        event = self.event_for(type, obj)
        if call is not None:
            event["request"] = {"id": call.request_id, "idempotency_key": call.idempotency_key}
        self._events.append(event)
