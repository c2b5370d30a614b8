"""The portal's configuration (environment, `.env`, `.env.local`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from dbolt.settings import ServiceSettings


class PortalSettings(ServiceSettings):
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

    # Production serves over HTTPS; locally cookies must travel over plain http.
    cookie_secure: bool = False

    db_pool_min_size: int = 1
    db_pool_max_size: int = 10
    db_timeout_seconds: float = 5.0

    @property
    def functions_base(self) -> str:
        return (self.functions_url or f"{self.supabase_url}/functions/v1").rstrip("/")

    @property
    def auth_url(self) -> str:
        return f"{self.supabase_url.rstrip('/')}/auth/v1"

    @property
    def jwks_url(self) -> str:
        return f"{self.auth_url}/.well-known/jwks.json"
