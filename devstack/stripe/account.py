"""The stand-in's one Stripe account: prices, Checkout Sessions, charges and events.

Every state change that Stripe announces with an event goes through `_publish`, which
records the event, starts its deliveries and waits (briefly, bounded by pay_wait_seconds)
for their first attempts, so callers see deterministic behaviour locally. Routes run on the
event loop only, so no lock is needed.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from devstack.stripe.errors import StripeError, no_such
from devstack.stripe.idempotency import IdempotencyKeys
from devstack.stripe.ids import new_id, request_id, session_id
from devstack.stripe.objects import (
    Charge,
    CheckoutSession,
    Dispute,
    Refund,
    new_line_item,
    now,
    price_json,
)
from devstack.stripe.session_params import SessionRequest
from devstack.stripe.settings import Settings
from devstack.stripe.webhooks import Event, WebhookDispatcher

log = logging.getLogger(__name__)

# card: paid at once. debit_fails / debit_pending: a delayed method (a bank debit); the session
# completes unpaid, then the payment fails at once / waits for an admin call to settle it.
Outcome = Literal["card", "debit_fails", "debit_pending"]
AsyncState = Literal["pending", "failed", "succeeded"]


class Account:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.webhooks = WebhookDispatcher(settings)
        self.created = now()
        self._products = {price.id: new_id("prod", 14) for price in settings.prices}
        self.sessions: dict[str, CheckoutSession] = {}
        self.events: dict[str, Event] = {}
        self._async: dict[str, AsyncState] = {}
        self.refunds: dict[str, Refund] = {}
        self.idempotency = IdempotencyKeys()

    # -- prices -----------------------------------------------------------------------------
    def price(self, price_id: str) -> dict[str, Any]:
        price = self.settings.price(price_id)
        if price is None:
            raise no_such("price", price_id)
        return price_json(price, self._products[price.id], self.created)

    def prices(self) -> list[dict[str, Any]]:
        return [self.price(price.id) for price in self.settings.prices]

    # -- sessions ---------------------------------------------------------------------------
    def create_session(self, request: SessionRequest, hosted_base: str) -> CheckoutSession:
        new = session_id()
        session = CheckoutSession(
            id=new,
            url=f"{hosted_base}/checkout/{new}",
            success_url=request.success_url,
            cancel_url=request.cancel_url,
            line_items=[
                new_line_item(price, self.price(price.id), quantity)
                for price, quantity in request.items
            ],
            customer_email=request.customer_email,
            metadata=request.metadata,
        )
        self.sessions[session.id] = session
        log.info(
            "checkout session created",
            extra={
                "action": "stripe.session_created",
                "session_id": session.id,
                "amount_total": session.amount_total,
                "metadata": session.metadata,
            },
        )
        return session

    def session(self, session_id: str, param: str = "session") -> CheckoutSession:
        session = self.sessions.get(session_id)
        if session is None:
            raise no_such("checkout.session", session_id, param)
        return session

    # -- paying -----------------------------------------------------------------------------
    async def pay(
        self, session: CheckoutSession, email: str, name: str | None, outcome: Outcome
    ) -> list[Event]:
        if session.status != "open":
            raise StripeError(400, f"This Checkout Session is {session.status}, not open.")
        session.status = "complete"
        session.paid_email = email
        session.customer_name = name
        session.payment_intent = new_id("pi")
        if outcome == "card":
            self._charge(session)
        else:
            self._async[session.id] = "pending"
        log.info(
            "checkout session completed",
            extra={
                "action": "stripe.session_completed",
                "session_id": session.id,
                "outcome": outcome,
                "payment_status": session.payment_status,
            },
        )
        events = [await self._publish("checkout.session.completed", session.to_json())]
        if outcome == "debit_fails":
            events.append(await self.async_payment_failed(session))
        return events

    async def async_payment_failed(self, session: CheckoutSession) -> Event:
        self._require_async_pending(session)
        self._async[session.id] = "failed"
        return await self._publish("checkout.session.async_payment_failed", session.to_json())

    async def async_payment_succeeded(self, session: CheckoutSession) -> Event:
        self._require_async_pending(session)
        self._async[session.id] = "succeeded"
        self._charge(session)
        return await self._publish("checkout.session.async_payment_succeeded", session.to_json())

    def _require_async_pending(self, session: CheckoutSession) -> None:
        state = self._async.get(session.id)
        if state != "pending":
            why = "is paid" if session.payment_status == "paid" else f"is {session.status}"
            if state is not None:
                why = f"already had its delayed payment {state}"
            raise StripeError(
                400, f"Checkout Session {session.id} {why}: no delayed payment is pending."
            )

    def _charge(self, session: CheckoutSession) -> None:
        assert session.payment_intent is not None
        assert session.paid_email is not None
        session.payment_status = "paid"
        session.charge = Charge(
            id=new_id("ch"),
            amount=session.amount_total,
            currency=session.currency,
            payment_intent=session.payment_intent,
            email=session.paid_email,
            name=session.customer_name,
        )

    # -- after the payment ------------------------------------------------------------------
    async def refund(self, session: CheckoutSession, amount: int | None) -> Event:
        """A dashboard refund (the test controls): the refund made, and its charge.refunded."""
        refund = self.check_refund(self._paid_charge(session), amount)
        # A dashboard refund is an API request, so Stripe's event names one.
        return await self.make_refund(refund, request_id())

    def charge_for_intent(self, payment_intent: str) -> Charge:
        for session in self.sessions.values():
            if session.payment_intent == payment_intent and session.charge is not None:
                return session.charge
        raise no_such("payment_intent", payment_intent, "payment_intent")

    def charge_by_id(self, charge_id: str) -> Charge:
        for session in self.sessions.values():
            if session.charge is not None and session.charge.id == charge_id:
                return session.charge
        raise no_such("charge", charge_id, "charge")

    def check_refund(
        self,
        charge: Charge,
        amount: int | None,
        reason: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> Refund:
        """The refund Stripe would make, or Stripe's refusal (nothing changes until
        make_refund)."""
        remaining = charge.amount - charge.amount_refunded
        if remaining == 0:
            raise StripeError(
                400,
                f"Charge {charge.id} has already been refunded.",
                code="charge_already_refunded",
            )
        if charge.disputed:
            raise StripeError(
                400,
                f"Charge {charge.id} has been charged back; cannot issue a refund.",
                code="charge_disputed",
            )
        amount = remaining if amount is None else amount
        if amount > remaining:
            raise StripeError(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({remaining})",
                param="amount",
                code="amount_too_large",
            )
        if amount < 1:
            raise StripeError(
                400, "Amount must be at least 1 cent", param="amount", code="amount_too_small"
            )
        return Refund(new_id("re"), charge, amount, reason, metadata or {})

    async def make_refund(self, refund: Refund, request: str) -> Event:
        refund.charge.amount_refunded += refund.amount
        self.refunds[refund.id] = refund
        log.info(
            "refund created",
            extra={
                "action": "stripe.refund_created",
                "refund_id": refund.id,
                "payment_intent": refund.charge.payment_intent,
                "amount": refund.amount,
            },
        )
        return await self._publish("charge.refunded", refund.charge.to_json(), request)

    async def dispute(self, session: CheckoutSession, reason: str) -> Event:
        charge = self._paid_charge(session)
        if session.dispute is not None:
            raise StripeError(400, f"Charge {charge.id} is already disputed.")
        charge.disputed = True
        session.dispute = Dispute(new_id("dp"), charge, reason)
        return await self._publish("charge.dispute.created", session.dispute.to_json())

    def _paid_charge(self, session: CheckoutSession) -> Charge:
        if session.charge is None:
            raise StripeError(
                400,
                f"Checkout Session {session.id} has no successful charge "
                f"(status {session.status}, payment_status {session.payment_status}).",
            )
        return session.charge

    # -- events -----------------------------------------------------------------------------
    def event(self, event_id: str) -> Event:
        event = self.events.get(event_id)
        if event is None:
            raise no_such("event", event_id)
        return event

    async def _publish(
        self, event_type: str, data_object: dict[str, Any], request: str | None = None
    ) -> Event:
        event = Event(event_type, data_object, self.settings.api_version, request_id=request)
        self.events[event.id] = event
        self.webhooks.dispatch(event)
        log.info(
            "event created",
            extra={
                "action": "stripe.event_created",
                "event_id": event.id,
                "event_type": event_type,
                "object_id": data_object.get("id"),
                "endpoints": len(event.deliveries),
            },
        )
        await self.webhooks.wait_first_attempts(event.deliveries, self.settings.pay_wait_seconds)
        return event
