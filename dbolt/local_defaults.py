"""What a value left over from the local stack looks like, so production can refuse it.

The local stack's tokens, keys and passwords are published (in devstack/, the README, the
output of `make up`): in production any of them is as good as no secret at all. Production
code never imports devstack/, so the values are repeated here;
tests/unit/test_settings_fail_closed.py checks that every devstack default is recognised.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from dbolt.urls import host_of, is_loopback_host, url_passwords

# The devstack's documented defaults, plus the placeholders people paste into a config.
LOCAL_DEFAULT_VALUES = frozenset(
    {
        "local-dev",
        "local-dev-worker-token",  # devstack/up.py WORKER_TOKEN, orchestrator and worker
        "local-dev-staff-key",  # devstack/up.py STAFF_API_KEY, orchestrator and portal
        "local-dev-worker-password",  # the worker's Auth service account (accounts.py)
        "local-dev-2captcha-key",  # the 2Captcha stand-in's API key
        "local-dev-captcha-secret",  # the sandbox's and 2Captcha stand-in's shared secret
        "local-dev-proxy-pass",  # the proxies stand-in's password
        "sk_test_local_dev",  # the Stripe stand-in's secret key
        "whsec_local_dev",  # the Stripe stand-in's webhook signing secret
        "postgres",  # the local cluster's password (postgres:postgres)
        "changeme",
        "password",
        "secret",
        "test",
    }
)
LOCAL_DEFAULT_PREFIXES = ("local-dev",)
# Issuers of JWTs minted off the hosted project: the Supabase CLI's published demo keys and
# devstack/jwt_keys.py's API keys say `supabase-demo`; the Auth stand-in's tokens name a
# loopback URL.
LOCAL_JWT_ISSUERS = frozenset({"supabase-demo"})


def _is_local_word(value: str) -> bool:
    return value in LOCAL_DEFAULT_VALUES or value.startswith(LOCAL_DEFAULT_PREFIXES)


def _jwt_claims(value: str) -> dict[str, Any] | None:
    parts = value.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


def _is_local_jwt(value: str) -> bool:
    claims = _jwt_claims(value)
    if claims is None:
        return False
    issuer = str(claims.get("iss", ""))
    return issuer in LOCAL_JWT_ISSUERS or is_loopback_host(host_of(issuer))


def is_local_default(value: str) -> bool:
    """`value` is (or carries, as a URL password) a secret only the local stack uses."""
    value = value.strip()
    if _is_local_word(value) or _is_local_jwt(value):
        return True
    return any(_is_local_word(password) for password in url_passwords(value))
