"""The lifecycle directories (devstack/sandbox/lifecycle_state.py): one set of pages, each
site differing only in its flags.

  /<site>/             homepage                /<site>/search?q=    search of live listings
  /<site>/signup       open an account; a verification email goes out over SMTP_URL
  /<site>/verify?token=  the emailed link      /<site>/login        sign in (cookie)
  /<site>/account      my listings (live, or pending moderation)
  /<site>/submit       the listing form: signed in and verified only
  /<site>/listing/<id> the public page (404 while in moderation), with a claim button for a
                       signed-in, verified account; /<site>/listing/<id>/claim takes it over.
"""

from __future__ import annotations

import logging
from html import escape

from fastapi import APIRouter, Cookie
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dbolt import mailer
from devstack.sandbox.fields import Field, read_fields, render_fields, text_value
from devstack.sandbox.lifecycle_state import (
    LIFECYCLE_SITES,
    Account,
    LifecycleSite,
    LifecycleState,
    Listing,
    SentMail,
    wrong_digit,
)
from devstack.sandbox.listings import NOT_SUBMITTED, STANDARD_FIELDS, form_html
from devstack.sandbox.pages import PageError, invalid_page, page
from devstack.sandbox.runtime import Sandbox, SandboxDep

log = logging.getLogger(__name__)

SESSION_COOKIE = "session"
CHECK_INBOX = "Check your inbox: we sent a link to {email}. Open it to verify your email."
PENDING_TEXT = "Thank you! Your listing is pending moderation."
CONFIRMATION_TEXT = "Thank you! Your listing has been created."
CLAIMED_TEXT = "This listing is now yours."
VERIFIED_TEXT = "Your email is verified. You can now log in."
ACCOUNT_FIELDS = (
    Field("email", "Email", "{prefix}-email", kind="email", autocomplete="username"),
    Field("password", "Password", "{prefix}-password", kind="password"),
)


def _account_fields(prefix: str) -> tuple[Field, ...]:
    return tuple(
        Field(f.key, f.label, f.id.format(prefix=prefix), kind=f.kind, autocomplete=f.autocomplete)
        for f in ACCOUNT_FIELDS
    )


def _address(fields: dict[str, str]) -> str:
    region = " ".join(p for p in (fields.get("region"), fields.get("postal_code")) if p)
    return ", ".join(p for p in (fields.get("street_address"), fields.get("city"), region) if p)


def _listing_url(request: Request, listing: Listing) -> str:
    return f"{request.base_url}{listing.site}/listing/{listing.id}"


def site_router(site: LifecycleSite) -> APIRouter:
    router = APIRouter(prefix=f"/{site.name}")
    name = site.name

    def state(sandbox: Sandbox) -> LifecycleState:
        return sandbox.state.lifecycle

    def signed_in(sandbox: Sandbox, session: str | None) -> Account | None:
        return state(sandbox).signed_in(name, session)

    def verified_or_refuse(sandbox: Sandbox, session: str | None) -> Account:
        account = signed_in(sandbox, session)
        if account is None:
            raise PageError(403, "Log in to add or claim a business")
        if not account.verified:
            raise PageError(403, "Verify your email first")
        return account

    def shell(title: str, body: str, *, status: int = 200) -> HTMLResponse:
        nav = (
            '<nav><a href="/{0}/">Home</a> · <a href="/{0}/search">Search</a> · '
            '<a href="/{0}/signup">Sign up</a> · <a href="/{0}/login">Log in</a> · '
            '<a href="/{0}/account">My account</a></nav>'
        ).format(escape(name))
        return page(f"{title} — {site.title}", f"{nav}\n{body}", status=status)

    @router.get("/", response_class=HTMLResponse)
    async def homepage() -> HTMLResponse:
        body = (
            f"<h1>{escape(site.title)}</h1>\n<p>The local directory with "
            f"{escape(site.behaviour)}.</p>\n"
            '<p><a href="search">Find a business</a> · <a href="signup">Create an account</a>'
            ' · <a href="submit">Add your business</a></p>'
        )
        return shell(site.title, body)

    @router.get("/search", response_class=HTMLResponse)
    async def search(sandbox: SandboxDep, q: str = "") -> HTMLResponse:
        form = (
            '<form id="search-form" method="get" action="search">'
            '<p class="field"><label for="q">Business name or phone</label>'
            f'<input id="q" name="q" value="{escape(q)}" required></p>'
            '<p><button type="submit">Search</button></p></form>'
        )
        if not q.strip():
            return shell("Search", f"<h1>Search</h1>{form}")
        found = state(sandbox).search(name, q)
        if not found:
            results = '<p class="no-results">No businesses found.</p>'
        else:
            items = "".join(
                f'<li class="result"><a class="result-name" href="listing/{listing.id}">'
                f"{escape(listing.fields.get('business_name', ''))}</a> "
                f'<span class="result-address">{escape(_address(listing.fields))}</span> '
                f'<span class="result-phone">{escape(listing.fields.get("phone", ""))}</span></li>'
                for listing in found
            )
            results = f'<ul class="results">{items}</ul>'
        return shell("Search", f"<h1>Search</h1>{form}{results}")

    @router.get("/signup", response_class=HTMLResponse)
    async def signup_form() -> HTMLResponse:
        fields = render_fields(_account_fields("signup"))
        form = form_html(fields, submit_label="Create account", form_id="signup-form")
        return shell("Sign up", f"<h1>Create an account</h1>{form}")

    @router.post("/signup", response_class=HTMLResponse)
    async def signup(request: Request, sandbox: SandboxDep) -> HTMLResponse:
        values, problems = read_fields(await request.form(), _account_fields("signup"))
        if problems:
            return invalid_page("No account created", problems)
        lifecycle = state(sandbox)
        if lifecycle.account(name, values["email"]) is not None:
            body = (
                '<p class="already-registered error" role="alert">An account with this email '
                'already exists. <a href="login">Log in</a>.</p>'
            )
            return shell("Sign up", body)
        account = lifecycle.add_account(name, values["email"], values["password"])
        await _send_verification(request, sandbox, site, account)
        body = (
            f'<div class="check-inbox verification" role="status"><h1>Almost there</h1>'
            f"<p>{escape(CHECK_INBOX.format(email=account.email))}</p></div>"
        )
        return shell("Check your inbox", body)

    @router.get("/verify", response_class=HTMLResponse)
    async def verify(sandbox: SandboxDep, token: str = "") -> HTMLResponse:
        account = state(sandbox).by_token(name, token) if token else None
        if account is None:
            raise PageError(404, "This verification link is not valid")
        account.verified = True
        body = f'<div class="verified confirmation" role="status"><p>{VERIFIED_TEXT}</p></div>'
        return shell("Email verified", body + '<p><a href="login">Log in</a></p>')

    @router.get("/login", response_class=HTMLResponse)
    async def login_form() -> HTMLResponse:
        fields = render_fields(_account_fields("login"))
        form = form_html(fields, submit_label="Log in", form_id="login-form")
        return shell("Log in", f"<h1>Log in</h1>{form}")

    @router.post("/login", response_model=None)
    async def login(request: Request, sandbox: SandboxDep) -> Response:
        form = await request.form()
        account = state(sandbox).account(name, text_value(form, "email"))
        if account is None or account.password != text_value(form, "password"):
            problem = "Wrong email or password."
        elif not account.verified:
            problem = "Verify your email first: open the link we sent you."
        else:
            response = RedirectResponse(f"/{name}/account", status_code=303)
            response.set_cookie(
                SESSION_COOKIE,
                state(sandbox).sign_in(account),
                path=f"/{name}/",
                httponly=True,
                samesite="lax",
            )
            return response
        body = f'<p class="login-error error" role="alert">{escape(problem)}</p>'
        return shell("Log in", body + '<p><a href="login">Try again</a></p>')

    @router.get("/account", response_class=HTMLResponse)
    async def my_account(
        request: Request, sandbox: SandboxDep, session: str | None = Cookie(None)
    ) -> HTMLResponse:
        account = signed_in(sandbox, session)
        if account is None:
            raise PageError(403, "Log in to see your account")
        items = []
        for listing in state(sandbox).mine(name, account.email):
            title = escape(listing.fields.get("business_name", ""))
            if listing.live:
                url = escape(_listing_url(request, listing))
                items.append(f'<li><a class="listing-link" href="{url}">{title}</a></li>')
            else:
                items.append(f'<li class="pending-moderation">{title}: pending moderation</li>')
        body = (
            f'<section class="account"><h1>My account</h1><p>Signed in as '
            f'<span class="account-email">{escape(account.email)}</span></p>'
            f'<ul class="my-listings">{"".join(items)}</ul>'
            '<p><a href="submit">Add your business</a></p></section>'
        )
        return shell("My account", body)

    @router.get("/submit", response_class=HTMLResponse)
    async def submit_form(sandbox: SandboxDep, session: str | None = Cookie(None)) -> HTMLResponse:
        verified_or_refuse(sandbox, session)
        form = form_html(render_fields(STANDARD_FIELDS))
        return shell("Add your business", f"<h1>Add your business</h1>{form}")

    @router.post("/submit", response_class=HTMLResponse)
    async def submit(
        request: Request, sandbox: SandboxDep, session: str | None = Cookie(None)
    ) -> HTMLResponse:
        account = verified_or_refuse(sandbox, session)
        values, problems = read_fields(await request.form(), STANDARD_FIELDS)
        if problems:
            return invalid_page(NOT_SUBMITTED, problems)
        if site.wrong_phone:
            values["phone"] = wrong_digit(values["phone"])
        delay = sandbox.settings.moderation_seconds if site.moderated else 0.0
        listing = state(sandbox).add_listing(name, values, account.email, delay)
        if site.moderated:
            body = f'<div class="pending-moderation" role="status"><h1>{PENDING_TEXT}</h1></div>'
            return shell("Pending moderation", body)
        url = escape(_listing_url(request, listing))
        body = (
            f'<div class="confirmation" role="status"><h1>{CONFIRMATION_TEXT}</h1>'
            f'<p>Your listing: <a class="listing-link" href="{url}">{url}</a></p></div>'
        )
        return shell("Listing created", body)

    def live_listing(sandbox: Sandbox, listing_id: int) -> Listing:
        listing = state(sandbox).listing(name, listing_id)
        if listing is None or not listing.live:
            raise PageError(404, "No such listing")
        return listing

    @router.get("/listing/{listing_id}", response_class=HTMLResponse)
    async def listing_page(
        listing_id: int, sandbox: SandboxDep, session: str | None = Cookie(None)
    ) -> HTMLResponse:
        listing = live_listing(sandbox, listing_id)
        fields = listing.fields
        account = signed_in(sandbox, session)
        claim = ""
        if account is not None and account.verified and listing.claimed_by is None:
            claim = (
                f'<p><a class="claim-button" href="{listing.id}/claim">Claim this listing</a></p>'
            )
        body = (
            f'<article class="listing"><h1 class="listing-name">'
            f"{escape(fields.get('business_name', ''))}</h1>"
            f'<p class="listing-address">{escape(_address(fields))}</p>'
            f'<p class="listing-phone">{escape(fields.get("phone", ""))}</p>'
            f'<p class="listing-website">{escape(fields.get("website", ""))}</p>'
            f"<p>Listed on {escape(site.title)}.</p>{claim}</article>"
        )
        return shell(fields.get("business_name", "Listing"), body)

    @router.get("/listing/{listing_id}/claim", response_class=HTMLResponse)
    async def claim_form(
        listing_id: int, sandbox: SandboxDep, session: str | None = Cookie(None)
    ) -> HTMLResponse:
        verified_or_refuse(sandbox, session)
        live_listing(sandbox, listing_id)
        form = form_html(
            render_fields(STANDARD_FIELDS), submit_label="Claim listing", form_id="claim-form"
        )
        return shell("Claim this listing", f"<h1>Claim this listing</h1>{form}")

    @router.post("/listing/{listing_id}/claim", response_class=HTMLResponse)
    async def claim(
        request: Request, listing_id: int, sandbox: SandboxDep, session: str | None = Cookie(None)
    ) -> HTMLResponse:
        account = verified_or_refuse(sandbox, session)
        listing = live_listing(sandbox, listing_id)
        if listing.claimed_by not in (None, account.email):
            raise PageError(409, "This listing was claimed by someone else")
        values, problems = read_fields(await request.form(), STANDARD_FIELDS)
        if problems:
            return invalid_page("Not claimed", problems)
        state(sandbox).claim(listing, account.email, values)
        url = escape(_listing_url(request, listing))
        body = (
            f'<div class="claimed confirmation" role="status"><h1>{CLAIMED_TEXT}</h1>'
            f'<p>Your listing: <a class="listing-link" href="{url}">{url}</a></p></div>'
        )
        return shell("Claimed", body)

    return router


async def _send_verification(
    request: Request, sandbox: Sandbox, site: LifecycleSite, account: Account
) -> None:
    """The verification email, really sent over SMTP (the mail catcher locally); a help
    link to another host comes first, as in real directories' mail."""
    link = f"{request.base_url}{site.name}/verify?token={account.token}"
    subject = f"Confirm your email for {site.title}"
    mails = sandbox.state.lifecycle.mails
    if not site.sends_mail:
        mails.append(SentMail(site.name, account.email, subject, link, sent=False))
        return
    text = (
        f"Welcome to {site.title}!\n\nQuestions? https://help.directory.example/faq\n\n"
        f"Confirm your email address by opening this link:\n{link}\n"
    )
    html = (
        f"<p>Welcome to {escape(site.title)}!</p>"
        '<p>Questions? <a href="https://help.directory.example/faq">Help</a></p>'
        f'<p><a href="{escape(link)}">Confirm your email</a></p>'
    )
    message = mailer.build_message(account.email, subject, text, html)
    message.replace_header("From", f"{site.title} <{site.sender}>")
    smtp_url = sandbox.settings.smtp_url
    if smtp_url is None:
        mails.append(SentMail(site.name, account.email, subject, link, False, "no SMTP_URL"))
        return
    try:
        await mailer.send_async(smtp_url, message)
    except (OSError, ValueError) as error:
        log.warning("verification email not sent", extra={"error": str(error)})
        mails.append(SentMail(site.name, account.email, subject, link, False, str(error)))
        return
    mails.append(SentMail(site.name, account.email, subject, link, sent=True))


routers = [site_router(site) for site in LIFECYCLE_SITES]
