"""The hosted test checkout page: what a buyer sees at the session's `url`.

`GET /checkout/{id}` shows the package, the amount and the email, a payment-method choice,
a Pay button and a Cancel link back to cancel_url. `POST /checkout/{id}/pay` completes the
session, sends its webhooks (waiting briefly for the first attempts) and redirects with 303
to success_url, `{CHECKOUT_SESSION_ID}` replaced. Every value shown is HTML-escaped.
"""

from __future__ import annotations

import re
from html import escape
from typing import Literal, cast

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from devstack.stripe.account import Outcome
from devstack.stripe.api import AccountDep
from devstack.stripe.errors import StripeError
from devstack.stripe.objects import CheckoutSession

router = APIRouter(tags=["hosted checkout page"], include_in_schema=False)

_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
_OUTCOMES: dict[str, str] = {
    "card": "Test card 4242 4242 4242 4242 — payment succeeds",
    "debit_fails": "Bank debit — the payment fails after checkout",
    "debit_pending": "Bank debit — stays pending until settled through the admin API",
}
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$", "aud": "A$"}
_ZERO_DECIMAL = {"jpy", "krw", "vnd", "clp", "isk", "ugx"}
# Nothing on these pages needs a script, a frame or a remote resource.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
_STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f6f9fc;color:#1a1f36}
main{max-width:32rem;margin:2rem auto;background:#fff;padding:2rem;border-radius:8px;
box-shadow:0 2px 8px rgba(0,0,0,.08)}
.test{background:#ffde92;color:#5a3d00;display:inline-block;padding:.1rem .5rem;border-radius:4px;
font-size:.85rem;font-weight:600}
.amount{font-size:2rem;font-weight:700;margin:.25rem 0 1rem}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input[type=email],input[type=text]{width:100%;box-sizing:border-box;padding:.5rem;
border:1px solid #6b7385;border-radius:4px;font-size:1rem}
fieldset{border:1px solid #6b7385;border-radius:4px;margin:1rem 0;padding:.5rem 1rem}
fieldset label{font-weight:400;display:flex;gap:.5rem;align-items:baseline}
button{background:#533afd;color:#fff;border:0;border-radius:4px;padding:.75rem 1.5rem;
font-size:1rem;font-weight:600;cursor:pointer;width:100%}
button:focus-visible,a:focus-visible,input:focus-visible{outline:3px solid #1a1f36;
outline-offset:2px}
.error{color:#b3093c;font-weight:600}
a{color:#3d29c9}
"""


def format_amount(amount: int, currency: str) -> str:
    value = f"{amount:,}" if currency in _ZERO_DECIMAL else f"{amount / 100:,.2f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{value}" if symbol else f"{value} {currency.upper()}"


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)} — Stripe test checkout (local stand-in)</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n<main>\n"
        '<p class="test">Test mode — local Stripe stand-in, no real money</p>\n'
        f"{body}\n</main>\n</body>\n</html>\n"
    )
    return HTMLResponse(
        html,
        status_code=status,
        headers={"Content-Security-Policy": _CSP, "Cache-Control": "no-store"},
    )


def _summary(session: CheckoutSession) -> str:
    rows = "".join(
        f"<li>{escape(item.description)}, quantity {item.quantity}: "
        f"{escape(format_amount(item.amount, session.currency))}</li>"
        for item in session.line_items
    )
    return (
        f"<h1>Pay for {escape(session.line_items[0].description)}</h1>\n"
        f'<p class="amount">{escape(format_amount(session.amount_total, session.currency))}</p>\n'
        f'<ul aria-label="Order summary">{rows}</ul>\n'
    )


def checkout_form(
    session: CheckoutSession,
    email: str = "",
    name: str = "",
    error: str | None = None,
    error_field: Literal["email", "outcome"] = "email",
) -> str:
    error_html = ""
    described = ""
    fieldset_described = ""
    if error:
        error_html = f'<p id="form-error" class="error" role="alert">{escape(error)}</p>\n'
        if error_field == "email":
            described = ' aria-describedby="form-error" aria-invalid="true"'
        else:
            fieldset_described = ' aria-describedby="form-error"'
    if session.customer_email:
        # The address the product passed is fixed, as on Stripe's page.
        email_field = (
            f'<label for="email">Email</label>\n<input id="email" name="email" type="email" '
            f'value="{escape(session.customer_email)}" readonly autocomplete="email">\n'
        )
    else:
        email_field = (
            f'<label for="email">Email</label>\n<input id="email" name="email" type="email" '
            f'value="{escape(email)}" required autocomplete="email"{described}>\n'
        )
    methods = "".join(
        f'<label><input type="radio" name="outcome" value="{value}"'
        f"{' checked' if value == 'card' else ''}> {escape(text)}</label>\n"
        for value, text in _OUTCOMES.items()
    )
    cancel = ""
    if session.cancel_url:
        cancel = f'<p><a href="{escape(session.cancel_url)}">Cancel and go back</a></p>\n'
    amount = format_amount(session.amount_total, session.currency)
    return (
        _summary(session)
        + error_html
        + f'<form method="post" action="/checkout/{escape(session.id)}/pay">\n'
        + email_field
        + '<label for="name">Name on card (optional)</label>\n'
        + f'<input id="name" name="name" type="text" value="{escape(name)}" '
        + 'autocomplete="cc-name">\n'
        + f"<fieldset{fieldset_described}>\n<legend>Payment method</legend>\n{methods}</fieldset>\n"
        + f'<button type="submit">Pay {escape(amount)}</button>\n</form>\n'
        + cancel
    )


def _complete_page(session: CheckoutSession, status: int = 200) -> HTMLResponse:
    body = (
        "<h1>This checkout is complete</h1>\n"
        f"<p>Payment status: {escape(session.payment_status)}.</p>\n"
        f'<p><a href="{escape(session.success_redirect())}">Continue</a></p>'
    )
    return _page("Checkout complete", body, status)


def _session_or_none(account: AccountDep, session_id: str) -> CheckoutSession | None:
    try:
        return account.session(session_id)
    except StripeError:
        return None


def _not_found() -> HTMLResponse:
    return _page("Not found", "<h1>No such checkout session</h1>", 404)


@router.get("/checkout/{session_id}", response_class=HTMLResponse)
async def checkout_page(session_id: str, account: AccountDep) -> HTMLResponse:
    session = _session_or_none(account, session_id)
    if session is None:
        return _not_found()
    if session.status != "open":
        return _complete_page(session)
    return _page("Checkout", checkout_form(session))


@router.post("/checkout/{session_id}/pay")
async def pay(session_id: str, request: Request, account: AccountDep) -> Response:
    session = _session_or_none(account, session_id)
    if session is None:
        return _not_found()
    if session.status != "open":
        return _complete_page(session, 409)
    async with request.form() as form:
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
    email = session.customer_email or fields.get("email", "").strip()
    name = fields.get("name", "").strip() or None
    outcome = fields.get("outcome", "card")
    if outcome not in _OUTCOMES:
        # Only a hand-made request gets here (the radio group has a default): never guess.
        form_html = checkout_form(session, email, name or "", "Choose a payment method.", "outcome")
        return _page("Checkout", form_html, 400)
    if not _EMAIL.match(email):
        return _page(
            "Checkout",
            checkout_form(session, email, name or "", "Enter a valid email address."),
            400,
        )
    await account.pay(session, email, name, cast(Outcome, outcome))
    return RedirectResponse(session.success_redirect(), status_code=303)
