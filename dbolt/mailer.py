"""Plain SMTP email (SMTP_URL = smtp://[user:password@]host:port), text and HTML parts.

One small client for the one external service; locally the URL points at the mail catcher.
"""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

SENDER = "DirectoryBolt <no-reply@directorybolt.example>"
SENDER_DOMAIN = "directorybolt.example"


def build_message(to: str, subject: str, text: str, html: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = to
    message["Subject"] = subject
    # RFC 5322 requires Date; without a Message-ID some providers add their own and others
    # score the mail as spam, and receivers cannot tell a resent mail from a new one.
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=SENDER_DOMAIN)
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
