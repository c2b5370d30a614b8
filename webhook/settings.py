"""The webhook receiver's configuration (environment, `.env`, `.env.local`)."""

from __future__ import annotations

from pydantic import SecretStr

from dbolt.settings import (
    LOCAL_MAILBOX_DOMAIN,
    DatabaseSettingsMixin,
    MailboxSettingsMixin,
    ServiceSettings,
)

# The Stripe stand-in's documented local signing secret (devstack/stripe/settings.py);
# production refuses it (dbolt/local_defaults.py).
LOCAL_WEBHOOK_SECRET = "whsec_local_dev"  # noqa: S105 - a local default, refused in production
# The local default the checkout function signs with in `make up` (a "local-dev" prefix, so
# ServiceSettings.check_production_secrets refuses it in production).
LOCAL_CHECKOUT_SIGNING_SECRET = "local-dev-checkout-signing-secret"  # noqa: S105
# What the mail catcher signs its Mailgun-format forwards with in `make up`
# (devstack/mailcatcher/forward.py); a "local-dev" prefix, so production refuses it.
LOCAL_MAILGUN_SIGNING_KEY = "local-dev-mailgun-signing-key"


class WebhookSettings(DatabaseSettingsMixin, MailboxSettingsMixin, ServiceSettings):
    host: str = "127.0.0.1"
    port: int = 8200

    stripe_webhook_secret: SecretStr = SecretStr(LOCAL_WEBHOOK_SECRET)
    # Stripe's own default: a signature older than this is refused (replay protection).
    signature_tolerance_seconds: int = 300
    max_body_bytes: int = 512 * 1024
    # Shared with the checkout Edge Function, which signs each session it creates with it
    # (dbolt/checkout_proof.py); a session without a valid proof never becomes an order.
    checkout_signing_secret: SecretStr = SecretStr(LOCAL_CHECKOUT_SIGNING_SECRET)

    supabase_url: str = "http://127.0.0.1:54321"
    supabase_service_role_key: SecretStr = SecretStr("")
    smtp_url: SecretStr = SecretStr("smtp://127.0.0.1:54325")
    # Stripe's API, for the refunds of a job's shortfall (webhook/refunder.py).
    stripe_api_base: str = "http://127.0.0.1:54330"
    stripe_secret_key: SecretStr = SecretStr("sk_test_local_dev")
    # Inbound mail (webhook/inbound_mail.py): Mailgun's HTTP webhook signing key (Sending →
    # Webhooks in Mailgun's dashboard, not the API key), how far a delivery's timestamp may
    # be from now, and the largest form post taken (larger mail is refused with 413).
    mailgun_webhook_signing_key: SecretStr = SecretStr(LOCAL_MAILGUN_SIGNING_KEY)
    inbound_mail_tolerance_seconds: int = 300
    inbound_mail_max_body_bytes: int = 1024 * 1024

    # Where customers reach the portal; every link in an email starts here.
    portal_url: str = "http://127.0.0.1:8300"

    # The notifier: how it drains the outbox.
    notifier_poll_seconds: float = 2.0
    notifier_batch_size: int = 10
    notifier_lease_seconds: int = 120
    notifier_retry_base_seconds: int = 30
    notifier_max_attempts: int = 8
    # Time-bound mail (job started, reminders) queued longer ago than this is skipped (with
    # the reason), not sent late; a reminder that fell due longer ago is recorded as skipped.
    # Payment, report and first needs-action emails are always sent. 0 sends everything,
    # however old. `make up` uses an hour, so a reused dev database's leftovers are not mailed.
    notifier_stale_after_seconds: int = 7 * 24 * 3600
    # Needs-action reminders: again after this long while still unresolved, at most this often.
    reminder_after_seconds: int = 2 * 24 * 3600
    max_reminders: int = 3
    reminder_check_seconds: float = 300.0

    # The refunder: how it drains the shortfall refunds.
    refunder_poll_seconds: float = 5.0
    refunder_batch_size: int = 10
    refunder_lease_seconds: int = 120
    refunder_retry_base_seconds: int = 60
    refunder_max_attempts: int = 8

    def production_problems(self) -> dict[str, str]:
        problems = super().production_problems()
        domain = self.mailbox_domain.strip().lower()
        if domain == LOCAL_MAILBOX_DOMAIN or domain.endswith((".localhost", ".local", ".test")):
            problems["MAILBOX_DOMAIN"] = "is a local domain (no mail can reach it)"
        return problems

    @property
    def body_limit_bytes(self) -> int:
        """The app's limit: the larger of the Stripe events' and the inbound mail's (each
        route refuses above its own)."""
        return max(self.max_body_bytes, self.inbound_mail_max_body_bytes)

    @property
    def portal_base(self) -> str:
        return self.portal_url.rstrip("/")
