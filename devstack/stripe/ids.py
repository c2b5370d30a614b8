"""Stripe-shaped object ids: a prefix and random alphanumerics, never reused."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    """`new_id("pi")` -> `pi_3Qx…`; the length of the random part follows Stripe's usual."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def session_id() -> str:
    # Checkout Session ids are longer than most and say test mode in the prefix.
    return new_id("cs_test", 58)


def request_id() -> str:
    return new_id("req", 14)
