"""Validating `POST /v1/checkout/sessions` parameters, with Stripe's messages and `param` names.

The parameters modelled are the ones the checkout Edge Function sends. Any other is refused as
unknown rather than silently ignored, so product code never relies on something only real
Stripe would honour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from devstack.stripe.errors import StripeError, bad_param, missing_param
from devstack.stripe.settings import PriceConfig, Settings

_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
_MAX_URL = 5000
_MAX_QUANTITY = 999_999
_KNOWN = frozenset(
    {"mode", "line_items", "success_url", "cancel_url", "customer_email", "metadata"}
)


@dataclass(frozen=True)
class SessionRequest:
    items: list[tuple[PriceConfig, int]]
    success_url: str
    cancel_url: str | None
    customer_email: str | None
    metadata: dict[str, str]


def unknown(param: str) -> StripeError:
    return StripeError(
        400,
        f"Received unknown parameter: {param} (the local Stripe stand-in does not model it)",
        param=param,
        code="parameter_unknown",
    )


def parse_session_request(params: dict[str, Any], settings: Settings) -> SessionRequest:
    for name in params:
        if name not in _KNOWN:
            raise unknown(name)
    mode = _string(params, "mode", required=True)
    if mode in ("subscription", "setup"):
        raise bad_param("mode", f"mode={mode} is not supported by the local Stripe stand-in.")
    if mode != "payment":
        raise bad_param("mode", "Invalid mode: must be one of payment, setup, or subscription")
    success_url = _url(params, "success_url", required=True)
    assert success_url is not None
    return SessionRequest(
        items=_line_items(params.get("line_items"), settings),
        success_url=success_url,
        cancel_url=_url(params, "cancel_url"),
        customer_email=_email(params),
        metadata=metadata(params.get("metadata"), "metadata"),
    )


def metadata(value: Any, param: str) -> dict[str, str]:
    """Stripe's metadata rules: up to 50 keys of 40 characters, values up to 500; "" unsets."""
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise bad_param(param, f"Invalid hash: {param} must be a set of key-value pairs.")
    if len(value) > 50:
        raise bad_param(param, f"Invalid {param}: you can specify up to 50 keys.")
    result: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(item, str):
            raise bad_param(f"{param}[{key}]", f"Invalid {param}[{key}]: must be a string.")
        if len(key) > 40:
            raise bad_param(f"{param}[{key}]", "Metadata keys can be at most 40 characters.")
        if len(item) > 500:
            raise bad_param(f"{param}[{key}]", "Metadata values can be at most 500 characters.")
        if item:
            result[key] = item
    return result


def _line_items(value: Any, settings: Settings) -> list[tuple[PriceConfig, int]]:
    if value is None:
        raise StripeError(
            400,
            "`line_items` is required in `payment` mode.",
            param="line_items",
            code="parameter_missing",
        )
    if not isinstance(value, list) or not value:
        raise bad_param("line_items", "Invalid array: line_items must be a non-empty list.")
    items: list[tuple[PriceConfig, int]] = []
    for index, item in enumerate(value):
        name = f"line_items[{index}]"
        if not isinstance(item, dict):
            raise bad_param(name, f"Invalid hash: {name} must have a price and a quantity.")
        for key in item:
            if key not in ("price", "quantity"):
                raise unknown(f"{name}[{key}]")
        price_id = item.get("price")
        if not isinstance(price_id, str) or not price_id:
            raise missing_param(f"{name}[price]")
        price = settings.price(price_id)
        if price is None:
            raise StripeError(
                400,
                f"No such price: '{price_id}'",
                param=f"{name}[price]",
                code="resource_missing",
            )
        quantity = item.get("quantity")
        if quantity is None:
            raise StripeError(
                400,
                f"Quantity is required. Add `quantity` to `{name}`.",
                param=f"{name}[quantity]",
                code="parameter_missing",
            )
        if not isinstance(quantity, str) or not quantity.isdigit():
            raise bad_param(
                f"{name}[quantity]", f"Invalid integer: {quantity}", "parameter_invalid_integer"
            )
        if not 1 <= int(quantity) <= _MAX_QUANTITY:
            raise bad_param(f"{name}[quantity]", f"Quantity must be between 1 and {_MAX_QUANTITY}.")
        items.append((price, int(quantity)))
    if len({price.currency for price, _ in items}) > 1:
        raise bad_param("line_items", "All line items must use the same currency.")
    return items


def _string(params: dict[str, Any], name: str, required: bool = False) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise missing_param(name)
        return None
    if not isinstance(value, str):
        raise bad_param(name, f"Invalid string: {name} must be a string.")
    return value


def _url(params: dict[str, Any], name: str, required: bool = False) -> str | None:
    value = _string(params, name, required)
    if value is None:
        return None
    # Only absolute http(s) URLs: the hosted page puts them in links and redirects.
    parts = urlsplit(value)
    if len(value) > _MAX_URL or parts.scheme not in ("http", "https") or not parts.netloc:
        raise bad_param(name, "Not a valid URL", "url_invalid")
    return value


def _email(params: dict[str, Any]) -> str | None:
    value = _string(params, "customer_email")
    if value is not None and (len(value) > 512 or not _EMAIL.match(value)):
        raise bad_param("customer_email", f"Invalid email address: {value}", "email_invalid")
    return value
