"""Each `dbolt` command reads only the settings it uses, and production refuses them unsafe:
the database commands DATABASE_URL, `dbolt staff` Auth's address and key and the portal's."""

from __future__ import annotations

import pytest

from dbolt.cli import main


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("ENVIRONMENT", "production")
    for name in ("DATABASE_URL", "SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "PORTAL_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_staff_in_production_names_the_auth_and_portal_settings_only(
    production: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["staff", "ops@example.com"]) == 2
    refusal = capsys.readouterr().err
    assert "(PORTAL_URL, SUPABASE_SERVICE_ROLE_KEY, SUPABASE_URL)" in refusal
    assert "DATABASE_URL" not in refusal


def test_queue_stats_in_production_names_the_local_database_url(
    production: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["queue", "stats"]) == 2
    assert "refusing to start in production (DATABASE_URL)" in capsys.readouterr().err
