"""Passwordless sign-in with Supabase Auth through the official client.

GET/POST /sign-in asks Auth to email a link and a 6-digit code (PKCE: the link only works in
this browser, which holds the code verifier in an HttpOnly cookie). GET/POST /sign-in/code
takes the typed code (verify_otp); GET /auth/callback exchanges the link's ?code=;
/auth/confirm redeems the token_hash links in our own emails — GET only shows a button and
the POST it sends (under the cross-site request guard) signs in, so another site's link or a
mail scanner fetching it neither signs anybody in (login CSRF) nor uses the link up;
POST /sign-out logs the session out at Auth and clears the cookies. `next` is only ever a
local path. Sending emails and checking codes are rate limited per client IP and per address
(portal/rate_limit.py): 429 with Retry-After. The calls to Auth are portal.auth.sign_in_flow;
the forms' rules, words and pages portal.auth.sign_in_form.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response
from supabase_auth.types import Session

from portal.auth import cookies, sign_in_flow
from portal.auth.client import VerifierStorage
from portal.auth.sign_in_form import (
    AUTH_UNAVAILABLE,
    LINK_FAILED,
    OTHER_BROWSER,
    SIGNED_OUT,
    FormRefused,
    code_form_errors,
    code_page,
    confirm_link_ok,
    email_error,
    link_failed_url,
    safe_next,
    sign_in_page,
)
from portal.dependencies import MaybeViewer, PortalStateDep
from portal.state import PortalState
from portal.templating import render

router = APIRouter(tags=["customer"])


def _landing(next_path: str, is_staff: bool) -> str:
    """Where a sign-in lands: the page asked for; without one, staff land on the dashboard
    and customers on their account."""
    return "/staff" if is_staff and next_path == safe_next(None) else next_path


def _signed_in(state: PortalState, next_path: str, session: Session) -> Response:
    # The user came from Auth's own answer (app_metadata is set only by its admin API).
    role = (session.user.app_metadata or {}).get("role") if session.user else None
    response = RedirectResponse(_landing(next_path, role == "staff"), status_code=303)
    cookies.start_session(response, session, secure=state.settings.cookie_secure)
    return response


@router.get("/sign-in")
async def sign_in_form(request: Request, viewer: MaybeViewer, next: str = "") -> Response:
    next_path = safe_next(next)
    if viewer is not None:
        return RedirectResponse(_landing(next_path, viewer.is_staff), status_code=303)
    notice = None
    if request.query_params.get("signed_out") == "1":
        notice = SIGNED_OUT
    elif request.query_params.get("error"):
        notice = LINK_FAILED
    return sign_in_page(request, next_path=next_path, notice=notice)


@router.post("/sign-in")
async def sign_in_submit(
    request: Request,
    state: PortalStateDep,
    email: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    next_path = safe_next(next)
    email = email.strip().lower()
    try:
        problem = email_error(email)
        if problem:
            raise FormRefused({"email": problem}, 400)
        storage = await sign_in_flow.send_email(state, request, email, next_path)
    except FormRefused as refused:
        return sign_in_page(request, next_path=next_path, email=email, refused=refused)
    response = RedirectResponse(
        f"/sign-in/code?{urlencode({'email': email, 'next': next_path})}", status_code=303
    )
    cookies.keep_verifier(response, storage.verifier, secure=state.settings.cookie_secure)
    return response


@router.get("/sign-in/code")
async def code_form(request: Request, email: str = "", next: str = "") -> Response:
    return code_page(request, next_path=safe_next(next), email=email.strip().lower())


@router.post("/sign-in/code")
async def code_submit(
    request: Request,
    state: PortalStateDep,
    email: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    next_path = safe_next(next)
    email = email.strip().lower()
    code = re.sub(r"\s", "", code)
    try:
        errors = code_form_errors(email, code)
        if errors:
            raise FormRefused(errors, 400)
        session = await sign_in_flow.check_code(state, request, email, code)
    except FormRefused as refused:
        return code_page(request, next_path=next_path, email=email, refused=refused)
    return _signed_in(state, next_path, session)


@router.get("/auth/callback")
async def auth_callback(
    request: Request, state: PortalStateDep, code: str = "", next: str = ""
) -> Response:
    next_path = safe_next(next)
    if not code:
        # Auth puts error_code/error_description here when the link was refused.
        return RedirectResponse(link_failed_url(next_path), status_code=303)
    storage = VerifierStorage.from_request(request)
    try:
        session = await sign_in_flow.exchange_link_code(state, storage, code)
    except sign_in_flow.OtherBrowser:
        return sign_in_page(request, next_path=next_path, notice=OTHER_BROWSER, status_code=400)
    except sign_in_flow.LinkRefused:
        return RedirectResponse(link_failed_url(next_path), status_code=303)
    except sign_in_flow.AuthUnavailable:
        return sign_in_page(request, next_path=next_path, notice=AUTH_UNAVAILABLE, status_code=503)
    return _signed_in(state, next_path, session)


@router.get("/auth/confirm")
async def auth_confirm_page(
    request: Request,
    token_hash: str = "",
    kind: Annotated[str, Query(alias="type")] = "",
    next: str = "",
) -> Response:
    """Only a button: opening the link (or a scanner fetching it) neither signs in nor uses
    the link up."""
    next_path = safe_next(next)
    if not confirm_link_ok(token_hash, kind):
        return RedirectResponse(link_failed_url(next_path), status_code=303)
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
    next_path = safe_next(next)
    if not confirm_link_ok(token_hash, kind):
        return RedirectResponse(link_failed_url(next_path), status_code=303)
    try:
        session = await sign_in_flow.redeem_email_link(state, token_hash, kind)
    except sign_in_flow.LinkRefused:
        return RedirectResponse(link_failed_url(next_path), status_code=303)
    except sign_in_flow.AuthUnavailable:
        return sign_in_page(request, next_path=next_path, notice=AUTH_UNAVAILABLE, status_code=503)
    return _signed_in(state, next_path, session)


@router.post("/sign-out")
async def sign_out(request: Request, state: PortalStateDep, viewer: MaybeViewer) -> Response:
    token = (
        viewer.access_token if viewer is not None else request.cookies.get(cookies.ACCESS_COOKIE)
    )
    if token:
        await sign_in_flow.sign_out(state, token)
    response = RedirectResponse("/sign-in?signed_out=1", status_code=303)
    secure = state.settings.cookie_secure
    cookies.clear_session(response, secure=secure)
    cookies.forget_verifier(response, secure=secure)
    return response
