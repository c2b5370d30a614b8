"""The signed-in session as two HttpOnly cookies: Auth's access and refresh tokens.

The browser never reads them (HttpOnly), they only go back to this site (SameSite=Lax), and
the access token is checked against Auth's keys on every request.
"""

from __future__ import annotations

from starlette.responses import Response

ACCESS_COOKIE = "dbolt_access"
REFRESH_COOKIE = "dbolt_refresh"
# The refresh token outlives the access token; Auth decides when it stops working.
REFRESH_MAX_AGE = 30 * 24 * 3600


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
