"""Events and their webhook deliveries: signed as Stripe signs, retried as Stripe retries.

Each event goes to every endpoint configured when it happened. A delivery runs as a
background task: one attempt, then, on a non-2xx answer, a timeout or a connection error,
retries after retry_base_seconds * 1, 2, 4, … until max_attempts. Every attempt is recorded
for `/_admin/events`. Only loopback URLs are ever contacted: the check runs before connecting.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from devstack.stripe.ids import new_id
from devstack.stripe.loopback import loopback_problem
from devstack.stripe.settings import Settings

log = logging.getLogger(__name__)

Trigger = Literal["automatic", "resend"]
DeliveryStatus = Literal["pending", "succeeded", "failed"]
_RESPONSE_EXCERPT = 500


def sign_payload(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header: `t=<unix>,v1=hex(HMAC_SHA256(secret, "<t>.<payload>"))`."""
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256)
    return f"t={stamp},v1={digest.hexdigest()}"


@dataclass
class Attempt:
    number: int
    started_at: float
    duration_ms: int
    status_code: int | None
    error: str | None
    response_excerpt: str | None
    next_retry_at: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "started_at": self.started_at,
            "duration_ms": self.duration_ms,
            "status_code": self.status_code,
            "succeeded": self.succeeded,
            "error": self.error,
            "response_excerpt": self.response_excerpt,
            "next_retry_at": self.next_retry_at,
        }


@dataclass
class Delivery:
    endpoint: str
    trigger: Trigger
    status: DeliveryStatus = "pending"
    attempts: list[Attempt] = field(default_factory=list)
    first_attempt_done: asyncio.Event = field(default_factory=asyncio.Event)

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "trigger": self.trigger,
            "status": self.status,
            "attempts": [attempt.to_json() for attempt in self.attempts],
        }


@dataclass
class Event:
    type: str
    data_object: dict[str, Any]  # a snapshot: later changes to the object do not show here
    api_version: str
    id: str = field(default_factory=lambda: new_id("evt"))
    created: int = field(default_factory=lambda: int(time.time()))
    request_id: str | None = None
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def pending_webhooks(self) -> int:
        # Stripe counts the endpoints this event has not yet been delivered to successfully.
        automatic = [d for d in self.deliveries if d.trigger == "automatic"]
        return sum(1 for d in automatic if d.status != "succeeded")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "event",
            "api_version": self.api_version,
            "created": self.created,
            "data": {"object": self.data_object},
            "livemode": False,
            "pending_webhooks": self.pending_webhooks,
            "request": {"id": self.request_id, "idempotency_key": None},
            "type": self.type,
        }

    def admin_json(self) -> dict[str, Any]:
        return {**self.to_json(), "deliveries": [d.to_json() for d in self.deliveries]}


class WebhookDispatcher:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.endpoints: list[str] = list(settings.webhook_urls)
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def dispatch(self, event: Event) -> list[Delivery]:
        """Start delivering `event` to every current endpoint, in the background."""
        deliveries = [Delivery(endpoint, "automatic") for endpoint in self.endpoints]
        event.deliveries.extend(deliveries)
        for delivery in deliveries:
            task = asyncio.get_running_loop().create_task(self._deliver(event, delivery))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return deliveries

    async def resend(self, event: Event, endpoint: str) -> Delivery:
        """One attempt now, like the dashboard's Resend: it never schedules retries."""
        delivery = Delivery(endpoint, "resend")
        event.deliveries.append(delivery)
        attempt = await self._attempt(event, delivery)
        delivery.status = "succeeded" if attempt.succeeded else "failed"
        return delivery

    @staticmethod
    async def wait_first_attempts(deliveries: list[Delivery], within: float) -> None:
        """Wait until each delivery has made its first attempt, or `within` seconds have passed.

        Waiting never cancels a delivery: it goes on in the background.
        """
        if not deliveries:
            return
        waits = [asyncio.ensure_future(d.first_attempt_done.wait()) for d in deliveries]
        _, pending = await asyncio.wait(waits, timeout=within)
        for waiter in pending:
            waiter.cancel()

    async def _deliver(self, event: Event, delivery: Delivery) -> None:
        # A background loop: every failure is recorded on the delivery and never raised, so
        # one broken receiver cannot take the stand-in down.
        try:
            for number in range(1, self.settings.max_attempts + 1):
                attempt = await self._attempt(event, delivery, number)
                delivery.first_attempt_done.set()
                if attempt.succeeded:
                    delivery.status = "succeeded"
                    return
                if attempt.error and attempt.error.startswith("refused"):
                    break  # a URL that is not loopback never becomes one: no retries
                if number == self.settings.max_attempts:
                    break
                delay = self.settings.retry_base_seconds * 2 ** (number - 1)
                attempt.next_retry_at = time.time() + delay
                await asyncio.sleep(delay)
            delivery.status = "failed"
            log.warning(
                "webhook delivery gave up",
                extra={
                    "action": "stripe.webhook_gave_up",
                    "event_id": event.id,
                    "endpoint": delivery.endpoint,
                    "attempts": len(delivery.attempts),
                },
            )
        except Exception:
            delivery.status = "failed"
            log.exception(
                "webhook delivery crashed",
                extra={"action": "stripe.webhook_crashed", "event_id": event.id},
            )
        finally:
            delivery.first_attempt_done.set()

    async def _attempt(self, event: Event, delivery: Delivery, number: int = 1) -> Attempt:
        started = time.time()
        clock = time.monotonic()
        status_code: int | None = None
        error: str | None = None
        excerpt: str | None = None
        problem = loopback_problem(delivery.endpoint)
        if problem is not None:
            error = f"refused before connecting: {problem}"
        else:
            # Serialised per attempt: pending_webhooks is the count at the time of sending,
            # and each attempt carries a fresh timestamp in its signature, as Stripe's do.
            payload = json.dumps(event.to_json(), indent=2)
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": sign_payload(payload, self.settings.webhook_secret),
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Cache-Control": "no-cache",
                "Accept": "*/*; q=0.5, application/xml",
            }
            try:
                response = await self._http().post(
                    delivery.endpoint, content=payload.encode(), headers=headers
                )
                status_code = response.status_code
                excerpt = response.text[:_RESPONSE_EXCERPT]
            except httpx.TimeoutException:
                error = f"timed out after {self.settings.attempt_timeout_seconds} s"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
        attempt = Attempt(
            number=number,
            started_at=started,
            duration_ms=round((time.monotonic() - clock) * 1000),
            status_code=status_code,
            error=error,
            response_excerpt=excerpt,
        )
        delivery.attempts.append(attempt)
        log.info(
            "webhook attempt",
            extra={
                "action": "stripe.webhook_attempt",
                "event_id": event.id,
                "event_type": event.type,
                "endpoint": delivery.endpoint,
                "trigger": delivery.trigger,
                "attempt": number,
                "status_code": status_code,
                "error": error,
            },
        )
        return attempt

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # trust_env=False: a proxy from the environment must never see these requests.
            self._client = httpx.AsyncClient(
                timeout=self.settings.attempt_timeout_seconds,
                trust_env=False,
                follow_redirects=False,
            )
        return self._client
