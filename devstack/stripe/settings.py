"""What the Stripe stand-in is configured with, from the environment by default."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from dbolt.words import count_of
from devstack.stripe.loopback import require_loopback_url

DEFAULT_SECRET_KEY = "sk_test_local_dev"  # noqa: S105 - the documented local default
DEFAULT_WEBHOOK_SECRET = "whsec_local_dev"  # noqa: S105 - the documented local default
# Not Stripe's: what the checkout Edge Function signs its sessions with and the webhook checks
# (dbolt/checkout_proof.py); the webhook's own local default (webhook/settings.py) is the same.
DEFAULT_CHECKOUT_SIGNING_SECRET = "local-dev-checkout-signing-secret"  # noqa: S105
# The version stripe-python 16.1 pins; webhook events carry the account's version.
API_VERSION = "2026-10-28.endive"


@dataclass(frozen=True)
class PriceConfig:
    """One package's one-time price."""

    tier: str
    id: str
    unit_amount: int  # in the currency's smallest unit (cents)
    directories: int
    currency: str = "usd"

    @property
    def product_name(self) -> str:
        return f"DirectoryBolt {self.tier.title()} — {count_of(self.directories, 'directory')}"


# Package sizes from the design; amounts are local defaults, overridable per tier.
_TIERS: tuple[tuple[str, int, int], ...] = (
    ("starter", 50, 14900),
    ("growth", 100, 29900),
    ("professional", 300, 59900),
    ("enterprise", 500, 99900),
)
DEFAULT_PRICES = tuple(PriceConfig(t, f"price_{t}_local", a, d) for t, d, a in _TIERS)


@dataclass(frozen=True)
class Settings:
    # The only API key accepted; anything else gets Stripe's 401.
    secret_key: str = DEFAULT_SECRET_KEY
    # Signs every webhook, as the endpoint's signing secret does at Stripe.
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    # Where events go; loopback http(s) URLs only, checked here and again before connecting.
    webhook_urls: tuple[str, ...] = ()
    prices: tuple[PriceConfig, ...] = DEFAULT_PRICES
    # Stripe retries a failed delivery with exponential backoff for up to three days; locally
    # the n-th retry waits retry_base_seconds * 2**(n-1), and a delivery gives up after
    # max_attempts attempts in all.
    retry_base_seconds: float = 1.0
    max_attempts: int = 6
    attempt_timeout_seconds: float = 5.0
    # How long Pay waits for the first delivery attempts before redirecting, so that a local
    # receiver has usually recorded the payment by the time the browser lands on success_url.
    # Delivery goes on in the background either way.
    pay_wait_seconds: float = 2.0
    api_version: str = API_VERSION

    def __post_init__(self) -> None:
        if not self.secret_key.startswith("sk_test_"):
            # Test mode only: a live key has no business on a developer's machine.
            raise ValueError("STRIPE_SECRET_KEY must be a test-mode key (sk_test_…)")
        if not self.webhook_secret:
            raise ValueError("STRIPE_WEBHOOK_SECRET must not be empty")
        for url in self.webhook_urls:
            require_loopback_url(url, "STRIPE_WEBHOOK_URL")
        ids = [price.id for price in self.prices]
        if len(set(ids)) != len(ids):
            raise ValueError("price ids must be unique")
        for price in self.prices:
            if price.unit_amount <= 0:
                raise ValueError(f"STRIPE_PRICE_{price.tier.upper()}_AMOUNT must be positive")
        if self.retry_base_seconds < 0 or self.max_attempts < 1:
            raise ValueError("retry_base_seconds must be >= 0 and max_attempts >= 1")

    def price(self, price_id: str) -> PriceConfig | None:
        return next((price for price in self.prices if price.id == price_id), None)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read the STRIPE_* variables (see the package README in __main__'s help)."""
        env = dict(os.environ if environ is None else environ)
        currency = (env.get("STRIPE_CURRENCY") or "usd").lower()
        prices = tuple(
            PriceConfig(
                tier=price.tier,
                id=env.get(f"STRIPE_PRICE_{price.tier.upper()}") or price.id,
                unit_amount=_int(
                    env, f"STRIPE_PRICE_{price.tier.upper()}_AMOUNT", price.unit_amount
                ),
                directories=price.directories,
                currency=currency,
            )
            for price in DEFAULT_PRICES
        )
        return cls(
            secret_key=env.get("STRIPE_SECRET_KEY") or DEFAULT_SECRET_KEY,
            webhook_secret=env.get("STRIPE_WEBHOOK_SECRET") or DEFAULT_WEBHOOK_SECRET,
            webhook_urls=split_urls(env.get("STRIPE_WEBHOOK_URL", "")),
            prices=prices,
            retry_base_seconds=_float(env, "STRIPE_WEBHOOK_RETRY_BASE_SECONDS", 1.0),
            max_attempts=_int(env, "STRIPE_WEBHOOK_MAX_ATTEMPTS", 6),
            attempt_timeout_seconds=_float(env, "STRIPE_WEBHOOK_TIMEOUT_SECONDS", 5.0),
        )


def split_urls(value: str) -> tuple[str, ...]:
    """Several endpoints may be given, separated by commas or white space."""
    return tuple(url for url in re.split(r"[\s,]+", value) if url)


def _int(env: dict[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer") from None


def _float(env: dict[str, str], name: str, default: float) -> float:
    value = env.get(name)
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number") from None
