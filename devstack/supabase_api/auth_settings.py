"""How the Auth stand-in is configured: GoTrue's own knobs, under GoTrue's own names.

Defaults follow a hosted project (email confirmation on, refresh-token rotation on with a
10 s reuse interval, one-hour access tokens, one-hour OTPs), except `email_max_frequency`,
which is `supabase init`'s local 1 s rather than hosted's 60 s so a developer can ask for a
second link at once. Every value can be overridden from the environment:

    SMTP_URL                                       smtp://127.0.0.1:54325
    GOTRUE_SITE_URL (else PORTAL_URL)              http://127.0.0.1:3000
    GOTRUE_URI_ALLOW_LIST                          comma-separated globs for redirect_to
    GOTRUE_JWT_EXP                                 3600
    GOTRUE_MAILER_OTP_EXP                          3600
    GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL   10
    GOTRUE_SMTP_MAX_FREQUENCY                      1   (seconds)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_SMTP_URL = "smtp://127.0.0.1:54325"
DEFAULT_SITE_URL = "http://127.0.0.1:3000"


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip().removesuffix("s"))
    except ValueError as error:
        raise ValueError(f"{name} must be a number of seconds, not {raw!r}") from error
    if value < 0:
        raise ValueError(f"{name} must not be negative, not {raw!r}")
    return value


@dataclass(frozen=True)
class AuthSettings:
    smtp_url: str = DEFAULT_SMTP_URL
    # Where a link goes when its redirect_to is missing or not allowed (GoTrue's SITE_URL).
    site_url: str = DEFAULT_SITE_URL
    # redirect_to values allowed besides any URL on the site's host (GoTrue's URI_ALLOW_LIST).
    redirect_allow_list: tuple[str, ...] = ()
    access_token_seconds: int = 3600
    otp_seconds: int = 3600
    otp_length: int = 6
    # A revoked refresh token presented again within this window is a lost response or a
    # concurrent refresh, not theft: GoTrue answers it instead of revoking the family.
    refresh_token_reuse_interval_seconds: float = 10.0
    email_max_frequency_seconds: float = 1.0
    # How long a PKCE auth code may wait for its exchange (GoTrue's FlowStateExpiryDuration).
    flow_state_seconds: int = 300
    minimum_password_length: int = 6

    @classmethod
    def from_env(cls) -> AuthSettings:
        allow_list = os.environ.get("GOTRUE_URI_ALLOW_LIST", "")
        return cls(
            smtp_url=os.environ.get("SMTP_URL") or DEFAULT_SMTP_URL,
            site_url=(
                os.environ.get("GOTRUE_SITE_URL")
                or os.environ.get("PORTAL_URL")
                or DEFAULT_SITE_URL
            ),
            redirect_allow_list=tuple(p.strip() for p in allow_list.split(",") if p.strip()),
            access_token_seconds=int(_seconds("GOTRUE_JWT_EXP", 3600)),
            otp_seconds=int(_seconds("GOTRUE_MAILER_OTP_EXP", 3600)),
            refresh_token_reuse_interval_seconds=_seconds(
                "GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL", 10.0
            ),
            email_max_frequency_seconds=_seconds("GOTRUE_SMTP_MAX_FREQUENCY", 1.0),
        )
