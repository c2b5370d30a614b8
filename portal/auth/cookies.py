"""The sign-in cookies: the session (Auth's access and refresh tokens) and, while an emailed
link is on its way, the PKCE code verifier.

The browser never reads them (HttpOnly), they only go back to this site (SameSite=Lax), and
the access token is checked against Auth's keys on every request. The verifier cookie makes
a sign-in link work only in the browser that asked for it.
"""

from __future__ import annotations

from starlette.responses import Response
from supabase_auth.types import Session

ACCESS_COOKIE = "dbolt_access"
REFRESH_COOKIE = "dbolt_refresh"
# The refresh token outlives the access token; Auth decides when it stops working.
REFRESH_MAX_AGE = 30 * 24 * 3600
VERIFIER_COOKIE = "dbolt_pkce"
# As long as Auth keeps an emailed link valid (GoTrue's default OTP expiry).
VERIFIER_MAX_AGE = 3600


def set_session(
    response: Response, access_token: str, refresh_token: str, expires_in: int, *, secure: bool
) -> None:
    # The access cookie outlives its token a little so the refresh middleware still sees it.
    response.set_cookie(
        ACCESS_COOKIE,
        access_token,
        max_age=max(expires_in, 0) + 3600,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
    response.set_cookie(
        REFRESH_COOKIE,
        refresh_token,
        max_age=REFRESH_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )


def clear_session(response: Response, *, secure: bool) -> None:
    for name in (ACCESS_COOKIE, REFRESH_COOKIE):
        response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=secure)


def keep_verifier(response: Response, verifier: str | None, *, secure: bool) -> None:
    if verifier:
        response.set_cookie(
            VERIFIER_COOKIE,
            verifier,
            max_age=VERIFIER_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=secure,
            path="/",
        )


def forget_verifier(response: Response, *, secure: bool) -> None:
    response.delete_cookie(VERIFIER_COOKIE, path="/", httponly=True, samesite="lax", secure=secure)


def start_session(response: Response, session: Session, *, secure: bool) -> None:
    """Puts the session in the HttpOnly cookies and forgets any code verifier."""
    set_session(
        response,
        session.access_token,
        session.refresh_token,
        session.expires_in or 3600,
        secure=secure,
    )
    forget_verifier(response, secure=secure)
