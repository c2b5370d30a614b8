"""Why production refuses a value: one rule per kind of setting, each returning the reason
(never the value, which may be a secret) or None when the value is fit for production."""

from __future__ import annotations

from urllib.parse import urlsplit

from dbolt.local_defaults import is_local_default
from dbolt.urls import host_of, is_internal_host, is_loopback_host

# What customers, Stripe and the internet reach, or what we reach across the internet: plain
# http would carry sessions, API keys and webhooks in clear, and an internal host means the
# value was copied from a laptop (or points a service at cloud metadata).
PUBLIC_URL_FIELDS = (
    "supabase_url",
    "functions_url",
    "stripe_api_base",
    "portal_url",
    "twocaptcha_base_url",
)
# ORCHESTRATOR_URL is reached inside the cluster, where plain http to a Service name is how
# pods talk (`http://orchestrator:8100`; the NetworkPolicy keeps it in-cluster) and a private
# address is legitimate; across the internet it must be https (WORKER_TOKEN rides on it).
# SMTP_URL may be a relay in the cluster or a provider: `smtp://` is fine either way, SMTP
# negotiates TLS itself (STARTTLS). Loopback is refused for both: in a pod it is the pod
# itself, and it is what the local defaults point at (the mail catcher, `make up`).
IN_CLUSTER_URL_FIELDS = ("orchestrator_url", "smtp_url")
_PLAIN_HTTP_ONLY_IN_CLUSTER = ("orchestrator_url",)
# DATABASE_URL is neither: a pooler sidecar on 127.0.0.1 (pgbouncer, a cloud SQL proxy) is a
# production layout, so only its local-default credentials are refused.

STRIPE_TEST_KEY_PREFIXES = ("sk_test_", "rk_test_")


def secret_problem(value: str | None, *, optional: bool) -> str | None:
    if value is None or not value.strip():
        return None if optional and value is None else "is missing"
    if is_local_default(value):
        return "is a local default (published in devstack/)"
    return None


def stripe_test_key_problem(value: str | None, *, live_mode: bool) -> str | None:
    if live_mode and value is not None and value.startswith(STRIPE_TEST_KEY_PREFIXES):
        return "is a Stripe test key (say STRIPE_LIVE_MODE=false to run on test keys)"
    return None


def public_url_problem(url: str) -> str | None:
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return "is not a URL"
    if scheme != "https":
        return "must be https://"
    if is_internal_host(host_of(url)):
        return "must name a public host, not loopback, private or link-local"
    return None


def in_cluster_url_problem(name: str, url: str) -> str | None:
    host = host_of(url)
    if not host:
        return "is not a URL with a host"
    if is_loopback_host(host):
        return "must not point at loopback (in a pod that is the pod itself)"
    if (
        name in _PLAIN_HTTP_ONLY_IN_CLUSTER
        and urlsplit(url.strip()).scheme.lower() != "https"
        and not is_internal_host(host)
    ):
        return "must be https:// unless it names an in-cluster host"
    return None
