"""Configuration from the environment: `.env`, then `.env.local`, then real variables.

Each service subclasses ServiceSettings with its own fields; the services that hold database
credentials add DatabaseSettingsMixin (the worker must not). Secrets are SecretStr so they
never print.

Fail closed: a service is in production unless ENVIRONMENT=development (or `test`) is said.
In production, building the settings raises one error naming every variable that is missing,
a local default, a Stripe test key, an http:// or internal URL where a public https one
belongs, or (the portal) an insecure cookie. Every secret the settings hold is handed to the
log scrubber as they are built.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from dbolt import production
from dbolt.log import register_secrets
from dbolt.urls import url_passwords
from dbolt.vault import Vault

LOCAL_DATABASE_URL = "postgresql://postgres:postgres@127.0.0.1:54322/postgres"


class InsecureProductionSettings(ValueError):
    """Production settings that must not run; `problems` maps each variable to why."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = dict(sorted(problems.items()))
        listed = "; ".join(f"{name} {reason}" for name, reason in self.problems.items())
        super().__init__(
            f"refusing to start in production ({', '.join(self.problems)}): {listed}. "
            "For local use set ENVIRONMENT=development (see .env.example)."
        )


def _allows(annotation: Any, kind: type) -> bool:
    if annotation is kind:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return kind in get_args(annotation)
    return False


class ServiceSettings(BaseSettings):
    """What every service needs: what mode it runs in, and its log level."""

    model_config = SettingsConfigDict(
        env_file=(".env", ".env.local"), env_file_encoding="utf-8", extra="ignore"
    )

    # Production unless said otherwise: a forgotten variable must never make a deployment
    # run with the local stack's defaults.
    environment: Literal["development", "test", "production"] = "production"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Stripe test keys (sk_test_, rk_test_) are refused in production unless this is set to
    # false on purpose (a staging deployment that takes no real money).
    stripe_live_mode: bool = True

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        # Checked after validation, outside it: pydantic's own error would print the input
        # (secrets included); this one names variables only.
        self.check_production_secrets()
        register_secrets(self.secret_values())

    def check_production_secrets(self) -> None:
        """Raise InsecureProductionSettings naming every variable production refuses."""
        if self.environment != "production":
            return
        problems = self.production_problems()
        if problems:
            raise InsecureProductionSettings(problems)

    def production_problems(self) -> dict[str, str]:
        """Variable → why production refuses its value. Subclasses add their own rules."""
        problems: dict[str, str] = {}
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if isinstance(value, SecretStr) or _allows(field.annotation, SecretStr):
                raw = value.get_secret_value() if isinstance(value, SecretStr) else None
                reason = production.secret_problem(
                    raw, optional=_allows(field.annotation, type(None))
                ) or production.stripe_test_key_problem(raw, live_mode=self.stripe_live_mode)
            else:
                raw = value if isinstance(value, str) else None
                reason = None
            if reason is None and raw:
                if name in production.PUBLIC_URL_FIELDS:
                    reason = production.public_url_problem(raw)
                elif name in production.IN_CLUSTER_URL_FIELDS:
                    reason = production.in_cluster_url_problem(name, raw)
            if reason is not None:
                problems[name.upper()] = reason
        return problems

    def secret_values(self) -> Iterator[str]:
        """Every secret these settings hold: SecretStr values, and passwords written in
        any URL (DATABASE_URL's, PROXY_URLS' credentials), percent-decoded too."""
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                raw = value.get_secret_value()
                yield raw
                yield from url_passwords(raw)
            elif isinstance(value, str):
                yield from url_passwords(value)


class DatabaseSettingsMixin(BaseModel):
    """The database URL and the connection pool's limits, for the services that hold database
    credentials (orchestrator, webhook, portal, the operator's CLI); never the worker, which
    reaches the queue through the orchestrator. Listed before ServiceSettings:

        class PortalSettings(DatabaseSettingsMixin, ServiceSettings): ...
    """

    database_url: SecretStr = SecretStr(LOCAL_DATABASE_URL)
    db_pool_min_size: int = 1
    db_pool_max_size: int = 10
    # Bounds both a checkout from the pool and each connect attempt (dbolt/sql/pool.py).
    db_timeout_seconds: float = 5.0


# The local stack's vault key (published, like every devstack default: production refuses it
# by its `local-dev` key id). 32 zero bytes would do as well; this one is just not all zeros.
LOCAL_VAULT_KEYS = "local-dev:ZGJvbHQtbG9jYWwtZGV2LXZhdWx0LWtleS0zMi1ieXQ="
LOCAL_MAILBOX_DOMAIN = "mailbox.directorybolt.localhost"


class VaultSettingsMixin(BaseModel):
    """The key ring for what we keep encrypted (dbolt/vault.py): directory account passwords
    and parked browser sessions. The services that seal or open them list it (orchestrator,
    portal); the worker never does."""

    vault_keys: SecretStr = SecretStr(LOCAL_VAULT_KEYS)

    def vault(self) -> Vault:
        return Vault.from_spec(self.vault_keys.get_secret_value())


class MailboxSettingsMixin(BaseModel):
    """The domain of the customers' campaign mailboxes (customer_mailboxes.local_part @ it)."""

    mailbox_domain: str = LOCAL_MAILBOX_DOMAIN

    def mailbox_address(self, local_part: str) -> str:
        return f"{local_part}@{self.mailbox_domain}"
