"""Plain SMTP email (SMTP_URL = smtp://[user:password@]host:port), text and HTML parts.

One small client for the one external service; locally the URL points at the mail catcher.
"""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.policy import Policy
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

SENDER = "DirectoryBolt <no-reply@directorybolt.example>"
SENDER_DOMAIN = "directorybolt.example"


class _OneLineHeader(str):
    """A header written on one line, exactly as given. Python's email package folds a long
    value without spaces (a URL) into RFC 2047 encoded words (`=?utf-8?q?=3Chttps...`), which
    nobody decodes in List-Unsubscribe, so the link would be lost; RFC 5322 allows a line of
    998 characters. (EmailPolicy stores and folds any value with `name` and `fold` as is.)"""

    name: str

    def __new__(cls, name: str, value: str) -> _OneLineHeader:
        if len(name) + 2 + len(value) > 998 or any(c in value for c in "\r\n"):
            raise ValueError(f"{name} must fit one header line")
        header = super().__new__(cls, value)
        header.name = name
        return header

    def fold(self, *, policy: Policy) -> str:
        return f"{self.name}: {self}{policy.linesep}"


def build_message(
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    """With `unsubscribe_url` (mail people may stop, such as reminders), the message names it
    as its List-Unsubscribe (RFC 2369) and offers one-click unsubscribe (RFC 8058): mail
    providers POST `List-Unsubscribe=One-Click` to that URL when the reader presses their own
    Unsubscribe button, so the URL must act on a POST with no cookies and no sign-in (the
    portal's /unsubscribe/<token>). No mailto: form is offered, because no mailbox of ours
    reads unsubscribe requests; a link that nobody honours would be worse than none."""
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = to
    message["Subject"] = subject
    # RFC 5322 requires Date; without a Message-ID some providers add their own and others
    # score the mail as spam, and receivers cannot tell a resent mail from a new one.
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=SENDER_DOMAIN)
    if unsubscribe_url is not None:
        if not unsubscribe_url.startswith(("https://", "http://")) or any(
            character in unsubscribe_url for character in "<>, \r\n"
        ):
            raise ValueError("unsubscribe_url must be one plain http(s) URL")
        message["List-Unsubscribe"] = _OneLineHeader("List-Unsubscribe", f"<{unsubscribe_url}>")
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def send(smtp_url: str, message: EmailMessage, timeout: float = 10.0) -> None:
    parts = urlsplit(smtp_url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://[user:password@]host:port")
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    client_class = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    with client_class(parts.hostname, port, timeout=timeout) as client:
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)


async def send_async(smtp_url: str, message: EmailMessage) -> None:
    await asyncio.to_thread(send, smtp_url, message)
