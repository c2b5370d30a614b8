"""A caught message: its envelope, the headers that matter, the text and HTML parts, links.

Parsing never fails: a malformed header or part is shown as best it can be, because the
point of a catcher is to let people see what their code actually sent.
"""

from __future__ import annotations

import email.policy
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

_URL = re.compile(r"https?://[^\s<>\"'`]+")
_TRAILING = ".,;:!?)]}'\""


@dataclass(frozen=True)
class Attachment:
    filename: str | None
    content_type: str
    size: int


@dataclass(frozen=True)
class CaughtMessage:
    id: str
    received_at: datetime
    mail_from: str  # the envelope sender (MAIL FROM)
    rcpt_to: tuple[str, ...]  # the envelope recipients (RCPT TO), Bcc included
    raw: bytes
    sender: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    date: datetime | None
    text: str | None
    html: str | None
    links: tuple[str, ...]
    attachments: tuple[Attachment, ...]
    headers: dict[str, list[str]] = field(default_factory=dict)
    # The SMTP client's IP address ("" when not caught over SMTP): forward.py's SPF stand-in.
    peer_ip: str = ""

    @property
    def recipients(self) -> set[str]:
        return {address.lower() for address in (*self.to, *self.cc, *self.rcpt_to)}

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "from": self.sender,
            "to": list(self.to),
            "cc": list(self.cc),
            "subject": self.subject,
            "date": self.date.isoformat() if self.date else None,
            "received_at": self.received_at.isoformat(),
            "size": len(self.raw),
            "has_html": self.html is not None,
            "attachments": len(self.attachments),
        }

    def detail(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "envelope": {"mail_from": self.mail_from, "rcpt_to": list(self.rcpt_to)},
            "text": self.text,
            "html": self.html,
            "links": list(self.links),
            "attachments": [vars(attachment) for attachment in self.attachments],
            "headers": self.headers,
        }


def parse(raw: bytes, mail_from: str, rcpt_to: list[str], peer_ip: str = "") -> CaughtMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    text = _part(message, "plain")
    html = _part(message, "html")
    senders = _addresses(message, "From")
    return CaughtMessage(
        id=secrets.token_hex(8),
        received_at=datetime.now(UTC),
        mail_from=mail_from,
        rcpt_to=tuple(rcpt_to),
        raw=raw,
        sender=senders[0] if senders else (mail_from or None),
        to=tuple(_addresses(message, "To")),
        cc=tuple(_addresses(message, "Cc")),
        subject=_header(message, "Subject"),
        date=_date(message),
        text=text,
        html=html,
        links=tuple(_unique([*_html_links(html or ""), *_text_links(text or "")])),
        attachments=tuple(_attachments(message)),
        headers=_headers(message),
        peer_ip=peer_ip,
    )


def _header(message: EmailMessage, name: str) -> str:
    try:
        return str(message.get(name, ""))
    except (ValueError, IndexError, TypeError):
        # A header the policy cannot fold into an object: show its raw text instead.
        return str(message.get_all(name, [""])[0])


def _headers(message: EmailMessage) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name in message:
        if name not in headers:
            try:
                headers[name] = [str(value) for value in message.get_all(name, [])]
            except (ValueError, IndexError, TypeError):
                headers[name] = []
    return headers


def _addresses(message: EmailMessage, name: str) -> list[str]:
    try:
        values = [str(value) for value in message.get_all(name, [])]
    except (ValueError, IndexError, TypeError):
        return []
    # Without an @ it is not a mailbox (getaddresses returns any word it finds).
    return [address for _, address in getaddresses(values) if "@" in address]


def _date(message: EmailMessage) -> datetime | None:
    value = _header(message, "Date")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def _part(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return None
    try:
        content = str(part.get_content())
    except (LookupError, ValueError, AssertionError):
        # An unknown charset or a broken transfer encoding: show the bytes decoded leniently.
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            return None
        content = payload.decode("utf-8", "replace")
    # Wire format ends lines with CRLF; readers (and tests) expect plain newlines.
    return content.replace("\r\n", "\n")


def _attachments(message: EmailMessage) -> list[Attachment]:
    found: list[Attachment] = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
        found.append(Attachment(part.get_filename(), part.get_content_type(), size))
    return found


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("a", "area"):
            # Attribute values arrive with entities decoded: `&amp;` in an href is `&` here.
            for name, value in attrs:
                if name == "href" and value and value.strip().lower().startswith("http"):
                    self.links.append(value.strip())


def _html_links(html: str) -> list[str]:
    parser = _LinkParser()
    parser.feed(html)
    parser.close()
    return parser.links


def _text_links(text: str) -> list[str]:
    return [match.group(0).rstrip(_TRAILING) for match in _URL.finditer(text)]


def _unique(links: list[str]) -> list[str]:
    return list(dict.fromkeys(links))
