"""Fail closed (issue 10, item 1, and the secrets half of item 9).

Every service runs as production unless told ENVIRONMENT=development, and production refuses
what only makes sense on a laptop: the devstack's tokens and keys, Stripe test keys, insecure
cookies, and plain-http or loopback/private URLs for what customers and Stripe reach. One
error names every offending variable, never a value. The worker holds no database URL at all.
The log scrubber hides every secret the settings hold, not only environment variables.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from dbolt.log import JsonFormatter
from dbolt.settings import LOCAL_DATABASE_URL, LOCAL_VAULT_KEYS, ServiceSettings
from devstack import jwt_keys, localdb
from orchestrator.settings import OrchestratorSettings
from portal.settings import PortalSettings
from webhook.settings import WebhookSettings
from worker.settings import WorkerSettings

ROOT = Path(__file__).resolve().parents[2]
SERVICES: tuple[type[ServiceSettings], ...] = (
    OrchestratorSettings,
    WorkerSettings,
    WebhookSettings,
    PortalSettings,
)

# The Supabase CLI's published demo anon key (`supabase start` prints it on every laptop).
SUPABASE_DEMO_ANON_KEY = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHA"
    "iOjE5ODM4MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0"
)

# A believable production configuration: every variable any service reads, none a default.
PRODUCTION = {
    "DATABASE_URL": "postgresql://svc_app:Zq8vR2-long-db-password@db.abcdefgh.supabase.co:5432/postgres",
    "SUPABASE_URL": "https://abcdefgh.supabase.co",
    "SUPABASE_ANON_KEY": "prod-anon-key-7f3c9a1e5b2d4f6a8c0e",
    "SUPABASE_SERVICE_ROLE_KEY": "prod-service-role-2b4d6f8a0c1e3g5h7j9k",
    "PORTAL_URL": "https://app.directorybolt.com",
    "STRIPE_API_BASE": "https://api.stripe.com",
    "STRIPE_SECRET_KEY": "sk_live_51HxYzProdSecretKey0123456789",
    "STRIPE_WEBHOOK_SECRET": "whsec_prodWebhookSigningSecret0123",
    "CHECKOUT_SIGNING_SECRET": "prod-checkout-signing-4c2e8a6b0d1f3h5j",
    "ORCHESTRATOR_URL": "http://orchestrator:8100",
    "WORKER_TOKEN": "prod-worker-token-5e7a9c1b3d5f7h9j",
    "STAFF_API_KEY": "prod-staff-key-8c6e4a2b0d9f7h5j",
    "VAULT_KEYS": "prod-2026:cHJvZC12YXVsdC1rZXktMzItYnl0ZXMtbG9uZy0wMDE=",
    "SMTP_URL": "smtps://apikey:prod-smtp-password-31f5@smtp.sendgrid.net:465",
    "WORKER_AUTH_EMAIL": "worker@directorybolt.com",
    "WORKER_AUTH_PASSWORD": "prod-worker-password-6d8f0b2c",
    "TWOCAPTCHA_API_KEY": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "PROXY_URLS": "http://cust-1:prod-proxy-pass-9a7b@gate.proxyvendor.com:7000",
    "MAILGUN_WEBHOOK_SIGNING_KEY": "key-prod-mailgun-webhook-3e5a7c9b1d",
    "MAILBOX_DOMAIN": "mailbox.directorybolt.com",
}


def _all_variables() -> set[str]:
    names = {name.upper() for cls in SERVICES for name in cls.model_fields}
    return names | {"ENVIRONMENT", "STRIPE_LIVE_MODE", "COOKIE_SECURE"}


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A process environment holding only PRODUCTION (no ENVIRONMENT, no .env files)."""
    monkeypatch.chdir(tmp_path)
    for name in _all_variables():
        monkeypatch.delenv(name, raising=False)
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def start(cls: type[ServiceSettings]) -> ServiceSettings:
    """What a service does at start: build its settings, then check them."""
    settings = cls()
    settings.check_production_secrets()
    return settings


def refusal(cls: type[ServiceSettings]) -> str:
    with pytest.raises(ValueError, match="refusing to start in production") as refused:
        start(cls)
    return str(refused.value)


# --- production is the default -------------------------------------------------------------


@pytest.mark.parametrize("cls", SERVICES, ids=lambda cls: cls.__name__)
def test_every_service_starts_with_a_real_production_configuration(
    production: pytest.MonkeyPatch, cls: type[ServiceSettings]
) -> None:
    assert start(cls).environment == "production"


def test_unset_environment_means_production(production: pytest.MonkeyPatch) -> None:
    production.delenv("WORKER_TOKEN")
    assert "WORKER_TOKEN" in refusal(OrchestratorSettings)


def test_unset_environment_with_no_configuration_refuses_every_service(
    production: pytest.MonkeyPatch,
) -> None:
    for name in PRODUCTION:
        production.delenv(name)
    for cls in SERVICES:
        with pytest.raises(ValueError, match="production"):
            start(cls)


def test_unknown_environment_name_is_refused(production: pytest.MonkeyPatch) -> None:
    production.setenv("ENVIRONMENT", "prod")
    with pytest.raises(ValueError, match="environment"):
        start(OrchestratorSettings)


def test_development_must_be_said_and_then_accepts_local_defaults(
    production: pytest.MonkeyPatch,
) -> None:
    for name in PRODUCTION:
        production.delenv(name)
    production.setenv("ENVIRONMENT", "development")
    for cls in SERVICES:
        assert start(cls).environment == "development"


# --- local default secrets -----------------------------------------------------------------

LOCAL_DEFAULTS: list[tuple[type[ServiceSettings], str, str]] = [
    (OrchestratorSettings, "WORKER_TOKEN", "local-dev-worker-token"),
    (WorkerSettings, "WORKER_TOKEN", "local-dev-worker-token"),
    (OrchestratorSettings, "STAFF_API_KEY", "local-dev-staff-key"),
    (PortalSettings, "STAFF_API_KEY", "local-dev-staff-key"),
    (OrchestratorSettings, "VAULT_KEYS", LOCAL_VAULT_KEYS),
    (PortalSettings, "VAULT_KEYS", LOCAL_VAULT_KEYS),
    (WebhookSettings, "STRIPE_WEBHOOK_SECRET", "whsec_local_dev"),
    (WebhookSettings, "CHECKOUT_SIGNING_SECRET", "local-dev-checkout-signing-secret"),
    (WebhookSettings, "MAILGUN_WEBHOOK_SIGNING_KEY", "local-dev-mailgun-signing-key"),
    (WorkerSettings, "WORKER_AUTH_PASSWORD", "local-dev-worker-password"),
    (WorkerSettings, "TWOCAPTCHA_API_KEY", "local-dev-2captcha-key"),
    (
        WorkerSettings,
        "PROXY_URLS",
        "http://dbolt:local-dev-proxy-pass@gate.proxyvendor.com:8421,"
        "http://dbolt:local-dev-proxy-pass@gate.proxyvendor.com:8422",
    ),
    (PortalSettings, "DATABASE_URL", LOCAL_DATABASE_URL),
    (WebhookSettings, "DATABASE_URL", "postgresql://postgres:postgres@db.example.com:5432/x"),
    (OrchestratorSettings, "DATABASE_URL", "postgresql://postgres:postgres@db.example.com/x"),
    (PortalSettings, "SUPABASE_ANON_KEY", SUPABASE_DEMO_ANON_KEY),
    (WorkerSettings, "SUPABASE_ANON_KEY", SUPABASE_DEMO_ANON_KEY),
]


@pytest.mark.parametrize(
    ("cls", "variable", "value"),
    LOCAL_DEFAULTS,
    ids=[f"{cls.__name__}-{variable}" for cls, variable, _ in LOCAL_DEFAULTS],
)
def test_production_refuses_local_default_token(
    production: pytest.MonkeyPatch, cls: type[ServiceSettings], variable: str, value: str
) -> None:
    production.setenv(variable, value)
    message = refusal(cls)
    assert variable in message
    assert value not in message


@pytest.mark.parametrize(
    ("cls", "variable", "role"),
    [
        (PortalSettings, "SUPABASE_ANON_KEY", "anon"),
        (PortalSettings, "SUPABASE_SERVICE_ROLE_KEY", "service_role"),
        (WebhookSettings, "SUPABASE_SERVICE_ROLE_KEY", "service_role"),
        (WorkerSettings, "SUPABASE_ANON_KEY", "anon"),
    ],
)
def test_production_refuses_keys_signed_by_the_local_jwt_key(
    production: pytest.MonkeyPatch, cls: type[ServiceSettings], variable: str, role: str
) -> None:
    production.setenv(variable, jwt_keys.mint_api_key(role))  # type: ignore[arg-type]
    assert variable in refusal(cls)


def test_production_refuses_a_local_worker_access_token(production: pytest.MonkeyPatch) -> None:
    # Minted as the Auth stand-in mints it: its issuer is the stand-in's loopback URL.
    production.delenv("SUPABASE_URL")
    token = jwt_keys.mint_worker_token()
    production.setenv("SUPABASE_URL", PRODUCTION["SUPABASE_URL"])
    production.setenv("REALTIME_ACCESS_TOKEN", token)
    assert "REALTIME_ACCESS_TOKEN" in refusal(WorkerSettings)


@pytest.mark.parametrize(
    ("cls", "variable"),
    [
        (OrchestratorSettings, "WORKER_TOKEN"),
        (OrchestratorSettings, "STAFF_API_KEY"),
        (OrchestratorSettings, "DATABASE_URL"),
        (WorkerSettings, "WORKER_TOKEN"),
        (WebhookSettings, "STRIPE_WEBHOOK_SECRET"),
        (WebhookSettings, "CHECKOUT_SIGNING_SECRET"),
        (WebhookSettings, "SUPABASE_SERVICE_ROLE_KEY"),
        (WebhookSettings, "MAILGUN_WEBHOOK_SIGNING_KEY"),
        (PortalSettings, "SUPABASE_ANON_KEY"),
        (PortalSettings, "STRIPE_SECRET_KEY"),
        (PortalSettings, "STAFF_API_KEY"),
    ],
)
def test_production_refuses_missing_secret(
    production: pytest.MonkeyPatch, cls: type[ServiceSettings], variable: str
) -> None:
    production.delenv(variable)
    assert variable in refusal(cls)


@pytest.mark.parametrize("blank", ["", "   "])
def test_production_refuses_empty_secret(production: pytest.MonkeyPatch, blank: str) -> None:
    production.setenv("STAFF_API_KEY", blank)
    assert "STAFF_API_KEY" in refusal(OrchestratorSettings)


@pytest.mark.parametrize(
    "domain", ["mailbox.directorybolt.localhost", "mail.dbolt.local", "inbox.example.test"]
)
def test_production_refuses_a_local_mailbox_domain(
    production: pytest.MonkeyPatch, domain: str
) -> None:
    # Directories would send their verification mail to a domain no mail can reach.
    production.setenv("MAILBOX_DOMAIN", domain)
    assert "MAILBOX_DOMAIN" in refusal(WebhookSettings)


# --- Stripe test keys ----------------------------------------------------------------------


def test_production_refuses_sk_test_key(production: pytest.MonkeyPatch) -> None:
    production.setenv("STRIPE_SECRET_KEY", "sk_test_51HxYzSomeoneElsesTestKey0123")
    assert "STRIPE_SECRET_KEY" in refusal(PortalSettings)


def test_production_refuses_rk_test_key(production: pytest.MonkeyPatch) -> None:
    production.setenv("STRIPE_SECRET_KEY", "rk_test_51HxYzRestrictedTestKey0123")
    assert "STRIPE_SECRET_KEY" in refusal(PortalSettings)


def test_stripe_test_key_is_accepted_when_live_mode_is_explicitly_false(
    production: pytest.MonkeyPatch,
) -> None:
    production.setenv("STRIPE_SECRET_KEY", "sk_test_51HxYzStagingTestKey0123")
    production.setenv("STRIPE_LIVE_MODE", "false")
    start(PortalSettings)


def test_production_refuses_the_stripe_standin_key_even_when_live_mode_is_false(
    production: pytest.MonkeyPatch,
) -> None:
    production.setenv("STRIPE_SECRET_KEY", "sk_test_local_dev")
    production.setenv("STRIPE_LIVE_MODE", "false")
    assert "STRIPE_SECRET_KEY" in refusal(PortalSettings)


# --- cookies -------------------------------------------------------------------------------


def test_production_sets_secure_cookies_by_default(production: pytest.MonkeyPatch) -> None:
    settings = start(PortalSettings)
    assert isinstance(settings, PortalSettings)
    assert settings.cookie_secure is True


def test_production_refuses_insecure_cookies(production: pytest.MonkeyPatch) -> None:
    production.setenv("COOKIE_SECURE", "false")
    assert "COOKIE_SECURE" in refusal(PortalSettings)


def test_development_cookies_travel_over_plain_http(production: pytest.MonkeyPatch) -> None:
    production.setenv("ENVIRONMENT", "development")
    settings = start(PortalSettings)
    assert isinstance(settings, PortalSettings)
    assert settings.cookie_secure is False


# --- URLs customers, Stripe and Supabase are reached at ------------------------------------

PUBLIC_URLS: list[tuple[type[ServiceSettings], str, str]] = [
    (PortalSettings, "SUPABASE_URL", "http://abcdefgh.supabase.co"),
    (WebhookSettings, "SUPABASE_URL", "http://abcdefgh.supabase.co"),
    (WorkerSettings, "SUPABASE_URL", "http://abcdefgh.supabase.co"),
    (PortalSettings, "SUPABASE_URL", "https://127.0.0.1:54321"),
    (PortalSettings, "SUPABASE_URL", "https://localhost:54321"),
    (PortalSettings, "SUPABASE_URL", "https://[::1]:54321"),
    (PortalSettings, "SUPABASE_URL", "https://10.0.0.5"),
    (PortalSettings, "SUPABASE_URL", "https://169.254.169.254"),
    (PortalSettings, "SUPABASE_URL", "https://metadata.google.internal"),
    (PortalSettings, "SUPABASE_URL", "https://127.1"),
    (PortalSettings, "SUPABASE_URL", "https://2130706433"),
    (PortalSettings, "SUPABASE_URL", "https://[::ffff:127.0.0.1]"),
    (PortalSettings, "SUPABASE_URL", "https://0.0.0.0"),
    (PortalSettings, "SUPABASE_URL", "https://supabase"),
    (PortalSettings, "SUPABASE_URL", "not a url"),
    (PortalSettings, "STRIPE_API_BASE", "http://api.stripe.com"),
    (PortalSettings, "STRIPE_API_BASE", "https://127.0.0.1:54330"),
    (PortalSettings, "STRIPE_API_BASE", "https://192.168.1.20"),
    (PortalSettings, "PORTAL_URL", "http://app.directorybolt.com"),
    (PortalSettings, "PORTAL_URL", "https://127.0.0.1:8300"),
    (WebhookSettings, "PORTAL_URL", "http://127.0.0.1:8300"),
    (PortalSettings, "FUNCTIONS_URL", "http://abcdefgh.supabase.co/functions/v1"),
    (WorkerSettings, "TWOCAPTCHA_BASE_URL", "http://127.0.0.1:8410"),
]


@pytest.mark.parametrize(
    ("cls", "variable", "url"),
    PUBLIC_URLS,
    ids=[f"{cls.__name__}-{variable}-{url}" for cls, variable, url in PUBLIC_URLS],
)
def test_production_refuses_http_or_internal_public_url(
    production: pytest.MonkeyPatch, cls: type[ServiceSettings], variable: str, url: str
) -> None:
    production.setenv(variable, url)
    assert variable in refusal(cls)


def test_production_refuses_http_supabase_url(production: pytest.MonkeyPatch) -> None:
    production.setenv("SUPABASE_URL", "http://abcdefgh.supabase.co")
    assert "SUPABASE_URL" in refusal(PortalSettings)


def test_production_refuses_local_default_urls(production: pytest.MonkeyPatch) -> None:
    for name in ("SUPABASE_URL", "STRIPE_API_BASE", "PORTAL_URL", "ORCHESTRATOR_URL"):
        production.delenv(name)
    message = refusal(PortalSettings)
    for name in ("SUPABASE_URL", "STRIPE_API_BASE", "PORTAL_URL", "ORCHESTRATOR_URL"):
        assert name in message


@pytest.mark.parametrize("cls", [WorkerSettings, PortalSettings], ids=lambda c: c.__name__)
def test_production_refuses_loopback_orchestrator_url(
    production: pytest.MonkeyPatch, cls: type[ServiceSettings]
) -> None:
    production.setenv("ORCHESTRATOR_URL", "http://127.0.0.1:8100")
    assert "ORCHESTRATOR_URL" in refusal(cls)


@pytest.mark.parametrize(
    "url", ["http://orchestrator:8100", "http://orchestrator.dbolt.svc.cluster.local:8100"]
)
def test_in_cluster_orchestrator_url_over_http_is_accepted(
    production: pytest.MonkeyPatch, url: str
) -> None:
    production.setenv("ORCHESTRATOR_URL", url)
    start(WorkerSettings)


def test_production_refuses_http_orchestrator_url_on_a_public_host(
    production: pytest.MonkeyPatch,
) -> None:
    # A worker outside the cluster would send WORKER_TOKEN across the internet in clear.
    production.setenv("ORCHESTRATOR_URL", "http://orchestrator.directorybolt.com")
    assert "ORCHESTRATOR_URL" in refusal(WorkerSettings)
    production.setenv("ORCHESTRATOR_URL", "https://orchestrator.directorybolt.com")
    start(WorkerSettings)


def test_smtp_relay_on_a_public_host_is_accepted(production: pytest.MonkeyPatch) -> None:
    # SMTP negotiates TLS itself (STARTTLS on 587): smtp:// to a provider is normal.
    production.setenv("SMTP_URL", "smtp://apikey:prod-smtp-password-31f5@smtp.sendgrid.net:587")
    start(WebhookSettings)


@pytest.mark.parametrize("cls", [WebhookSettings, OrchestratorSettings], ids=lambda c: c.__name__)
def test_production_refuses_loopback_smtp_url(
    production: pytest.MonkeyPatch, cls: type[ServiceSettings]
) -> None:
    production.setenv("SMTP_URL", "smtp://127.0.0.1:54325")
    message = refusal(cls)
    assert "SMTP_URL" in message
    assert "54325" not in message


# --- one error, every variable, no values ----------------------------------------------------


def test_production_error_names_every_offending_variable(production: pytest.MonkeyPatch) -> None:
    bad = {
        "DATABASE_URL": "postgresql://postgres:postgres@127.0.0.1:54322/postgres",
        "SUPABASE_URL": "http://127.0.0.1:54321",
        "SUPABASE_ANON_KEY": SUPABASE_DEMO_ANON_KEY,
        "STRIPE_API_BASE": "http://127.0.0.1:54330",
        "STRIPE_SECRET_KEY": "sk_test_51HxYzSomeoneElsesTestKey0123",
        "PORTAL_URL": "http://127.0.0.1:8300",
        "STAFF_API_KEY": "local-dev-staff-key",
        "COOKIE_SECURE": "false",
    }
    for name, value in bad.items():
        production.setenv(name, value)
    production.delenv("SUPABASE_SERVICE_ROLE_KEY")
    message = refusal(PortalSettings)
    for name in [*bad, "SUPABASE_SERVICE_ROLE_KEY"]:
        assert name in message, name
    for value in ("sk_test_51HxYzSomeoneElsesTestKey0123", SUPABASE_DEMO_ANON_KEY, "postgres:"):
        assert value not in message


def test_production_refuses_at_construction_not_only_when_checked(
    production: pytest.MonkeyPatch,
) -> None:
    production.setenv("WORKER_TOKEN", "local-dev-worker-token")
    with pytest.raises(ValueError, match="WORKER_TOKEN"):
        OrchestratorSettings()


# --- the worker holds no database credentials -----------------------------------------------


def test_worker_settings_have_no_database_url(production: pytest.MonkeyPatch) -> None:
    production.delenv("DATABASE_URL")
    settings = start(WorkerSettings)
    assert "database_url" not in WorkerSettings.model_fields
    assert not hasattr(settings, "database_url")


def test_worker_settings_do_not_read_a_database_url_in_the_environment(
    production: pytest.MonkeyPatch,
) -> None:
    settings = start(WorkerSettings)
    assert PRODUCTION["DATABASE_URL"] not in repr(settings.model_dump())
    assert "database_url" not in settings.model_dump()


# --- every devstack default is known as one ------------------------------------------------


def _devstack_defaults() -> dict[str, str]:
    from devstack import up
    from devstack.mailcatcher.__main__ import DEFAULT_SIGNING_KEY as MAILGUN_SIGNING_KEY
    from devstack.proxies.service import DEFAULT_PASSWORD as PROXY_PASSWORD
    from devstack.sandbox.settings import DEFAULT_CAPTCHA_SECRET
    from devstack.stripe.settings import DEFAULT_SECRET_KEY, DEFAULT_WEBHOOK_SECRET
    from devstack.supabase_api.accounts import DEFAULT_WORKER_PASSWORD
    from devstack.twocaptcha.settings import DEFAULT_API_KEY, DEFAULT_SHARED_SECRET

    return {
        "up.DEFAULT_WORKER_TOKEN": up.DEFAULT_WORKER_TOKEN,
        "up.DEFAULT_STAFF_API_KEY": up.DEFAULT_STAFF_API_KEY,
        "settings.LOCAL_VAULT_KEYS": LOCAL_VAULT_KEYS,
        "up.PROXY_PASSWORD": up.PROXY_PASSWORD,
        "up.CAPTCHA_KEY": up.CAPTCHA_KEY,
        "proxies.DEFAULT_PASSWORD": PROXY_PASSWORD,
        "sandbox.DEFAULT_CAPTCHA_SECRET": DEFAULT_CAPTCHA_SECRET,
        "stripe.DEFAULT_SECRET_KEY": DEFAULT_SECRET_KEY,
        "stripe.DEFAULT_WEBHOOK_SECRET": DEFAULT_WEBHOOK_SECRET,
        "mailcatcher.DEFAULT_SIGNING_KEY": MAILGUN_SIGNING_KEY,
        "accounts.DEFAULT_WORKER_PASSWORD": DEFAULT_WORKER_PASSWORD,
        "twocaptcha.DEFAULT_API_KEY": DEFAULT_API_KEY,
        "twocaptcha.DEFAULT_SHARED_SECRET": DEFAULT_SHARED_SECRET,
        "jwt_keys anon key": jwt_keys.mint_api_key("anon"),
        "jwt_keys service_role key": jwt_keys.mint_api_key("service_role"),
        "jwt_keys worker token": jwt_keys.mint_worker_token(),
        "localdb.database_url()": localdb.database_url(),
        "Supabase CLI demo anon key": SUPABASE_DEMO_ANON_KEY,
    }


def test_every_devstack_default_is_a_known_local_default() -> None:
    from dbolt.local_defaults import is_local_default

    unknown = [name for name, value in _devstack_defaults().items() if not is_local_default(value)]
    assert unknown == []


def _secret_defaults() -> list[tuple[type[ServiceSettings], str]]:
    return [
        (cls, name.upper())
        for cls in SERVICES
        for name, field in cls.model_fields.items()
        if isinstance(field.default, SecretStr)
    ]


@pytest.mark.parametrize(
    ("cls", "variable"),
    _secret_defaults(),
    ids=[f"{cls.__name__}-{variable}" for cls, variable in _secret_defaults()],
)
def test_production_refuses_every_secret_left_at_its_default(
    production: pytest.MonkeyPatch, cls: type[ServiceSettings], variable: str
) -> None:
    production.delenv(variable, raising=False)
    assert variable in refusal(cls)


# --- .env and .env.example ---------------------------------------------------------------


@pytest.mark.parametrize("name", [".env", ".env.local"])
def test_dotenv_files_are_git_ignored(name: str) -> None:
    checked = subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT, check=False)
    assert checked.returncode == 0, f"{name} is not git-ignored"


def test_env_example_documents_every_variable() -> None:
    example = (ROOT / ".env.example").read_text()
    assigned = {
        line.lstrip("# ").split("=", 1)[0]
        for line in example.splitlines()
        if "=" in line and line.lstrip("# ").split("=", 1)[0].isupper()
    }
    missing = sorted(_all_variables() - assigned)
    assert missing == []
    assert "\nENVIRONMENT=development\n" in example


# --- everything started locally on purpose says development -------------------------------


def test_make_up_runs_every_service_in_development() -> None:
    from devstack import up

    planned, _ = up.services()
    processes = [s for s in planned if isinstance(s, up.Process)]
    assert {p.module for p in processes} >= {"orchestrator", "worker", "webhook", "portal"}
    for process in processes:
        assert process.child_env()["ENVIRONMENT"] == "development", process.name


@pytest.mark.parametrize("target", ["up", "orchestrator", "webhook", "portal", "directories-sync"])
def test_make_run_targets_say_development(target: str) -> None:
    dry = subprocess.run(
        ["make", "-n", "-o", "deps", target], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "ENVIRONMENT=development" in dry.stdout, dry.stdout


def test_e2e_stack_children_run_in_development(tmp_path: Path) -> None:
    from tests.support.e2e_stack import Stack

    stack = Stack(db_url="postgresql://unused", tmp=tmp_path)
    stack._spawn("probe", ["-c", "import os; print(os.environ['ENVIRONMENT'])"])
    assert stack.processes["probe"].wait(timeout=30) == 0
    assert (tmp_path / "probe.log").read_text().strip() == "development"


# --- the log scrubber knows every secret the settings hold --------------------------------

SETTINGS_SECRETS = {
    "worker_token": 'tok"en\\with-quote-4f2a9c',
    "staff_api_key": "staff-key-never-in-env-8b1d",
    "db_password": "db-pass-never-in-env-77e3",
    "smtp_password": "smtp-pass-never-in-env-19c4",
    "proxy_password_1": "proxy-pass-one-5a6b",
    "proxy_password_2": "pr@xy-pass-two-3c4d",
    "twocaptcha": "captcha-key-never-in-env-0d0e",
    "stripe": "sk_live_never_in_env_1a2b3c4d",
    "whsec": "whsec_never_in_env_9z8y7x",
}


def _leaks(line: str, secrets: dict[str, str]) -> list[str]:
    encoded = {name: json.dumps(value)[1:-1] for name, value in secrets.items()}
    return sorted(
        name
        for name, value in secrets.items()
        if value in line or encoded[name] in line or value in json.dumps(json.loads(line))
    )


def test_log_scrubber_hides_every_secret_the_settings_hold(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in _all_variables():
        monkeypatch.delenv(name, raising=False)
    s = SETTINGS_SECRETS
    OrchestratorSettings(
        environment="development",
        worker_token=SecretStr(s["worker_token"]),
        staff_api_key=SecretStr(s["staff_api_key"]),
        database_url=SecretStr(f"postgresql://svc:{s['db_password']}@db.internal:5432/app"),
        smtp_url=SecretStr(f"smtp://mailer:{s['smtp_password']}@smtp.internal:587"),
    )
    WorkerSettings(
        environment="development",
        twocaptcha_api_key=SecretStr(s["twocaptcha"]),
        proxy_urls=SecretStr(
            f"http://u1:{s['proxy_password_1']}@p1.vendor.com:8000,"
            f"http://u2:{s['proxy_password_2'].replace('@', '%40')}@p2.vendor.com:8000"
        ),
    )
    PortalSettings(environment="development", stripe_secret_key=SecretStr(s["stripe"]))
    WebhookSettings(environment="development", stripe_webhook_secret=SecretStr(s["whsec"]))

    everything = " ".join(s.values())
    try:
        raise RuntimeError(f"request failed with {everything}")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.makeLogRecord(
        {
            "msg": "calling with %s",
            "args": (everything,),
            "levelname": "ERROR",
            "action": "attack.leak",
            "exc_info": exc_info,
            "headers": {"Authorization": f"Bearer {s['worker_token']}"},
            "tokens": list(s.values()),
            "proxy": s["proxy_password_2"],
        }
    )
    line = JsonFormatter().format(record)
    assert _leaks(line, s) == []
    entry = json.loads(line)
    assert entry["action"] == "attack.leak"
    assert "***" in entry["msg"]
    assert "***" in entry["exc"]


def test_the_worker_refuses_a_realtime_retry_range_upside_down() -> None:
    # A minimum over the maximum would make every reconnect wait the minimum: refused, naming both.
    with pytest.raises(ValueError, match=r"REALTIME_RETRY_MIN_SECONDS .* REALTIME_RETRY_MAX"):
        WorkerSettings(realtime_retry_min_seconds=5, realtime_retry_max_seconds=2)
    assert WorkerSettings(realtime_retry_min_seconds=2, realtime_retry_max_seconds=2)
