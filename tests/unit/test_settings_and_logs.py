"""Settings refuse production with default secrets; logs are JSON and never carry secrets."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import SecretStr

from dbolt.log import JsonFormatter, scrub
from dbolt.settings import DatabaseSettingsMixin, ServiceSettings


class ExampleSettings(DatabaseSettingsMixin, ServiceSettings):
    staff_api_key: SecretStr = SecretStr("local-dev")


def test_production_refuses_default_secrets_naming_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    with pytest.raises(ValueError, match="DATABASE_URL, STAFF_API_KEY"):
        ExampleSettings().check_production_secrets()
    monkeypatch.setenv("STAFF_API_KEY", "k" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://svc:s3cr3t-long@db.internal:5432/app")
    ExampleSettings().check_production_secrets()


def test_development_accepts_local_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "development")
    ExampleSettings().check_production_secrets()
    assert "local-dev" not in repr(ExampleSettings())


def test_logs_are_json_with_action_and_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAFF_API_KEY", "sk_live_abcdef123456")
    record = logging.makeLogRecord(
        {
            "msg": "auth with %s failed",
            "args": ("sk_live_abcdef123456",),
            "levelname": "WARNING",
            "action": "staff.auth_failed",
            "job_id": "j1",
        }
    )
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["action"] == "staff.auth_failed"
    assert entry["job_id"] == "j1"
    assert "sk_live_abcdef123456" not in line
    assert "***" in entry["msg"]


def test_url_passwords_are_scrubbed() -> None:
    assert (
        scrub("postgresql://svc:hunter2@db:5432/x", secrets=[]) == "postgresql://svc:***@db:5432/x"
    )
