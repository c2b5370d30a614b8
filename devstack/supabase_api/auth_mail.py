"""The emails the Auth stand-in sends: a sign-in link and the same sign-in as a 6-digit code.

GoTrue renders its templates with `{{ .ConfirmationURL }}` (the link) and `{{ .Token }}` (the
code); ours carry both, so the portal can offer "click the link" and "type the code". Sent
over SMTP_URL (locally the mail catcher) with plain-text and HTML parts. The caller sends
inside the transaction that stored the token: a mail that cannot be sent leaves no token.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from typing import Literal

from dbolt import mailer
from dbolt.words import duration

log = logging.getLogger(__name__)

EmailKind = Literal["magiclink", "signup", "recovery", "invite"]


@dataclass(frozen=True)
class _Template:
    subject: str
    lead: str
    button: str


_TEMPLATES: dict[EmailKind, _Template] = {
    "magiclink": _Template(
        "Your DirectoryBolt sign-in link",
        "Use this link to sign in to your DirectoryBolt portal.",
        "Sign in",
    ),
    "signup": _Template(
        "Confirm your email for DirectoryBolt",
        "Confirm this address to finish signing in to your DirectoryBolt portal.",
        "Confirm and sign in",
    ),
    "recovery": _Template(
        "Reset your DirectoryBolt password",
        "Use this link to choose a new password for DirectoryBolt.",
        "Reset password",
    ),
    "invite": _Template(
        "You have been invited to DirectoryBolt",
        "You have been invited to DirectoryBolt. Accept to sign in.",
        "Accept the invitation",
    ),
}


class MailNotSent(Exception):
    """The SMTP server refused or could not be reached."""


def _bodies(template: _Template, link: str, code: str, expires_in: str) -> tuple[str, str]:
    text = (
        f"{template.lead}\n\n"
        f"{template.button}: {link}\n\n"
        f"Or enter this code: {code}\n\n"
        f"The link and the code work once and expire in {expires_in}. If you did not ask "
        "for this, you can ignore this email.\n"
    )
    safe_link = html.escape(link, quote=True)
    page = (
        '<!doctype html><html><body style="font-family: sans-serif">'
        f"<p>{html.escape(template.lead)}</p>"
        f'<p><a href="{safe_link}">{html.escape(template.button)}</a></p>'
        f"<p>Or enter this code: <strong>{html.escape(code)}</strong></p>"
        f"<p>The link and the code work once and expire in {expires_in}. "
        "If you did not ask for this, you can ignore this email.</p>"
        "</body></html>"
    )
    return text, page


async def send_sign_in_email(
    smtp_url: str, to: str, kind: EmailKind, link: str, code: str, expires_in_seconds: int
) -> None:
    template = _TEMPLATES[kind]
    text, page = _bodies(template, link, code, duration(expires_in_seconds))
    message = mailer.build_message(to, template.subject, text, page)
    try:
        await mailer.send_async(smtp_url, message)
    except (OSError, ValueError) as error:
        # smtplib's errors are OSErrors; never echo the message, it holds the code.
        log.error(
            "auth email not sent",
            extra={"action": "auth.email_failed", "kind": kind, "error": type(error).__name__},
        )
        raise MailNotSent(type(error).__name__) from error
    log.info("auth email sent", extra={"action": "auth.email_sent", "kind": kind})
