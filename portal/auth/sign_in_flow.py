"""The calls to Supabase Auth behind each sign-in step, rate limited, logged, and with every
failure turned into what the visitor is told: `FormRefused` for the email and code forms,
`LinkRefused` (ask for a new link) or `AuthUnavailable` (try again) for emailed links.

Sending emails and checking codes are limited per client IP and per address
(portal/rate_limit.py); only wrong codes count against the code limits.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import httpx
from starlette.requests import Request
from supabase_auth.errors import AuthApiError, AuthError
from supabase_auth.types import Session

from portal import rate_limit
from portal.auth import client as auth
from portal.auth.sign_in_form import (
    CODE_CHECK_FAILED,
    NO_SESSION,
    SEND_FAILED,
    TOO_MANY_CODES,
    TOO_MANY_EMAILS,
    TOO_SOON,
    WRONG_CODE,
    FormRefused,
    wait_words,
)
from portal.state import PortalState

log = logging.getLogger(__name__)


class LinkRefused(Exception):
    """Auth refused an emailed link (expired, used, forged): the visitor asks for a new one."""


class OtherBrowser(Exception):
    """A sign-in link opened in a browser that did not ask for it (no PKCE verifier cookie)."""


class AuthUnavailable(Exception):
    """Auth could not be asked, or failed: nothing was decided, the visitor may try again."""


def _auth_failure(error: Exception) -> dict[str, object]:
    """What to log about a failed Auth call: its status and code, or that it was unreachable."""
    if isinstance(error, AuthApiError):
        return {"status": error.status, "code": error.code}
    return {"error": type(error).__name__}


async def send_email(
    state: PortalState, request: Request, email: str, next_path: str
) -> auth.VerifierStorage:
    """Asks Auth to email a link and a code to `email`; the storage holds the PKCE verifier
    for the browser's cookie. An unknown address is answered as a known one."""
    wait = rate_limit.limiter(state.extras).take_all(
        (rate_limit.SIGN_IN_PER_IP, rate_limit.client_ip(request)),
        (rate_limit.SIGN_IN_PER_EMAIL, email),
    )
    if wait is not None:
        log.warning("sign-in emails rate limited", extra={"action": "portal.sign_in_rate_limited"})
        raise FormRefused({"email": TOO_MANY_EMAILS.format(wait=wait_words(wait))}, 429, wait)
    storage = auth.VerifierStorage()
    client = auth.auth_client(state, storage)
    callback = f"{state.settings.portal_url}/auth/callback?{urlencode({'next': next_path})}"
    try:
        await client.sign_in_with_otp(
            {
                "email": email,
                "options": {"email_redirect_to": callback, "should_create_user": False},
            }
        )
    except (AuthError, httpx.HTTPError) as error:
        api_error = error if isinstance(error, AuthApiError) else None
        if api_error is not None and api_error.code == "otp_disabled":
            # No account for this address: answer exactly as for one, so the page cannot be
            # used to find out who our customers are.
            log.info(
                "sign-in asked for an unknown address", extra={"action": "portal.sign_in_unknown"}
            )
        elif api_error is not None and api_error.status == 429:
            raise FormRefused({"email": TOO_SOON}, 429) from error
        else:
            log.error(
                "sign-in email failed at Auth",
                extra={"action": "portal.sign_in_failed", **_auth_failure(error)},
            )
            raise FormRefused({"email": SEND_FAILED}, 503) from error
    return storage


async def check_code(state: PortalState, request: Request, email: str, code: str) -> Session:
    """The session for a right 6-digit code."""
    # A slot is reserved before Auth is asked (so concurrent guesses cannot share one) and
    # given back unless the code turns out wrong: only wrong codes count.
    limits = (
        (rate_limit.WRONG_CODE_PER_IP, rate_limit.client_ip(request)),
        (rate_limit.WRONG_CODE_PER_EMAIL, email),
    )
    limiter = rate_limit.limiter(state.extras)
    wait = limiter.take_all(*limits)
    if wait is not None:
        log.warning("code checks rate limited", extra={"action": "portal.code_rate_limited"})
        raise FormRefused({"code": TOO_MANY_CODES.format(wait=wait_words(wait))}, 429, wait)

    def give_back() -> None:
        for limit, key in limits:
            limiter.refund(limit, key)

    try:
        result = await auth.auth_client(state).verify_otp(
            {"email": email, "token": code, "type": "email"}
        )
    except (AuthError, httpx.HTTPError) as error:
        if isinstance(error, AuthApiError) and error.status in (400, 403, 404, 422):
            raise FormRefused({"code": WRONG_CODE}, 400) from error
        give_back()
        log.error(
            "code check failed at Auth",
            extra={"action": "portal.code_failed", **_auth_failure(error)},
        )
        raise FormRefused({"code": CODE_CHECK_FAILED}, 503) from error
    # Anything else (a request cancelled mid-check) keeps its slot: the guess may have
    # reached Auth.
    give_back()
    if result.session is None:
        raise FormRefused({"code": NO_SESSION}, 400)
    log.info("signed in with a code", extra={"action": "portal.signed_in", "method": "code"})
    return result.session


async def exchange_link_code(
    state: PortalState, storage: auth.VerifierStorage, code: str
) -> Session:
    """The session for a sign-in link's ?code=, with this browser's PKCE verifier."""
    verifier = storage.verifier
    if verifier is None:
        raise OtherBrowser
    try:
        result = await auth.auth_client(state, storage).exchange_code_for_session(
            {"auth_code": code, "code_verifier": verifier, "redirect_to": ""}
        )
    except AuthApiError as error:
        log.info(
            "sign-in link code refused",
            extra={"action": "portal.callback_refused", "status": error.status, "code": error.code},
        )
        raise LinkRefused from error
    except (AuthError, httpx.HTTPError) as error:
        log.error(
            "auth unreachable for callback",
            extra={"action": "portal.callback_failed", "error": type(error).__name__},
        )
        raise AuthUnavailable from error
    if result.session is None:
        raise LinkRefused
    log.info("signed in with a link", extra={"action": "portal.signed_in", "method": "pkce"})
    return result.session


async def redeem_email_link(state: PortalState, token_hash: str, kind: str) -> Session:
    """The session for one of our emails' token_hash links."""
    try:
        session = await auth.session_from_token_hash(state, token_hash, kind)
    except AuthApiError as error:
        log.info(
            "email link refused",
            extra={"action": "portal.confirm_refused", "status": error.status, "code": error.code},
        )
        raise LinkRefused from error
    except (AuthError, LookupError, httpx.HTTPError) as error:
        log.error(
            "auth unreachable for confirm",
            extra={"action": "portal.confirm_failed", "error": type(error).__name__},
        )
        raise AuthUnavailable from error
    log.info(
        "signed in with an email link", extra={"action": "portal.signed_in", "method": "token_hash"}
    )
    return session


async def sign_out(state: PortalState, access_token: str) -> None:
    """Logs the session out at Auth; a failure is only logged (the cookies go anyway)."""
    try:
        await auth.logout(state, access_token)
    except (AuthError, httpx.HTTPError) as error:
        # Auth forgets the refresh token when it expires.
        log.warning(
            "auth logout failed",
            extra={"action": "portal.sign_out_failed", "error": type(error).__name__},
        )
