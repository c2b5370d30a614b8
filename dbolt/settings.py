"""Configuration from the environment: `.env`, then `.env.local`, then real variables.

Each service subclasses ServiceSettings with its own fields. Secrets are SecretStr so they
never print; in production a service refuses to start if a secret is missing or still a
local default, naming the variable.
"""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_DATABASE_URL = "postgresql://postgres:postgres@127.0.0.1:54322/postgres"

# Values that are fine on a laptop and a disaster in production.
_LOCAL_DEFAULT_SECRETS = {"", "postgres", "changeme", "local-dev", "test"}


class ServiceSettings(BaseSettings):
    """What every service needs: where the database is, and what mode it runs in."""

    model_config = SettingsConfigDict(
        env_file=(".env", ".env.local"), env_file_encoding="utf-8", extra="ignore"
    )

    environment: Literal["development", "test", "production"] = "development"
    database_url: SecretStr = SecretStr(LOCAL_DATABASE_URL)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    def check_production_secrets(self) -> None:
        """Raise naming every secret variable that is missing or a local default."""
        if self.environment != "production":
            return
        bad = []
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if field.annotation is SecretStr or isinstance(value, SecretStr):
                secret = value.get_secret_value() if isinstance(value, SecretStr) else ""
                if (
                    secret in _LOCAL_DEFAULT_SECRETS
                    or secret.startswith("local-dev")
                    or "postgres:postgres@" in secret
                ):
                    bad.append(name.upper())
        if bad:
            raise ValueError(
                "refusing to start in production with missing or default secrets: "
                + ", ".join(sorted(bad))
            )
