"""What we keep of a Mailgun Routes forward() POST (documentation.mailgun.com, "Receiving
Messages via HTTP through a forward() action"): urlencoded, or multipart when the mail has
attachments (which we do not keep). Fields used:

- `recipient` (RCPT TO) → the campaign mailbox; `from` (the From header) → the sender we
  match directories on, else `sender` (MAIL FROM, often an ESP's bounce address), which is
  also kept as the envelope sender that Mailgun's SPF verdict is about (webhook/sender_auth.py);
- `subject`, `body-plain` (always present), `body-html`;
- `Message-Id` (each MIME header is also posted as a field), else the same header in
  `message-headers` (a JSON list of [name, value] pairs) → the provider message id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import getaddresses, parseaddr
from typing import Any

PROVIDER = "mailgun"
# customer_mailboxes.local_part's own rule: anything else is no mailbox of ours.
_LOCAL_PART_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


@dataclass(frozen=True)
class Delivery:
    recipient_local_part: str
    sender: str
    envelope_sender: str  # MAIL FROM's address, "" when none (a bounce)
    subject: str
    body_text: str
    body_html: str
    message_id: str


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _address(value: str) -> str | None:
    address = parseaddr(value)[1].strip().lower()
    local, at, domain = address.rpartition("@")
    return address if at and local and domain and " " not in address else None


def mailbox_local_part(recipient: str, mailbox_domain: str) -> str | None:
    """The local part of the first recipient on our mailbox domain, or None."""
    wanted = mailbox_domain.strip().lower()
    for _, raw in getaddresses([recipient]):
        address = _address(raw)
        if address is None:
            continue
        local, _, domain = address.rpartition("@")
        if domain == wanted and 3 <= len(local) <= 63 and set(local) <= _LOCAL_PART_CHARS:
            return local
    return None


def _message_id(form: Mapping[str, Any]) -> str:
    for name in ("Message-Id", "Message-ID", "message-id"):
        if value := _text(form, name).strip():
            return value
    try:
        headers = json.loads(_text(form, "message-headers") or "[]")
    except ValueError:
        headers = []
    for pair in headers if isinstance(headers, list) else []:
        if isinstance(pair, list) and len(pair) == 2 and str(pair[0]).lower() == "message-id":
            return str(pair[1]).strip()
    return ""


def parse(form: Mapping[str, Any], mailbox_domain: str) -> Delivery | str:
    """The delivery, or why it cannot be stored (a reason naming the field)."""
    local = mailbox_local_part(_text(form, "recipient"), mailbox_domain)
    if local is None:
        return f"recipient is not a mailbox on {mailbox_domain}"
    sender = _address(_text(form, "from")) or _address(_text(form, "sender"))
    if sender is None:
        return "from (or sender) must be an email address"
    # A mail without a Message-Id is still one mail per signed token: keyed on the token.
    message_id = _message_id(form) or f"token:{_text(form, 'token')}"
    return Delivery(
        recipient_local_part=local,
        sender=sender,
        envelope_sender=_address(_text(form, "sender")) or "",
        subject=_text(form, "subject"),
        body_text=_text(form, "body-plain"),
        body_html=_text(form, "body-html"),
        message_id=message_id[:998],
    )
