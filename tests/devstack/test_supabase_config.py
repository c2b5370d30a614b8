"""supabase/config.toml (the hosted project's Auth settings) and the local Auth stand-in agree.

The portal is tested against devstack's stand-in but runs against hosted Auth configured by
config.toml; where they disagree (code length, expiry, token lifetimes) a test passes here and
the product fails there. `max_frequency` is the one documented difference: the stand-in lets a
developer ask for a second email at once (devstack/supabase_api/auth_settings.py).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from devstack.supabase_api.auth_settings import AuthSettings
from portal.auth.cookies import VERIFIER_MAX_AGE
from portal.auth.sign_in_form import CODE_PATTERN

CONFIG = Path(__file__).resolve().parents[2] / "supabase" / "config.toml"


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    with CONFIG.open("rb") as file:
        return tomllib.load(file)


def test_the_stand_in_uses_the_hosted_otp_and_token_settings(config: dict[str, Any]) -> None:
    auth, stand_in = config["auth"], AuthSettings()
    assert auth["email"]["otp_length"] == stand_in.otp_length
    assert auth["email"]["otp_expiry"] == stand_in.otp_seconds
    assert auth["jwt_expiry"] == stand_in.access_token_seconds
    assert auth["refresh_token_reuse_interval"] == stand_in.refresh_token_reuse_interval_seconds
    assert auth["minimum_password_length"] == stand_in.minimum_password_length


def test_the_portal_takes_the_code_and_keeps_the_verifier_as_auth_sends_them(
    config: dict[str, Any],
) -> None:
    email = config["auth"]["email"]
    assert CODE_PATTERN.match("1" * email["otp_length"])
    assert not CODE_PATTERN.match("1" * (email["otp_length"] + 1))
    assert email["otp_expiry"] == VERIFIER_MAX_AGE


def test_both_take_the_site_url_from_portal_url(
    config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert config["auth"]["site_url"] == "env(PORTAL_URL)"
    monkeypatch.delenv("GOTRUE_SITE_URL", raising=False)
    monkeypatch.setenv("PORTAL_URL", "https://portal.example")
    assert AuthSettings.from_env().site_url == "https://portal.example"


def test_the_checkout_function_is_behind_the_gateways_jwt_check(config: dict[str, Any]) -> None:
    # The local gateway (devstack/supabase_api/functions_proxy.py) always checks the JWT.
    assert config["functions"]["checkout"]["verify_jwt"] is True


def test_the_data_api_is_off_because_no_service_calls_it(config: dict[str, Any]) -> None:
    # If this fails, something now uses PostgREST: turn [api] on in config.toml (public only).
    root = CONFIG.parent.parent
    callers = [
        path.relative_to(root)
        for package in ("dbolt", "orchestrator", "webhook", "portal", "worker")
        for path in (root / package).rglob("*")
        if path.suffix in {".py", ".js", ".html"} and "/rest/v1" in path.read_text()
    ]
    assert callers == []
    assert config["api"]["enabled"] is False
