"""The values the local rehearsal gives the manifests' Secrets: the keys and addresses `make
up` uses (devstack/up.py is their one definition), so the containerised services join the
stack `make up` runs. Development keys only, published in devstack/; production never sees
them (its settings refuse them)."""

from __future__ import annotations

from devstack import jwt_keys, localdb, up
from devstack.mailcatcher.__main__ import DEFAULT_SIGNING_KEY as MAILGUN_SIGNING_KEY
from devstack.stripe.settings import (
    DEFAULT_CHECKOUT_SIGNING_SECRET,
    DEFAULT_SECRET_KEY,
    DEFAULT_WEBHOOK_SECRET,
)
from devstack.supabase_api.accounts import worker_password


def secret_values() -> dict[str, str]:
    """Environment variable → the local stack's value, for every secret a manifest may
    reference (Secrets' keys are the variables' names)."""
    proxies = ",".join(
        f"http://{up.PROXY_USER}:{up.PROXY_PASSWORD}@127.0.0.1:{port}" for port in up.PROXY_PORTS
    )
    return {
        "DATABASE_URL": localdb.database_url(),
        "WORKER_TOKEN": up.WORKER_TOKEN,
        "STAFF_API_KEY": up.STAFF_API_KEY,
        "VAULT_KEYS": up.VAULT_KEYS,
        "SUPABASE_ANON_KEY": jwt_keys.mint_api_key("anon"),
        "SUPABASE_SERVICE_ROLE_KEY": jwt_keys.mint_api_key("service_role"),
        "STRIPE_SECRET_KEY": DEFAULT_SECRET_KEY,
        "STRIPE_WEBHOOK_SECRET": DEFAULT_WEBHOOK_SECRET,
        "CHECKOUT_SIGNING_SECRET": DEFAULT_CHECKOUT_SIGNING_SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY,
        "SMTP_URL": up.SMTP_URL,
        "WORKER_AUTH_PASSWORD": worker_password(),
        "TWOCAPTCHA_API_KEY": up.CAPTCHA_KEY,
        "PROXY_URLS": proxies,
    }
