"""Sites a recipe cannot get past, for the scout to name: a login wall (the submit page
sends a visitor without a session to a sign-in form) and a bot wall (a Cloudflare-like
"Checking your browser" interstitial that never lets a headless browser through).

Both record any form posted to them as a submission (status `received`), so a test that
finds the sandbox's record unchanged knows nothing was sent to them either.
"""

from __future__ import annotations

import secrets
from html import escape

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from devstack.sandbox import catalog
from devstack.sandbox.fields import text_value
from devstack.sandbox.listings import add_site_pages
from devstack.sandbox.pages import page
from devstack.sandbox.runtime import SandboxDep

router = APIRouter()
for _name in ("login-wall", "bot-wall"):
    add_site_pages(router, _name)

WRONG_LOGIN_TEXT = "Wrong email or password."
BOT_WALL_TEXT = "Checking your browser before accessing the site."

# --- login-wall: /submit redirects to a sign-in form; no account ever signs in -------------


@router.get("/login-wall/submit", response_model=None)
async def login_wall_submit() -> Response:
    return RedirectResponse("/login-wall/login?next=%2Flogin-wall%2Fsubmit", status_code=303)


@router.get("/login-wall/login", response_class=HTMLResponse)
async def login_wall_form() -> HTMLResponse:
    title = catalog.site("login-wall").title
    # A fresh CSRF token on every load, as real sign-in pages have: the scout must not see it.
    token = secrets.token_hex(16)
    body = (
        f"<h1>Sign in to {escape(title)}</h1>\n"
        "<p>Sign in to add your business.</p>\n"
        '<form id="signin-form" method="post">\n'
        f'<input type="hidden" name="csrf_token" value="{token}">\n'
        '<p class="field"><label for="signin-email">Email</label>'
        '<input type="email" id="signin-email" name="email" autocomplete="username" required></p>\n'
        '<p class="field"><label for="signin-password">Password</label>'
        '<input type="password" id="signin-password" name="password" '
        'autocomplete="current-password" required></p>\n'
        '<p><button type="submit">Sign in</button></p>\n</form>\n'
        '<p>New here? <a href="/login-wall/signup">Create an account</a></p>'
    )
    return page(f"Sign in — {title}", body)


@router.post("/login-wall/login", response_class=HTMLResponse)
async def login_wall_login(request: Request, sandbox: SandboxDep) -> HTMLResponse:
    form = await request.form()
    sandbox.state.record(
        "login-wall", {"email": text_value(form, "email")}, via=None, status="received"
    )
    body = f'<p class="login-error error" role="alert">{WRONG_LOGIN_TEXT}</p>'
    return page("Sign in", body, status=401)


# --- bot-wall: a challenge page that answers 403 and never lets the visitor through --------

_CHALLENGE_SCRIPT = """
<script>
// A real challenge computes something here and posts it; this one never finishes.
setInterval(() => {
  const dots = document.getElementById('challenge-dots');
  dots.textContent = dots.textContent.length >= 3 ? '' : dots.textContent + '.';
}, 500);
</script>"""


@router.get("/bot-wall/submit", response_class=HTMLResponse)
async def bot_wall_submit() -> HTMLResponse:
    # Cloudflare's managed challenge: 403, `cf-mitigated: challenge`, "Just a moment...",
    # and a form whose token and action change on every load.
    token = secrets.token_hex(20)
    body = (
        '<div id="challenge-stage">\n'
        f'<h1>{BOT_WALL_TEXT}<span id="challenge-dots"></span></h1>\n'
        "<p>This process is automatic. Your browser will redirect to your requested content "
        "shortly.</p>\n<noscript>Enable JavaScript and cookies to continue</noscript>\n"
        f'<form id="challenge-form" method="post" action="/bot-wall/submit?__cf_chl_tk={token}">'
        f'<input type="hidden" name="md" value="{token}"></form>\n</div>'
    )
    return page(
        "Just a moment...",
        body + _CHALLENGE_SCRIPT,
        status=403,
        headers={"cf-mitigated": "challenge", "Cache-Control": "no-store"},
    )


@router.post("/bot-wall/submit", response_class=HTMLResponse)
async def bot_wall_post(request: Request, sandbox: SandboxDep) -> HTMLResponse:
    form = await request.form()
    sandbox.state.record("bot-wall", {"md": text_value(form, "md")}, via=None, status="received")
    return page("Just a moment...", f"<h1>{BOT_WALL_TEXT}</h1>", status=403)
