"""The sign-in forms: what they accept, what they say, and their pages (sign_in.html with the
email field, sign_in_code.html with the 6-digit code).

A refusal (a bad field, a rate limit, Auth refusing or unreachable) is a `FormRefused` naming
the fields, the status and, for a rate limit, when to try again; the page shows it next to
the field.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from dbolt.words import duration
from portal import rate_limit
from portal.templating import render

EMAIL_PATTERN = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
CODE_PATTERN = re.compile(r"^[0-9]{6}$")
# The link kinds our emails and Auth's carry; anything else is refused before Auth is asked.
CONFIRM_TYPES = {"magiclink", "signup", "invite", "email"}

LINK_FAILED = (
    "That sign-in link did not work: it may have expired or been used already. "
    "Ask for a new one below."
)
SIGNED_OUT = "You are signed out."
OTHER_BROWSER = (
    "Open the sign-in link in the same browser you asked for it from, "
    "or type the 6-digit code from the email on the next page."
)
AUTH_UNAVAILABLE = "We could not sign you in just now. Please try again."
TOO_SOON = "We emailed this address moments ago. Please wait a minute before asking again."
SEND_FAILED = "We could not send the sign-in email just now. Please try again in a minute."
WRONG_CODE = "That code is wrong or has expired. Check the latest email, or ask for a new code."
CODE_CHECK_FAILED = "We could not check the code just now. Please try again in a minute."
NO_SESSION = "Sign-in failed."
TOO_MANY_EMAILS = "Too many sign-in emails asked for. Please try again in {wait}."
TOO_MANY_CODES = "Too many wrong codes. Please ask for a new code in {wait}."


class FormRefused(Exception):
    """The form again instead of signing in: a message per field, the status and, when rate
    limited, the seconds to wait (Retry-After)."""

    def __init__(
        self, errors: dict[str, str], status_code: int, retry_after: float | None = None
    ) -> None:
        super().__init__(errors)
        self.errors = errors
        self.status_code = status_code
        self.retry_after = retry_after


def safe_next(raw: str | None, default: str = "/account") -> str:
    """A local path to go to after signing in; anything else (another site, a scheme, a
    protocol-relative or backslash trick, control characters) becomes `default`."""
    if not raw or len(raw) > 2000:
        return default
    if not raw.startswith("/") or raw.startswith(("//", "/\\")):
        return default
    if any(ch in raw for ch in "\\\r\n\t") or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in raw):
        return default
    return raw


def link_failed_url(next_path: str) -> str:
    """The sign-in page saying the link did not work (LINK_FAILED), then going on to next."""
    return f"/sign-in?{urlencode({'next': next_path, 'error': 'link'})}"


def wait_words(seconds: float) -> str:
    """`less than a minute`, `2 minutes`: rounded up, so trying again then works."""
    return duration(seconds)


def email_error(email: str) -> str | None:
    if not email:
        return "Enter your email address"
    if len(email) > 254 or not EMAIL_PATTERN.match(email):
        return "Enter an email address like name@example.com"
    return None


def code_form_errors(email: str, code: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    problem = email_error(email)
    if problem:
        errors["email"] = problem
    if not CODE_PATTERN.match(code):
        errors["code"] = "Enter the 6-digit code from the email"
    return errors


def confirm_link_ok(token_hash: str, kind: str) -> bool:
    return bool(token_hash) and len(token_hash) <= 200 and kind in CONFIRM_TYPES


def _refused(page: Response, refused: FormRefused | None) -> Response:
    if refused is not None and refused.retry_after is not None:
        page.headers["Retry-After"] = rate_limit.retry_after(refused.retry_after)
    return page


def sign_in_page(
    request: Request,
    *,
    next_path: str,
    email: str = "",
    notice: str | None = None,
    status_code: int = 200,
    refused: FormRefused | None = None,
) -> Response:
    page = render(
        request,
        "sign_in.html",
        status_code=refused.status_code if refused else status_code,
        next_path=next_path,
        email=email,
        errors=refused.errors if refused else {},
        notice=notice,
    )
    return _refused(page, refused)


def code_page(
    request: Request, *, next_path: str, email: str, refused: FormRefused | None = None
) -> Response:
    page = render(
        request,
        "sign_in_code.html",
        status_code=refused.status_code if refused else 200,
        next_path=next_path,
        email=email,
        errors=refused.errors if refused else {},
    )
    return _refused(page, refused)
