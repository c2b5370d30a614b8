"""The Stripe objects the stand-in keeps, and their JSON as Stripe's API version renders it.

Only fields DirectoryBolt could read are modelled; the rest of each object is present with
Stripe's defaults for a one-time card payment in test mode, so code written against real
payloads does not trip over a missing key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from devstack.stripe.settings import PriceConfig

SessionStatus = Literal["open", "complete"]
# Stripe's default: a session expires 24 hours after it was created. Locally nothing waits
# that long, so sessions are never expired here; the field is only reported.
SESSION_LIFETIME_SECONDS = 24 * 3600
PaymentStatus = Literal["unpaid", "paid", "no_payment_required"]


def now() -> int:
    return int(time.time())


def price_json(price: PriceConfig, product_id: str, created: int) -> dict[str, Any]:
    return {
        "id": price.id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": created,
        "currency": price.currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": price.tier,
        "metadata": {"tier": price.tier, "directories": str(price.directories)},
        "nickname": price.tier.title(),
        "product": product_id,
        "recurring": None,
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "one_time",
        "unit_amount": price.unit_amount,
        "unit_amount_decimal": str(price.unit_amount),
    }


@dataclass
class LineItem:
    price: dict[str, Any]  # the price object as it was when the session was created
    description: str
    quantity: int

    @property
    def amount(self) -> int:
        return int(self.price["unit_amount"]) * self.quantity


@dataclass
class Charge:
    id: str
    amount: int
    currency: str
    payment_intent: str
    email: str
    name: str | None
    created: int = field(default_factory=now)
    amount_refunded: int = 0
    disputed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "charge",
            "amount": self.amount,
            "amount_captured": self.amount,
            "amount_refunded": self.amount_refunded,
            "balance_transaction": None,
            "billing_details": {
                "address": None,
                "email": self.email,
                "name": self.name,
                "phone": None,
            },
            "captured": True,
            "created": self.created,
            "currency": self.currency,
            "customer": None,
            "description": None,
            "disputed": self.disputed,
            "failure_code": None,
            "failure_message": None,
            "livemode": False,
            "metadata": {},
            "outcome": {"network_status": "approved_by_network", "type": "authorized"},
            "paid": True,
            "payment_intent": self.payment_intent,
            "payment_method_details": {"type": "card"},
            "receipt_email": self.email,
            "refunded": self.amount_refunded >= self.amount,
            "status": "succeeded",
        }


@dataclass
class Refund:
    """A refund as `POST /v1/refunds` creates it: card refunds succeed at once in test mode."""

    id: str
    charge: Charge
    amount: int
    reason: str | None
    metadata: dict[str, str]
    created: int = field(default_factory=now)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "refund",
            "amount": self.amount,
            "balance_transaction": None,
            "charge": self.charge.id,
            "created": self.created,
            "currency": self.charge.currency,
            "destination_details": {"card": {"type": "refund"}, "type": "card"},
            "metadata": dict(self.metadata),
            "payment_intent": self.charge.payment_intent,
            "reason": self.reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "succeeded",
            "transfer_reversal": None,
        }


@dataclass
class Dispute:
    id: str
    charge: Charge
    reason: str
    created: int = field(default_factory=now)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "dispute",
            "amount": self.charge.amount,
            "balance_transactions": [],
            "charge": self.charge.id,
            "created": self.created,
            "currency": self.charge.currency,
            "evidence_details": {
                "due_by": self.created + 7 * 24 * 3600,
                "has_evidence": False,
                "past_due": False,
                "submission_count": 0,
            },
            "is_charge_refundable": False,
            "livemode": False,
            "metadata": {},
            "payment_intent": self.charge.payment_intent,
            "reason": self.reason,
            "status": "needs_response",
        }


@dataclass
class CheckoutSession:
    id: str
    url: str  # the hosted page; the JSON shows it only while the session is open
    success_url: str
    cancel_url: str | None
    line_items: list[LineItem]
    customer_email: str | None
    metadata: dict[str, str]
    created: int = field(default_factory=now)
    status: SessionStatus = "open"
    payment_status: PaymentStatus = "unpaid"
    payment_intent: str | None = None
    customer_name: str | None = None
    paid_email: str | None = None
    charge: Charge | None = None
    dispute: Dispute | None = None

    @property
    def currency(self) -> str:
        return str(self.line_items[0].price["currency"])

    @property
    def amount_total(self) -> int:
        return sum(item.amount for item in self.line_items)

    def success_redirect(self) -> str:
        # Stripe replaces the literal template only, wherever it appears in the URL.
        return self.success_url.replace("{CHECKOUT_SESSION_ID}", self.id)

    def to_json(self) -> dict[str, Any]:
        customer_details: dict[str, Any] | None = None
        if self.status == "complete":
            customer_details = {
                "address": None,
                "email": self.paid_email,
                "name": self.customer_name,
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            }
        return {
            "id": self.id,
            "object": "checkout.session",
            "adaptive_pricing": None,
            "after_expiration": None,
            "allow_promotion_codes": None,
            "amount_subtotal": self.amount_total,
            "amount_total": self.amount_total,
            "automatic_tax": {"enabled": False, "liability": None, "status": None},
            "billing_address_collection": None,
            "cancel_url": self.cancel_url,
            "client_reference_id": None,
            "client_secret": None,
            "consent": None,
            "consent_collection": None,
            "created": self.created,
            "currency": self.currency,
            "custom_fields": [],
            "custom_text": {
                "after_submit": None,
                "shipping_address": None,
                "submit": None,
                "terms_of_service_acceptance": None,
            },
            "customer": None,
            "customer_creation": "if_required",
            "customer_details": customer_details,
            "customer_email": self.customer_email,
            "expires_at": self.created + SESSION_LIFETIME_SECONDS,
            "invoice": None,
            "invoice_creation": {"enabled": False, "invoice_data": None},
            "livemode": False,
            "locale": None,
            "metadata": dict(self.metadata),
            "mode": "payment",
            "payment_intent": self.payment_intent,
            "payment_link": None,
            "payment_method_collection": "if_required",
            "payment_method_options": {},
            "payment_method_types": ["card"],
            "payment_status": self.payment_status,
            "phone_number_collection": {"enabled": False},
            "recovered_from": None,
            "setup_intent": None,
            "shipping_address_collection": None,
            "shipping_cost": None,
            "shipping_options": [],
            "status": self.status,
            "submit_type": None,
            "subscription": None,
            "success_url": self.success_url,
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": "hosted",
            "url": self.url if self.status == "open" else None,
        }


def new_line_item(price: PriceConfig, price_object: dict[str, Any], quantity: int) -> LineItem:
    return LineItem(price_object, price.product_name, quantity)
