"""Email links and codes: input checks, where a link may send the browser, and the token itself.

GoTrue stores `sha224(email + code)` as the user's confirmation or recovery token (and in
`auth.one_time_tokens`); the link carries that hash, the email carries the code, so either
proves the same thing. A PKCE sign-in stores the hash with a `pkce_` prefix, which is how
GET /verify knows to answer with `?code=` instead of tokens in the fragment.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request

from devstack.supabase_api import auth_store as store
from devstack.supabase_api.auth_http import (
    too_many_requests,
    unprocessable,
    validation_failed,
)
from devstack.supabase_api.auth_models import User
from devstack.supabase_api.auth_settings import AuthSettings
from devstack.supabase_api.auth_tokens import PKCE_PREFIX, generate_otp, token_hash

LinkKind = Literal["magiclink", "signup", "recovery", "invite"]

# Which stored tokens a verification type may match (GoTrue's verifyTokenHash).
TOKEN_TYPES: dict[str, list[str]] = {
    "email": ["confirmation_token", "recovery_token"],
    "signup": ["confirmation_token"],
    "invite": ["confirmation_token"],
    "magiclink": ["recovery_token"],
    "recovery": ["recovery_token"],
}

# GoTrue's ParseAuthenticationMethod for the link types: what a PKCE flow was started for.
PKCE_METHODS = {
    "signup": "email/signup",
    "magiclink": "magiclink",
    "recovery": "recovery",
    "invite": "invite",
}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def validate_email(value: str | None) -> str:
    """GoTrue's validateEmail: required, at most 255 characters, well formed; lower-cased."""
    if not value:
        raise validation_failed("An email address is required")
    if len(value) > 255:
        raise validation_failed("An email address is too long")
    if not _EMAIL.match(value):
        raise validation_failed("Unable to validate email address: invalid format")
    return value.lower()


def validate_password(settings: AuthSettings, password: str) -> None:
    if len(password) < settings.minimum_password_length:
        raise unprocessable(
            "weak_password",
            f"Password should be at least {settings.minimum_password_length} characters.",
            weak_password={"reasons": ["length"]},
        )


def pkce_method(code_challenge: str | None, code_challenge_method: str | None) -> str | None:
    """The PKCE method a request asked for, or None for the implicit flow."""
    if not code_challenge and not code_challenge_method:
        return None
    if not code_challenge or not code_challenge_method:
        raise validation_failed("PKCE flow requires code_challenge_method and code_challenge")
    method = code_challenge_method.lower()
    if method not in ("s256", "plain"):
        raise validation_failed(
            f"code_challenge_method: unsupported code challenge method {code_challenge_method!r},"
            " expected s256 or plain"
        )
    if not 43 <= len(code_challenge) <= 128:
        raise validation_failed("code_challenge has to be between 43 and 128 characters")
    return method


def _redirect_allowed(settings: AuthSettings, url: str) -> bool:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    # GoTrue: any URL on the site's own host, or one matching the allow list.
    if host and host == urlsplit(settings.site_url).hostname:
        return True
    return any(fnmatch.fnmatchcase(url, pattern) for pattern in settings.redirect_allow_list)


def redirect_target(settings: AuthSettings, requested: str | None, request: Request) -> str:
    """GoTrue's GetReferrer: redirect_to if allowed, else the Referer if allowed, else the site."""
    for candidate in (requested, request.headers.get("referer")):
        if candidate and _redirect_allowed(settings, candidate):
            return candidate
    return settings.site_url


def action_link(request: Request, token: str, kind: str, redirect_to: str) -> str:
    # GoTrue builds links on its external URL; ours is wherever the caller reached us.
    base = f"{str(request.base_url).rstrip('/')}/auth/v1/verify"
    return f"{base}?{urlencode({'token': token, 'type': kind, 'redirect_to': redirect_to})}"


def check_send_frequency(settings: AuthSettings, sent_at: datetime | None) -> None:
    if sent_at is None or settings.email_max_frequency_seconds <= 0:
        return
    wait_until = sent_at + timedelta(seconds=settings.email_max_frequency_seconds)
    remaining = (wait_until - datetime.now(UTC)).total_seconds()
    if remaining > 0:
        raise too_many_requests(
            "over_email_send_rate_limit",
            f"For security purposes, you can only request this after {int(remaining) + 1} seconds.",
        )


def is_expired(settings: AuthSettings, sent_at: datetime | None) -> bool:
    if sent_at is None:
        return True
    return datetime.now(UTC) > sent_at + timedelta(seconds=settings.otp_seconds)


@dataclass(frozen=True)
class EmailToken:
    code: str  # the 6 digits the email shows
    hashed_token: str  # sha224(email + code)
    link_token: str  # what the link carries and the database stores (maybe `pkce_`-prefixed)


async def store_email_token(
    conn: store.AsyncConn, settings: AuthSettings, user: User, kind: LinkKind, *, pkce: bool
) -> EmailToken:
    """A fresh code for `user`, replacing any earlier one of the same kind."""
    code = generate_otp(settings.otp_length)
    hashed = token_hash(user.email or "", code)
    link_token = PKCE_PREFIX + hashed if pkce else hashed
    if kind in ("signup", "invite"):
        await store.set_confirmation_token(conn, user, link_token, invited=kind == "invite")
    else:
        await store.set_recovery_token(conn, user, link_token)
    return EmailToken(code=code, hashed_token=hashed, link_token=link_token)


async def consume_email_token(conn: store.AsyncConn, user: User, token_type: str) -> User:
    """What a verified link or code does: confirm (signup, invite) or spend (magic link)."""
    if token_type == "confirmation_token":  # noqa: S105 - a token kind, not a secret
        return await store.confirm_email(conn, user.id)
    user = await store.spend_recovery_token(conn, user.id)
    if not user.is_confirmed:
        # A magic link proves the address as well as a confirmation link does.
        user = await store.confirm_email(conn, user.id)
    return user
