"""The packages' prices from Stripe (each tier's Price has lookup_key = tier), cached, and
amounts as the pages show them."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from dbolt.package_promise import format_amount
from portal.state import PortalState

log = logging.getLogger(__name__)

__all__ = ["format_amount", "stripe_prices"]  # format_amount: one definition, in dbolt

PRICES_EXTRA = "portal_customer.prices"
# Prices change rarely; a page view should not cost a Stripe call.
PRICES_TTL_SECONDS = 300.0


class _PriceCache:
    def __init__(self) -> None:
        self.fetched_at = float("-inf")
        self.by_tier: dict[str, dict[str, Any]] = {}


async def stripe_prices(state: PortalState) -> dict[str, dict[str, Any]]:
    """Each package's Stripe Price (lookup_key = tier), cached; empty when Stripe cannot say."""
    cache = state.extras.setdefault(PRICES_EXTRA, _PriceCache())
    assert isinstance(cache, _PriceCache)
    if time.monotonic() - cache.fetched_at < PRICES_TTL_SECONDS:
        return cache.by_tier
    settings = state.settings
    try:
        response = await state.http.get(
            f"{settings.stripe_api_base.rstrip('/')}/v1/prices",
            params={"active": "true", "limit": "100"},
            headers={"Authorization": f"Bearer {settings.stripe_secret_key.get_secret_value()}"},
        )
        response.raise_for_status()
        prices = response.json().get("data", [])
    except (httpx.HTTPError, ValueError) as error:
        log.warning(
            "stripe prices unavailable",
            extra={"action": "portal.prices_unavailable", "error": type(error).__name__},
        )
        return cache.by_tier
    cache.by_tier = {
        str(price["lookup_key"]): price
        for price in prices
        if isinstance(price, dict) and price.get("lookup_key") and price.get("type") == "one_time"
    }
    cache.fetched_at = time.monotonic()
    return cache.by_tier
