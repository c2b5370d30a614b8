"""The portal's configuration (environment, `.env`, `.env.local`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr, model_validator

from dbolt.settings import (
    DatabaseSettingsMixin,
    MailboxSettingsMixin,
    ServiceSettings,
    VaultSettingsMixin,
)


class PortalSettings(
    VaultSettingsMixin, DatabaseSettingsMixin, MailboxSettingsMixin, ServiceSettings
):
    host: str = "127.0.0.1"
    port: int = 8300
    # Where customers reach the portal: links in emails and Stripe's success_url use it.
    portal_url: str = "http://127.0.0.1:8300"

    supabase_url: str = "http://127.0.0.1:54321"
    supabase_anon_key: SecretStr = SecretStr("")
    supabase_service_role_key: SecretStr = SecretStr("")
    # Edge Functions; Supabase serves them under the project URL unless told otherwise.
    functions_url: str | None = None

    stripe_api_base: str = "http://127.0.0.1:54330"
    stripe_secret_key: SecretStr = SecretStr("sk_test_local_dev")

    orchestrator_url: str = "http://127.0.0.1:8100"
    staff_api_key: SecretStr = SecretStr("local-dev-staff-key")

    chromium_path: str = "/usr/lib/chromium/chromium"
    # The folder the workers keep screenshots and page HTML in (their ARTIFACTS_DIR).
    artifacts_dir: Path = Path(".local/artifacts")
    # How long the workers keep them (their ARTIFACTS_RETENTION_DAYS), for the staff pages.
    artifacts_retention_days: int = 30

    # Session cookies carry the Secure flag in production (the default there, and refused
    # if turned off); locally they must travel over plain http, so it is off by default.
    cookie_secure: bool = False

    @model_validator(mode="after")
    def _secure_cookies_in_production(self) -> PortalSettings:
        # Unset means: whatever the environment needs. An explicit COOKIE_SECURE=false in
        # production is kept, and refused by production_problems naming it.
        if "cookie_secure" not in self.model_fields_set:
            self.cookie_secure = self.environment == "production"
        return self

    def production_problems(self) -> dict[str, str]:
        problems = super().production_problems()
        if not self.cookie_secure:
            problems["COOKIE_SECURE"] = "is false (session cookies would travel over plain http)"
        return problems

    @property
    def functions_base(self) -> str:
        return (self.functions_url or f"{self.supabase_url}/functions/v1").rstrip("/")

    @property
    def auth_url(self) -> str:
        return f"{self.supabase_url.rstrip('/')}/auth/v1"

    @property
    def jwks_url(self) -> str:
        return f"{self.auth_url}/.well-known/jwks.json"
