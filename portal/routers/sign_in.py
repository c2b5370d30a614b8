"""Passwordless sign-in with Supabase Auth through the official client.

GET/POST /sign-in asks Auth to email a link and a 6-digit code (PKCE: the link only works in
this browser, which holds the code verifier in an HttpOnly cookie). GET/POST /sign-in/code
takes the typed code (verify_otp); GET /auth/callback exchanges the link's ?code=;
/auth/confirm redeems the token_hash links in our own emails — GET only shows a button and
the POST it sends (under the cross-site request guard) signs in, so another site's link or a
mail scanner fetching it neither signs anybody in (login CSRF) nor uses the link up;
POST /sign-out logs the session out at Auth and clears the cookies. `next` is only ever a
local path. Sending emails and checking codes are rate limited per client IP and per address
(portal/rate_limit.py): 429 with Retry-After.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response
from supabase_auth.errors import AuthApiError, AuthError

from portal import customer_auth, rate_limit
from portal.dependencies import MaybeViewer, PortalStateDep
from portal.rate_limit import Limit
from portal.session_cookies import ACCESS_COOKIE, clear_session
from portal.templating import render

log = logging.getLogger(__name__)
router = APIRouter(tags=["customer"])

EMAIL_PATTERN = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
CODE_PATTERN = re.compile(r"^[0-9]{6}$")
# The link kinds our emails and Auth's carry; anything else is refused before Auth is asked.
CONFIRM_TYPES = {"magiclink", "signup", "invite", "email"}
LINK_FAILED = (
    "That sign-in link did not work: it may have expired or been used already. "
    "Ask for a new one below."
)
TOO_SOON = "We emailed this address moments ago. Please wait a minute before asking again."
SEND_FAILED = "We could not send the sign-in email just now. Please try again in a minute."
WRONG_CODE = "That code is wrong or has expired. Check the latest email, or ask for a new code."
TOO_MANY_EMAILS = "Too many sign-in emails asked for. Please wait {wait} and try again."
TOO_MANY_CODES = "Too many wrong codes. Please wait {wait}, then ask for a new code."


def _wait_words(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return "a minute" if minutes == 1 else f"{minutes} minutes"


def _email_error(email: str) -> str | None:
    if not email:
        return "Enter your email address"
    if len(email) > 254 or not EMAIL_PATTERN.match(email):
        return "Enter an email address like name@example.com"
    return None


def _sign_in_page(
    request: Request,
    *,
    next_path: str,
    email: str = "",
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "sign_in.html",
        status_code=status_code,
        next_path=next_path,
        email=email,
        errors=errors or {},
        notice=notice,
    )


def _code_page(
    request: Request,
    *,
    next_path: str,
    email: str,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "sign_in_code.html",
        status_code=status_code,
        next_path=next_path,
        email=email,
        errors=errors or {},
    )


@router.get("/sign-in")
async def sign_in_form(request: Request, viewer: MaybeViewer, next: str = "") -> Response:
    next_path = customer_auth.safe_next(next)
    if viewer is not None:
        return RedirectResponse(next_path, status_code=303)
    notice = None
    if request.query_params.get("signed_out") == "1":
        notice = "You are signed out."
    elif request.query_params.get("error"):
        notice = LINK_FAILED
    return _sign_in_page(request, next_path=next_path, notice=notice)


def _limited(page: Response, wait: float) -> Response:
    """The form again, as a 429 that says when to try once more."""
    page.headers["Retry-After"] = rate_limit.retry_after(wait)
    return page


def _auth_failure(error: Exception) -> dict[str, object]:
    """What to log about a failed Auth call: its status and code, or that it was unreachable."""
    if isinstance(error, AuthApiError):
        return {"status": error.status, "code": error.code}
    return {"error": type(error).__name__}


@router.post("/sign-in")
async def sign_in_submit(
    request: Request,
    state: PortalStateDep,
    email: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    next_path = customer_auth.safe_next(next)
    email = email.strip().lower()
    problem = _email_error(email)
    if problem:
        return _sign_in_page(
            request, next_path=next_path, email=email, errors={"email": problem}, status_code=400
        )
    wait = rate_limit.limiter(state.extras).take_all(
        (rate_limit.SIGN_IN_PER_IP, rate_limit.client_ip(request)),
        (rate_limit.SIGN_IN_PER_EMAIL, email),
    )
    if wait is not None:
        log.warning("sign-in emails rate limited", extra={"action": "portal.sign_in_rate_limited"})
        return _limited(
            _sign_in_page(
                request,
                next_path=next_path,
                email=email,
                errors={"email": TOO_MANY_EMAILS.format(wait=_wait_words(wait))},
                status_code=429,
            ),
            wait,
        )
    storage = customer_auth.VerifierStorage()
    client = customer_auth.auth_client(state, storage)
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
            return _sign_in_page(
                request,
                next_path=next_path,
                email=email,
                errors={"email": TOO_SOON},
                status_code=429,
            )
        else:
            log.error(
                "sign-in email failed at Auth",
                extra={"action": "portal.sign_in_failed", **_auth_failure(error)},
            )
            return _sign_in_page(
                request,
                next_path=next_path,
                email=email,
                errors={"email": SEND_FAILED},
                status_code=503,
            )
    response = RedirectResponse(
        f"/sign-in/code?{urlencode({'email': email, 'next': next_path})}", status_code=303
    )
    customer_auth.keep_verifier(state, response, storage)
    return response


@router.get("/sign-in/code")
async def code_form(request: Request, email: str = "", next: str = "") -> Response:
    return _code_page(request, next_path=customer_auth.safe_next(next), email=email.strip().lower())


def _give_back(limiter: rate_limit.RateLimiter, limits: tuple[tuple[Limit, str], ...]) -> None:
    for limit, key in limits:
        limiter.refund(limit, key)


@router.post("/sign-in/code")
async def code_submit(
    request: Request,
    state: PortalStateDep,
    email: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    next_path = customer_auth.safe_next(next)
    email = email.strip().lower()
    code = re.sub(r"\s", "", code)
    errors: dict[str, str] = {}
    problem = _email_error(email)
    if problem:
        errors["email"] = problem
    if not CODE_PATTERN.match(code):
        errors["code"] = "Enter the 6-digit code from the email"
    if errors:
        return _code_page(request, next_path=next_path, email=email, errors=errors, status_code=400)
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
        return _limited(
            _code_page(
                request,
                next_path=next_path,
                email=email,
                errors={"code": TOO_MANY_CODES.format(wait=_wait_words(wait))},
                status_code=429,
            ),
            wait,
        )
    try:
        result = await customer_auth.auth_client(state).verify_otp(
            {"email": email, "token": code, "type": "email"}
        )
    except (AuthError, httpx.HTTPError) as error:
        if isinstance(error, AuthApiError) and error.status in (400, 403, 404, 422):
            return _code_page(
                request,
                next_path=next_path,
                email=email,
                errors={"code": WRONG_CODE},
                status_code=400,
            )
        _give_back(limiter, limits)
        log.error(
            "code check failed at Auth",
            extra={"action": "portal.code_failed", **_auth_failure(error)},
        )
        return _code_page(
            request,
            next_path=next_path,
            email=email,
            errors={"code": "We could not check the code just now. Please try again in a minute."},
            status_code=503,
        )
    # Anything else (a request cancelled mid-check) keeps its slot: the guess may have
    # reached Auth.
    _give_back(limiter, limits)
    if result.session is None:
        return _code_page(
            request,
            next_path=next_path,
            email=email,
            errors={"code": "Sign-in failed."},
            status_code=400,
        )
    response = RedirectResponse(next_path, status_code=303)
    customer_auth.sign_in_response(state, response, result.session)
    log.info("signed in with a code", extra={"action": "portal.signed_in", "method": "code"})
    return response


@router.get("/auth/callback")
async def auth_callback(
    request: Request, state: PortalStateDep, code: str = "", next: str = ""
) -> Response:
    next_path = customer_auth.safe_next(next)
    retry = f"/sign-in?{urlencode({'next': next_path, 'error': 'link'})}"
    if not code:
        # Auth puts error_code/error_description here when the link was refused.
        return RedirectResponse(retry, status_code=303)
    storage = customer_auth.VerifierStorage.from_request(request)
    if storage.verifier is None:
        return _sign_in_page(
            request,
            next_path=next_path,
            notice=(
                "Open the sign-in link in the same browser you asked for it from, "
                "or type the 6-digit code from the email on the next page."
            ),
            status_code=400,
        )
    try:
        result = await customer_auth.auth_client(state, storage).exchange_code_for_session(
            {"auth_code": code, "code_verifier": storage.verifier, "redirect_to": ""}
        )
    except AuthApiError as error:
        log.info(
            "sign-in link code refused",
            extra={"action": "portal.callback_refused", "status": error.status, "code": error.code},
        )
        return RedirectResponse(retry, status_code=303)
    except (AuthError, httpx.HTTPError) as error:
        log.error(
            "auth unreachable for callback",
            extra={"action": "portal.callback_failed", "error": type(error).__name__},
        )
        return _sign_in_page(
            request,
            next_path=next_path,
            notice="We could not sign you in just now. Please try again.",
            status_code=503,
        )
    if result.session is None:
        return RedirectResponse(retry, status_code=303)
    response = RedirectResponse(next_path, status_code=303)
    customer_auth.sign_in_response(state, response, result.session)
    log.info("signed in with a link", extra={"action": "portal.signed_in", "method": "pkce"})
    return response


def _confirm_input(token_hash: str, kind: str) -> bool:
    return bool(token_hash) and len(token_hash) <= 200 and kind in CONFIRM_TYPES


@router.get("/auth/confirm")
async def auth_confirm_page(
    request: Request,
    token_hash: str = "",
    kind: Annotated[str, Query(alias="type")] = "",
    next: str = "",
) -> Response:
    """Only a button: opening the link (or a scanner fetching it) neither signs in nor uses
    the link up."""
    next_path = customer_auth.safe_next(next)
    if not _confirm_input(token_hash, kind):
        return RedirectResponse(
            f"/sign-in?{urlencode({'next': next_path, 'error': 'link'})}", status_code=303
        )
    response = render(
        request, "sign_in_confirm.html", token_hash=token_hash, kind=kind, next_path=next_path
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/auth/confirm")
async def auth_confirm(
    request: Request,
    state: PortalStateDep,
    token_hash: Annotated[str, Form()] = "",
    kind: Annotated[str, Form(alias="type")] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    next_path = customer_auth.safe_next(next)
    retry = f"/sign-in?{urlencode({'next': next_path, 'error': 'link'})}"
    if not _confirm_input(token_hash, kind):
        return RedirectResponse(retry, status_code=303)
    try:
        session = await customer_auth.session_from_token_hash(state, token_hash, kind)
    except AuthApiError as error:
        log.info(
            "email link refused",
            extra={"action": "portal.confirm_refused", "status": error.status, "code": error.code},
        )
        return RedirectResponse(retry, status_code=303)
    except (AuthError, LookupError, httpx.HTTPError) as error:
        log.error(
            "auth unreachable for confirm",
            extra={"action": "portal.confirm_failed", "error": type(error).__name__},
        )
        return _sign_in_page(
            request,
            next_path=next_path,
            notice="We could not sign you in just now. Please try again.",
            status_code=503,
        )
    response = RedirectResponse(next_path, status_code=303)
    customer_auth.sign_in_response(state, response, session)
    log.info(
        "signed in with an email link", extra={"action": "portal.signed_in", "method": "token_hash"}
    )
    return response


@router.post("/sign-out")
async def sign_out(request: Request, state: PortalStateDep, viewer: MaybeViewer) -> Response:
    token = viewer.access_token if viewer is not None else request.cookies.get(ACCESS_COOKIE)
    if token:
        try:
            await customer_auth.logout(state, token)
        except (AuthError, httpx.HTTPError) as error:
            # The cookies go anyway; Auth forgets the refresh token when it expires.
            log.warning(
                "auth logout failed",
                extra={"action": "portal.sign_out_failed", "error": type(error).__name__},
            )
    response = RedirectResponse("/sign-in?signed_out=1", status_code=303)
    clear_session(response, secure=state.settings.cookie_secure)
    response.delete_cookie(
        customer_auth.VERIFIER_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=state.settings.cookie_secure,
    )
    return response
