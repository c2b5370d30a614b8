"""The Stripe stand-in (devstack.stripe) over real HTTP, driven by the official `stripe` library
where the product would use it, and by plain HTTP where the Edge Function does.

The stand-in and a tiny webhook receiver (an ASGI app) each run in a thread on a free
loopback port. Webhook retries are scaled down (first retry after RETRY_BASE seconds), and
every wait polls with a deadline instead of sleeping a fixed time.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode

import httpx
import pytest
import stripe
from stripe.params.checkout import SessionCreateParams

from devstack.serving import AppServer
from devstack.stripe import PriceConfig, Settings, create_app, sign_payload
from devstack.stripe.loopback import loopback_problem
from tests.support.ports import free_port

KEY = "sk_test_standin_key_1234"
WHSEC = "whsec_test_standin_secret"
RETRY_BASE = 0.2
MAX_ATTEMPTS = 3
DEADLINE = 10.0
PRICES = (
    PriceConfig("starter", "price_test_starter", 14900, 50),
    PriceConfig("growth", "price_test_growth", 29900, 100),
)

GROWTH = "price_test_growth"
PRICE_0 = "line_items[0][price]"
QUANTITY_0 = "line_items[0][quantity]"

Scope = dict[str, Any]
Message = dict[str, Any]


# -- a webhook receiver ---------------------------------------------------------------------
@dataclass(frozen=True)
class Received:
    at: float  # time.monotonic() when the request arrived
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


class Receiver:
    """POST /webhook is recorded and answered with the next scripted status (200 when none
    is left); GET /success and /cancel answer a plain page, standing in for the portal."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.received: list[Received] = []
        self._changed = threading.Condition()

    def reset(self, statuses: list[int] | None = None) -> None:
        with self._changed:
            self.statuses = list(statuses or [])
            self.received.clear()

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status = 200
        if scope["method"] == "POST":
            with self._changed:
                status = self.statuses.pop(0) if self.statuses else 200
                headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
                self.received.append(
                    Received(time.monotonic(), scope["path"], headers, body, status)
                )
                self._changed.notify_all()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": f"answered {status}".encode()})

    def wait_for(self, count: int, deadline: float = DEADLINE) -> list[Received]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.received) >= count, deadline):
                raise AssertionError(f"{count} webhook(s) expected, got {len(self.received)}")
            return list(self.received)


# -- fixtures -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, str]]:
    app = Receiver()
    with AppServer(app, "the webhook receiver") as running:
        yield app, running.url


@pytest.fixture
def server(receiver: tuple[Receiver, str]) -> Iterator[AppServer]:
    """A fresh stand-in per test: no session, event or pending delivery carries over."""
    settings = Settings(
        secret_key=KEY,
        webhook_secret=WHSEC,
        webhook_urls=(f"{receiver[1]}/webhook",),
        prices=PRICES,
        retry_base_seconds=RETRY_BASE,
        max_attempts=MAX_ATTEMPTS,
        attempt_timeout_seconds=2.0,
        pay_wait_seconds=2.0,
    )
    with AppServer(create_app(settings), "the Stripe stand-in") as running:
        yield running


@pytest.fixture
def hook(receiver: tuple[Receiver, str], http: httpx.Client) -> Receiver:
    receiver[0].reset()
    return receiver[0]


@pytest.fixture
def portal(receiver: tuple[Receiver, str]) -> str:
    """Where success_url and cancel_url point: the receiver's GET pages."""
    return receiver[1]


@pytest.fixture
def http(server: AppServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10, trust_env=False) as client:
        yield client


@pytest.fixture
def client(server: AppServer, http: httpx.Client) -> stripe.StripeClient:
    return stripe.StripeClient(KEY, base_addresses={"api": server.url}, max_network_retries=0)


def session_params(portal: str, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [{"price": "price_test_growth", "quantity": 1}],
        "success_url": f"{portal}/success?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{portal}/cancel",
        "customer_email": "owner@bakery.example",
        "metadata": {"tier": "growth"},
    }
    return params | extra


def create_session(
    client: stripe.StripeClient,
    portal: str,
    options: stripe.RequestOptions | None = None,
    **extra: Any,
) -> stripe.checkout.Session:
    # Plain dicts rather than the library's TypedDict: the tests also send what it would refuse.
    params = cast(SessionCreateParams, session_params(portal, **extra))
    return client.v1.checkout.sessions.create(params=params, options=options)


def admin(http: httpx.Client, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = http.post(f"/_admin{path}", json=body) if body else http.post(f"/_admin{path}")
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def admin_event(http: httpx.Client, event_id: str) -> dict[str, Any]:
    response = http.get("/_admin/events")
    response.raise_for_status()
    found: dict[str, Any] = next(e for e in response.json()["events"] if e["id"] == event_id)
    return found


def wait_until(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def verified(received: Received) -> dict[str, Any]:
    """The event, once its signature is checked the way the product's webhook checks it:
    over the raw bytes, with stripe.Webhook.construct_event."""
    event = stripe.Webhook.construct_event(
        received.body, received.headers["stripe-signature"], WHSEC
    )
    parsed = received.event()
    assert event.id == parsed["id"]
    return parsed


def pay(http: httpx.Client, session_id: str, **form: str) -> httpx.Response:
    return http.post(f"/checkout/{session_id}/pay", data=form, follow_redirects=True)


# -- Checkout Sessions through the official library ----------------------------------------
def test_create_and_retrieve_a_session(
    client: stripe.StripeClient, server: AppServer, portal: str
) -> None:
    session = create_session(client, portal)

    assert session.id.startswith("cs_test_")
    assert session.object == "checkout.session"
    assert session.url == f"{server.url}/checkout/{session.id}"
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert (session.amount_total, session.currency) == (29900, "usd")
    assert session.customer_email == "owner@bakery.example"
    assert session.customer_details is None
    assert session.metadata is not None
    assert session.metadata.to_dict() == {"tier": "growth"}
    assert session.success_url == f"{portal}/success?session_id={{CHECKOUT_SESSION_ID}}"
    assert session.cancel_url == f"{portal}/cancel"
    assert session.payment_intent is None
    assert session.livemode is False
    assert session.expires_at - session.created == 24 * 3600

    again = client.v1.checkout.sessions.retrieve(session.id)
    assert again.to_dict() == session.to_dict()


def test_the_module_level_api_base_works_too(
    server: AppServer, http: httpx.Client, portal: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stripe, "api_key", KEY)
    monkeypatch.setattr(stripe, "api_base", server.url)

    session = stripe.checkout.Session.create(**session_params(portal))
    price = stripe.Price.list().data[0]

    assert stripe.checkout.Session.retrieve(session.id).id == session.id
    assert (price.unit_amount, price.currency, price.type) == (14900, "usd", "one_time")


def test_line_items_sum_into_the_total(client: stripe.StripeClient, portal: str) -> None:
    session = create_session(
        client,
        portal,
        line_items=[
            {"price": "price_test_starter", "quantity": 2},
            {"price": "price_test_growth", "quantity": 1},
        ],
    )

    assert session.amount_total == 2 * 14900 + 29900


def test_updating_a_session_merges_its_metadata_as_stripe_does(
    client: stripe.StripeClient, portal: str, http: httpx.Client
) -> None:
    session = create_session(client, portal)

    updated = client.v1.checkout.sessions.update(
        session.id, params={"metadata": {"checkout_proof": "v1.abc"}}
    )
    assert updated.metadata is not None
    assert updated.metadata.to_dict() == {"tier": "growth", "checkout_proof": "v1.abc"}
    # An empty value unsets one key; the session as retrieved (and in its events) agrees.
    client.v1.checkout.sessions.update(session.id, params={"metadata": {"tier": ""}})
    again = client.v1.checkout.sessions.retrieve(session.id)
    assert again.metadata is not None
    assert again.metadata.to_dict() == {"checkout_proof": "v1.abc"}
    # Only metadata may change: the price paid cannot be edited this way.
    refused = http.post(
        f"/v1/checkout/sessions/{session.id}",
        data={"line_items[0][price]": "price_test_starter"},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "line_items"


def test_unknown_sessions_are_404_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.retrieve("cs_test_nope")

    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"
    assert "cs_test_nope" in str(raised.value.user_message)


def test_a_wrong_key_is_refused_with_401(server: AppServer, http: httpx.Client) -> None:
    wrong = stripe.StripeClient(
        "sk_test_wrong_key_9876", base_addresses={"api": server.url}, max_network_retries=0
    )
    with pytest.raises(stripe.AuthenticationError) as raised:
        wrong.v1.prices.list()
    assert raised.value.http_status == 401

    missing = http.get("/v1/prices")
    bad = http.get("/v1/prices", headers={"Authorization": "Bearer sk_test_zz9"})
    for response in (missing, bad):
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert error["message"]
    assert "API key" in missing.json()["error"]["message"]
    # The wrong key is echoed masked, never whole.
    assert "sk_test_zz9" not in bad.text


@pytest.mark.parametrize(
    ("change", "param", "code"),
    [
        ({"mode": None}, "mode", "parameter_missing"),
        ({"mode": "subscription"}, "mode", "parameter_invalid"),
        ({"line_items": None}, "line_items", "parameter_missing"),
        ({"line_items": [{"price": "price_nope", "quantity": 1}]}, PRICE_0, "resource_missing"),
        ({"line_items": [{"quantity": 1}]}, PRICE_0, "parameter_missing"),
        ({"line_items": [{"price": GROWTH}]}, QUANTITY_0, "parameter_missing"),
        (
            {"line_items": [{"price": GROWTH, "quantity": "many"}]},
            QUANTITY_0,
            "parameter_invalid_integer",
        ),
        ({"line_items": [{"price": GROWTH, "quantity": 0}]}, QUANTITY_0, "parameter_invalid"),
        ({"success_url": None}, "success_url", "parameter_missing"),
        ({"success_url": "javascript:alert(1)"}, "success_url", "url_invalid"),
        ({"cancel_url": "/relative"}, "cancel_url", "url_invalid"),
        ({"customer_email": "not-an-email"}, "customer_email", "email_invalid"),
        ({"metadata": {"k" * 41: "v"}}, f"metadata[{'k' * 41}]", "parameter_invalid"),
        ({"client_reference_id": "order-42"}, "client_reference_id", "parameter_unknown"),
        ({"shipping_options": [{"shipping_rate": "s"}]}, "shipping_options", "parameter_unknown"),
    ],
)
def test_bad_params_are_400_naming_the_param(
    client: stripe.StripeClient, portal: str, change: dict[str, Any], param: str, code: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        create_session(client, portal, **change)

    assert raised.value.http_status == 400
    assert raised.value.param == param
    assert raised.value.code == code
    assert raised.value.error is not None
    assert raised.value.error.type == "invalid_request_error"
    assert raised.value.error.message


def test_the_edge_functions_plain_http_request(http: httpx.Client, portal: str) -> None:
    # What supabase/functions/checkout sends: URLSearchParams encoding, brackets and braces
    # percent-encoded, Bearer auth.
    body = urlencode(
        {
            "mode": "payment",
            "line_items[0][price]": "price_test_starter",
            "line_items[0][quantity]": "1",
            "success_url": f"{portal}/onboarding?session_id={{CHECKOUT_SESSION_ID}}",
            "cancel_url": f"{portal}/pricing?cancelled=1",
            "metadata[tier]": "starter",
        }
    )
    assert "%5B0%5D" in body
    assert "%7BCHECKOUT_SESSION_ID%7D" in body

    response = http.post(
        "/v1/checkout/sessions",
        content=body,
        headers={
            "Authorization": f"Bearer {KEY}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )

    assert response.status_code == 200, response.text
    session = response.json()
    assert session["url"].endswith(f"/checkout/{session['id']}")
    assert session["amount_total"] == 14900
    assert session["metadata"] == {"tier": "starter"}
    assert session["success_url"].endswith("session_id={CHECKOUT_SESSION_ID}")
    assert response.headers["request-id"].startswith("req_")


def test_a_json_body_is_refused(http: httpx.Client) -> None:
    response = http.post(
        "/v1/checkout/sessions",
        json={"mode": "payment"},
        headers={"Authorization": f"Bearer {KEY}"},
    )

    assert response.status_code == 400
    assert "x-www-form-urlencoded" in response.json()["error"]["message"]


def test_unknown_v1_paths_are_404_in_stripes_shape(http: httpx.Client) -> None:
    response = http.get("/v1/customers", headers={"Authorization": f"Bearer {KEY}"})

    assert response.status_code == 404
    assert "Unrecognized request URL (GET: /v1/customers)" in response.json()["error"]["message"]


def test_prices(client: stripe.StripeClient) -> None:
    listed = client.v1.prices.list()
    price = listed.data[1]

    assert (price.object, price.unit_amount, price.currency) == ("price", 29900, "usd")
    assert price.lookup_key == "growth"
    assert isinstance(price.product, str)
    assert price.product.startswith("prod_")
    assert [p.id for p in listed.data] == ["price_test_starter", "price_test_growth"]
    assert [p.id for p in client.v1.prices.list({"limit": 1}).data] == ["price_test_starter"]


def test_prices_and_keys_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "STRIPE_SECRET_KEY": "sk_test_from_env",
            "STRIPE_WEBHOOK_SECRET": "whsec_from_env",
            "STRIPE_WEBHOOK_URL": "http://127.0.0.1:9000/a, http://localhost:9001/b",
            "STRIPE_PRICE_STARTER": "price_1Starter",
            "STRIPE_PRICE_ENTERPRISE_AMOUNT": "123400",
            "STRIPE_WEBHOOK_RETRY_BASE_SECONDS": "0.5",
            "STRIPE_WEBHOOK_MAX_ATTEMPTS": "4",
        }
    )

    assert settings.secret_key == "sk_test_from_env"
    assert settings.webhook_secret == "whsec_from_env"
    assert settings.webhook_urls == ("http://127.0.0.1:9000/a", "http://localhost:9001/b")
    assert [(p.tier, p.id, p.unit_amount) for p in settings.prices] == [
        ("starter", "price_1Starter", 14900),
        ("growth", "price_growth_local", 29900),
        ("professional", "price_professional_local", 59900),
        ("enterprise", "price_enterprise_local", 123400),
    ]
    assert (settings.retry_base_seconds, settings.max_attempts) == (0.5, 4)
    assert Settings.from_env({}).secret_key == "sk_test_local_dev"
    assert Settings.from_env({}).webhook_secret == "whsec_local_dev"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"STRIPE_SECRET_KEY": "sk_live_abcdef"}, "STRIPE_SECRET_KEY"),
        ({"STRIPE_WEBHOOK_URL": "http://example.com/hook"}, "STRIPE_WEBHOOK_URL"),
        ({"STRIPE_WEBHOOK_URL": "http://10.0.0.8/hook"}, "STRIPE_WEBHOOK_URL"),
        ({"STRIPE_PRICE_GROWTH_AMOUNT": "lots"}, "STRIPE_PRICE_GROWTH_AMOUNT"),
    ],
)
def test_bad_configuration_is_refused_naming_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ValueError, match=named) as raised:
        Settings.from_env(env)
    assert "sk_live_abcdef" not in str(raised.value)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:8000/webhook", True),
        ("https://localhost/webhook", True),
        ("http://[::1]:8000/", True),
        ("http://127.8.9.10/", True),
        ("http://example.com/webhook", False),
        ("http://192.168.1.5/webhook", False),
        ("http://127.0.0.1.nip.io/", False),
        ("ftp://127.0.0.1/", False),
        ("http://127.0.0.1:notaport/", False),
    ],
)
def test_only_loopback_webhook_urls(url: str, allowed: bool) -> None:
    assert (loopback_problem(url) is None) is allowed


def test_endpoints_can_be_changed_to_loopback_urls_only(http: httpx.Client) -> None:
    refused = http.put("/_admin/webhook_endpoints", json={"urls": ["http://example.com/hook"]})
    accepted = http.put("/_admin/webhook_endpoints", json={"urls": ["http://127.0.0.1:1/h"]})

    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "urls[0]"
    assert accepted.json() == {"urls": ["http://127.0.0.1:1/h"]}


# -- the hosted checkout page ---------------------------------------------------------------
def test_the_hosted_page_shows_the_order(
    client: stripe.StripeClient, http: httpx.Client, portal: str
) -> None:
    session = create_session(client, portal)

    page = http.get(f"/checkout/{session.id}")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    html = page.text
    assert '<html lang="en">' in html
    assert "DirectoryBolt Growth — 100 directories" in html
    assert "$299.00" in html
    assert 'value="owner@bakery.example"' in html
    assert '<label for="email">Email</label>' in html
    assert f'<form method="post" action="/checkout/{session.id}/pay">' in html
    assert '<button type="submit">Pay $299.00</button>' in html
    assert f'<a href="{portal}/cancel">Cancel and go back</a>' in html
    assert "<legend>Payment method</legend>" in html


def test_the_hosted_page_escapes_what_it_shows(
    client: stripe.StripeClient, http: httpx.Client, portal: str
) -> None:
    session = create_session(
        client, portal, cancel_url=f'{portal}/cancel?x="><script>alert(1)</script>'
    )

    html = http.get(f"/checkout/{session.id}").text

    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_unknown_sessions_have_no_page(http: httpx.Client) -> None:
    assert http.get("/checkout/cs_test_nope").status_code == 404
    assert http.post("/checkout/cs_test_nope/pay", data={}).status_code == 404


def test_paying_redirects_to_success_and_delivers_a_signed_event(
    client: stripe.StripeClient, http: httpx.Client, hook: Receiver, portal: str
) -> None:
    session = create_session(client, portal)

    landed = pay(http, session.id, name="Ada Baker", outcome="card")

    assert landed.history[0].status_code == 303
    assert str(landed.url) == f"{portal}/success?session_id={session.id}"
    assert landed.status_code == 200
    # The first delivery attempt was made before the redirect: the receiver already has it.
    webhooks = [r for r in hook.received if r.path == "/webhook"]
    assert len(webhooks) == 1
    received = webhooks[0]
    assert received.headers["content-type"].startswith("application/json")
    assert received.headers["user-agent"].startswith("Stripe/1.0")
    event = verified(received)
    assert event["type"] == "checkout.session.completed"
    assert event["id"].startswith("evt_")
    assert event["object"] == "event"
    assert event["livemode"] is False
    assert event["api_version"] == stripe.api_version
    assert event["pending_webhooks"] == 1
    assert event["request"] == {"id": None, "idempotency_key": None}
    paid = event["data"]["object"]
    assert (paid["id"], paid["status"], paid["payment_status"]) == (session.id, "complete", "paid")
    assert paid["payment_intent"].startswith("pi_")
    assert paid["metadata"] == {"tier": "growth"}
    assert paid["customer_details"]["email"] == "owner@bakery.example"
    assert paid["customer_details"]["name"] == "Ada Baker"
    assert paid["url"] is None

    retrieved = client.v1.checkout.sessions.retrieve(session.id)
    assert (retrieved.status, retrieved.payment_status) == ("complete", "paid")
    assert retrieved.payment_intent == paid["payment_intent"]

    # The signature binds the payload and the secret.
    header = received.headers["stripe-signature"]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(received.body, header, "whsec_someone_else")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(received.body.replace(b"paid", b"unpaid"), header, WHSEC)
    timestamp = header.split(",")[0].removeprefix("t=")
    assert header == sign_payload(received.body.decode(), WHSEC, int(timestamp))

    delivery = admin_event(http, event["id"])["deliveries"][0]
    wait_until(
        lambda: admin_event(http, event["id"])["deliveries"][0]["status"] == "succeeded", "success"
    )
    assert delivery["trigger"] == "automatic"
    assert [a["status_code"] for a in delivery["attempts"]] == [200]


def test_a_paid_session_cannot_be_paid_again(
    client: stripe.StripeClient, http: httpx.Client, hook: Receiver, portal: str
) -> None:
    session = create_session(client, portal)
    pay(http, session.id)

    again = http.post(f"/checkout/{session.id}/pay", data={})
    page = http.get(f"/checkout/{session.id}")

    assert again.status_code == 409
    assert "This checkout is complete" in page.text
    assert len(hook.received) == 1


def test_the_page_asks_for_an_email_when_the_session_has_none(
    client: stripe.StripeClient, http: httpx.Client, hook: Receiver, portal: str
) -> None:
    session = create_session(client, portal, customer_email=None)

    refused = http.post(f"/checkout/{session.id}/pay", data={"email": "nope"})

    assert refused.status_code == 400
    assert 'role="alert"' in refused.text
    assert 'aria-describedby="form-error" aria-invalid="true"' in refused.text
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"

    landed = pay(http, session.id, email="buyer@shop.example")
    assert landed.status_code == 200
    assert verified(hook.wait_for(1)[0])["data"]["object"]["customer_details"]["email"] == (
        "buyer@shop.example"
    )


def test_cancelling_leaves_the_session_open(
    client: stripe.StripeClient, http: httpx.Client, portal: str
) -> None:
    session = create_session(client, portal)

    html = http.get(f"/checkout/{session.id}").text
    cancelled = http.get(f"{portal}/cancel")

    assert f'href="{portal}/cancel"' in html
    assert cancelled.status_code == 200
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"


# -- webhook retries ------------------------------------------------------------------------
def test_failed_deliveries_are_retried_with_growing_gaps(
    client: stripe.StripeClient, http: httpx.Client, hook: Receiver, portal: str
) -> None:
    hook.reset(statuses=[500, 500])
    session = create_session(client, portal)

    pay(http, session.id)
    attempts = hook.wait_for(3)

    assert [a.status for a in attempts] == [500, 500, 200]
    events = [verified(a) for a in attempts]  # each attempt is signed afresh, all valid
    assert len({e["id"] for e in events}) == 1
    first_gap = attempts[1].at - attempts[0].at
    second_gap = attempts[2].at - attempts[1].at
    assert first_gap >= RETRY_BASE * 0.9
    assert second_gap > first_gap

    event_id = events[0]["id"]
    wait_until(lambda: admin_event(http, event_id)["deliveries"][0]["status"] == "succeeded", "it")
    recorded = admin_event(http, event_id)["deliveries"][0]["attempts"]
    assert [a["status_code"] for a in recorded] == [500, 500, 200]
    assert [a["number"] for a in recorded] == [1, 2, 3]
    assert recorded[0]["next_retry_at"] is not None
    assert recorded[0]["response_excerpt"] == "answered 500"


def test_deliveries_give_up_after_max_attempts(
    client: stripe.StripeClient, http: httpx.Client, hook: Receiver, portal: str
) -> None:
    hook.reset(statuses=[503] * MAX_ATTEMPTS)
    session = create_session(client, portal)

    pay(http, session.id)
    hook.wait_for(MAX_ATTEMPTS)

    def gave_up() -> bool:
        events = http.get("/_admin/events").json()["events"]
        return bool(events[0]["deliveries"][0]["status"] == "failed")

    wait_until(gave_up, "the delivery to give up")
    assert len(hook.received) == MAX_ATTEMPTS
    event = http.get("/_admin/events").json()["events"][0]
    assert event["pending_webhooks"] == 1


def test_connection_errors_are_retried_and_recorded(
    client: stripe.StripeClient, http: httpx.Client, portal: str
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}/webhook"
    http.put("/_admin/webhook_endpoints", json={"urls": [dead]}).raise_for_status()
    session = create_session(client, portal)

    pay(http, session.id)

    def attempts() -> list[dict[str, Any]]:
        events = http.get("/_admin/events").json()["events"]
        recorded: list[dict[str, Any]] = events[0]["deliveries"][0]["attempts"]
        return recorded

    wait_until(lambda: len(attempts()) == MAX_ATTEMPTS, "every attempt")
    assert all(a["status_code"] is None and "Connect" in a["error"] for a in attempts())


def test_events_go_to_every_endpoint(
    client: stripe.StripeClient, http: httpx.Client, hook: Receiver, portal: str
) -> None:
    urls = [f"{portal}/webhook", f"{portal}/second"]
    http.put("/_admin/webhook_endpoints", json={"urls": urls}).raise_for_status()

    pay(http, create_session(client, portal).id)

    paths = sorted(r.path for r in hook.wait_for(2))
    assert paths == ["/second", "/webhook"]


# -- after the payment ---------------------------------------------------------------------
def test_refund_emits_charge_refunded(
    client: stripe.StripeClient, http: httpx.Client, hook: Receiver, portal: str
) -> None:
    session = create_session(client, portal)
    pay(http, session.id)
    payment_intent = client.v1.checkout.sessions.retrieve(session.id).payment_intent

    partial = admin(http, f"/sessions/{session.id}/refund", {"amount": 1000})
    rest = admin(http, f"/sessions/{session.id}/refund")

    assert partial["type"] == rest["type"] == "charge.refunded"
    received = hook.wait_for(3)
    charge = verified(received[2])["data"]["object"]
    assert charge["object"] == "charge"
    assert charge["id"].startswith("ch_")
    assert charge["payment_intent"] == payment_intent
    assert (charge["amount"], charge["amount_refunded"], charge["refunded"]) == (29900, 29900, True)
    assert verified(received[1])["data"]["object"]["amount_refunded"] == 1000
    assert rest["request"]["id"].startswith("req_")
    refused = http.post(f"/_admin/sessions/{session.id}/refund")
    assert refused.status_code == 400
    assert "already been refunded" in refused.json()["error"]["message"]


def test_refunds_api_as_stripe_python_calls_it(
    client: stripe.StripeClient, http: httpx.Client, hook: Receiver, portal: str
) -> None:
    """POST /v1/refunds: Stripe's refund object, charge.refunded, the Idempotency-Key replay
    (one refund however often it is asked), and Stripe's errors for what it refuses."""
    session = create_session(client, portal)
    pay(http, session.id)
    intent = str(client.v1.checkout.sessions.retrieve(session.id).payment_intent)
    params: Any = {
        "payment_intent": intent,
        "amount": 1000,
        "reason": "requested_by_customer",
        "metadata": {"kind": "shortfall"},
    }
    options: Any = {"idempotency_key": "order-1-shortfall"}

    refund = client.v1.refunds.create(params=params, options=options)
    again = client.v1.refunds.create(params=params, options=options)

    assert refund.id.startswith("re_")
    assert again.id == refund.id
    assert (refund.object, refund.amount, refund.status) == ("refund", 1000, "succeeded")
    assert (refund.payment_intent, refund.currency, refund.reason) == (
        intent,
        "usd",
        "requested_by_customer",
    )
    assert refund.to_dict()["metadata"]["kind"] == "shortfall"
    listed = http.get("/_admin/refunds").json()["refunds"]
    assert [r["id"] for r in listed if r["payment_intent"] == intent] == [refund.id]
    charge = verified(hook.wait_for(2)[1])
    assert charge["type"] == "charge.refunded"
    assert charge["data"]["object"]["amount_refunded"] == 1000

    replayed = http.post(
        "/v1/refunds",
        headers={"Authorization": f"Bearer {KEY}", "Idempotency-Key": "order-1-shortfall"},
        data={
            "payment_intent": intent,
            "amount": "1000",
            "reason": "requested_by_customer",
            "metadata[kind]": "shortfall",
        },
    )
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json()["id"] == refund.id

    with pytest.raises(stripe.IdempotencyError):
        client.v1.refunds.create(params=cast(Any, {**params, "amount": 2000}), options=options)
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create(params={"payment_intent": intent, "amount": 999999})
    assert (too_much.value.code, too_much.value.param) == ("amount_too_large", "amount")
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.refunds.create(params={"payment_intent": "pi_nope"})
    assert (unknown.value.code, unknown.value.param) == ("resource_missing", "payment_intent")
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={})
    rest = client.v1.refunds.create(params={"payment_intent": intent})
    assert rest.amount == 29900 - 1000
    with pytest.raises(stripe.InvalidRequestError) as done:
        client.v1.refunds.create(params={"payment_intent": intent})
    assert done.value.code == "charge_already_refunded"


def test_unpaid_sessions_cannot_be_refunded_or_disputed(
    client: stripe.StripeClient, http: httpx.Client, portal: str
) -> None:
    session = create_session(client, portal)

    for action in ("refund", "dispute"):
        response = http.post(f"/_admin/sessions/{session.id}/{action}")
        assert response.status_code == 400
        assert "no successful charge" in response.json()["error"]["message"]
    assert http.post("/_admin/sessions/cs_test_nope/refund").status_code == 404


def test_dispute_emits_charge_dispute_created(
    client: stripe.StripeClient, http: httpx.Client, hook: Receiver, portal: str
) -> None:
    session = create_session(client, portal)
    pay(http, session.id)
    payment_intent = verified(hook.wait_for(1)[0])["data"]["object"]["payment_intent"]

    answer = admin(http, f"/sessions/{session.id}/dispute", {"reason": "product_not_received"})

    dispute = verified(hook.wait_for(2)[1])["data"]["object"]
    assert answer["type"] == "charge.dispute.created"
    assert dispute["object"] == "dispute"
    assert dispute["id"].startswith("dp_")
    assert dispute["charge"].startswith("ch_")
    assert dispute["payment_intent"] == payment_intent
    assert (dispute["amount"], dispute["reason"], dispute["status"]) == (
        29900,
        "product_not_received",
        "needs_response",
    )
    assert http.post(f"/_admin/sessions/{session.id}/dispute").status_code == 400


def test_async_payment_failure_through_the_admin_api(
    client: stripe.StripeClient, http: httpx.Client, hook: Receiver, portal: str
) -> None:
    session = create_session(client, portal)

    answer = admin(http, f"/sessions/{session.id}/async_payment_failed")

    completed, failed = (verified(r) for r in hook.wait_for(2))
    assert answer["type"] == "checkout.session.async_payment_failed"
    assert completed["type"] == "checkout.session.completed"
    assert completed["data"]["object"]["payment_status"] == "unpaid"
    assert failed["type"] == "checkout.session.async_payment_failed"
    assert (failed["data"]["object"]["status"], failed["data"]["object"]["payment_status"]) == (
        "complete",
        "unpaid",
    )
    assert http.post(f"/_admin/sessions/{session.id}/async_payment_failed").status_code == 400


def test_pay_but_fail_on_the_hosted_page(
    client: stripe.StripeClient, http: httpx.Client, hook: Receiver, portal: str
) -> None:
    session = create_session(client, portal)

    landed = pay(http, session.id, outcome="debit_fails")

    # A delayed method completes the session, so the buyer lands on success_url anyway.
    assert str(landed.url) == f"{portal}/success?session_id={session.id}"
    types = [verified(r)["type"] for r in hook.wait_for(2)]
    assert types == ["checkout.session.completed", "checkout.session.async_payment_failed"]
    retrieved = client.v1.checkout.sessions.retrieve(session.id)
    assert (retrieved.status, retrieved.payment_status) == ("complete", "unpaid")


def test_a_pending_delayed_payment_can_succeed_later(
    client: stripe.StripeClient, http: httpx.Client, hook: Receiver, portal: str
) -> None:
    session = create_session(client, portal)
    pay(http, session.id, outcome="debit_pending")
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "unpaid"

    admin(http, f"/sessions/{session.id}/async_payment_succeeded")

    types = [verified(r)["type"] for r in hook.wait_for(2)]
    assert types == ["checkout.session.completed", "checkout.session.async_payment_succeeded"]
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"
    assert admin(http, f"/sessions/{session.id}/refund")["type"] == "charge.refunded"


def test_resend_delivers_the_same_event_again(
    client: stripe.StripeClient, http: httpx.Client, hook: Receiver, portal: str
) -> None:
    session = create_session(client, portal)
    pay(http, session.id)
    original = verified(hook.wait_for(1)[0])

    answer = admin(http, f"/events/{original['id']}/resend")

    again = verified(hook.wait_for(2)[1])
    assert again["id"] == original["id"]
    assert again["type"] == original["type"]
    assert answer["resent"][0]["trigger"] == "resend"
    assert answer["resent"][0]["status"] == "succeeded"
    assert [d["trigger"] for d in admin_event(http, original["id"])["deliveries"]] == [
        "automatic",
        "resend",
    ]
    assert http.post("/_admin/events/evt_nope/resend").status_code == 404


def test_events_are_listed_newest_first(
    client: stripe.StripeClient, http: httpx.Client, hook: Receiver, portal: str
) -> None:
    session = create_session(client, portal)
    pay(http, session.id)
    admin(http, f"/sessions/{session.id}/refund")

    listed = http.get("/_admin/events").json()["events"]
    only_refunds = http.get("/_admin/events", params={"type": "charge.refunded"}).json()["events"]

    assert [e["type"] for e in listed] == ["charge.refunded", "checkout.session.completed"]
    assert [e["id"] for e in only_refunds] == [listed[0]["id"]]


# -- the command line -----------------------------------------------------------------------
def test_the_command_line_serves_and_signs_with_the_environments_secrets(
    receiver: tuple[Receiver, str],
) -> None:
    hook, url = receiver
    hook.reset()
    port = free_port()
    env = os.environ | {
        "STRIPE_SECRET_KEY": "sk_test_cli_secret_value",
        "STRIPE_WEBHOOK_SECRET": "whsec_cli_secret_value",
        "STRIPE_PRICE_STARTER": "price_cli_starter",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devstack.stripe",
            "--port",
            str(port),
            "--webhook-url",
            f"{url}/webhook",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == f"STRIPE_API_BASE=http://127.0.0.1:{port}"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as http:
            created = wait_for_post(
                http,
                "/v1/checkout/sessions",
                {
                    "mode": "payment",
                    "line_items[0][price]": "price_cli_starter",
                    "line_items[0][quantity]": "1",
                    "success_url": f"{url}/success",
                    "customer_email": "cli@example.com",
                },
                {"Authorization": "Bearer sk_test_cli_secret_value"},
            )
            paid = pay(http, created["id"])
            assert paid.status_code == 200, (paid.status_code, paid.text[:500])
        received = hook.wait_for(1)[0]
        stripe.Webhook.construct_event(
            received.body, received.headers["stripe-signature"], "whsec_cli_secret_value"
        )
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    assert "stripe.webhook_attempt" in stderr
    # Neither secret reaches the logs.
    assert "sk_test_cli_secret_value" not in stderr
    assert "whsec_cli_secret_value" not in stderr


def test_the_command_line_refuses_a_non_loopback_webhook_url() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "devstack.stripe", "--webhook-url", "http://example.com/hook"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert finished.returncode == 2
    assert "STRIPE_WEBHOOK_URL" in finished.stderr
    assert "not a loopback address" in finished.stderr


def wait_for_post(
    http: httpx.Client, path: str, form: dict[str, str], headers: dict[str, str]
) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while True:
        try:
            response = http.post(path, data=form, headers=headers)
            assert response.status_code == 200, response.text
            answer: dict[str, Any] = response.json()
            return answer
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
