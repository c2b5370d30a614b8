"""The catcher as Mailgun's inbound side: mail for the campaign mailboxes' domain is posted
to the inbound-mail webhook the way a Mailgun route's forward() posts it (urlencoded fields,
signed: hex HMAC-SHA256 of timestamp+token under the webhook signing key).

What differs from Mailgun (docs/inbound-mail.md): no spam filtering; no DKIM verdict; an SPF
verdict of Pass only for mail its own SMTP port took from loopback (see spf_verdict), none
otherwise; no `stripped-html`/`stripped-signature` quote stripping (`stripped-text` is the
whole text), attachments are not posted, and retries come after seconds, not Mailgun's 10
minutes to 8 hours. Like Mailgun it stops retrying on 406, and each attempt is signed afresh.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import time
from dataclasses import dataclass

import httpx

from devstack.mailcatcher.messages import CaughtMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ForwardSettings:
    url: str
    domain: str
    signing_key: str
    attempts: int = 6
    backoff_seconds: float = 0.5
    timeout_seconds: float = 10.0


def sign(key: str, timestamp: str, token: str) -> str:
    return hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def mailbox_recipients(message: CaughtMessage, domain: str) -> list[str]:
    """The envelope recipients on the mailbox domain (RCPT TO, as Mailgun's `recipient`)."""
    wanted = "@" + domain.strip().lower()
    return list(dict.fromkeys(r.lower() for r in message.rcpt_to if r.lower().endswith(wanted)))


def _message_id(message: CaughtMessage) -> str:
    for name, values in message.headers.items():
        if name.lower() == "message-id" and values and values[0].strip():
            return values[0].strip()
    # Mailgun gives a message without one an id of its own; so do we.
    return f"<{message.id}@mailcatcher.local>"


_VERDICT_HEADERS = frozenset({"x-mailgun-spf", "x-mailgun-dkim-check-result"})


def spf_verdict(message: CaughtMessage) -> str | None:
    """Mailgun's `X-Mailgun-Spf` for this mail, as far as the stand-in can honestly tell.

    SPF asks whether the connecting host may send for the envelope sender's domain. The
    catcher has no DNS to ask, but it listens on loopback: a client connecting from loopback
    is this machine, the only sender there is, so it may send for any domain (a local MTA's
    "my networks" trust). Any other client, or a message not taken over SMTP, gets no
    verdict. DKIM is never claimed: the catcher verifies no signatures."""
    try:
        return "Pass" if ipaddress.ip_address(message.peer_ip).is_loopback else None
    except ValueError:
        return None


def fields(message: CaughtMessage, recipient: str, key: str) -> dict[str, str]:
    """One delivery of `message` to `recipient`, freshly signed."""
    timestamp = str(int(time.time()))
    token = secrets.token_hex(25)  # 50 characters, like Mailgun's
    # The sender's own verdict headers are not ours to pass on: only the stand-in's own go out.
    headers = [
        [name, value]
        for name, values in message.headers.items()
        if name.lower() not in _VERDICT_HEADERS
        for value in values
    ]
    verdicts = {"X-Mailgun-Spf": spf} if (spf := spf_verdict(message)) else {}
    # Mailgun adds its verdicts to the headers and posts each header as a field too.
    headers += [[name, value] for name, value in verdicts.items()]
    message_id = _message_id(message)
    return {
        **verdicts,
        "recipient": recipient,
        "sender": message.mail_from,
        "from": next(iter(message.headers.get("From", [])), message.sender or ""),
        "subject": message.subject,
        "body-plain": message.text or "",
        "body-html": message.html or "",
        "stripped-text": message.text or "",
        "message-headers": json.dumps(headers),
        "Message-Id": message_id,
        "timestamp": timestamp,
        "token": token,
        "signature": sign(key, timestamp, token),
    }


class Forwarder:
    """Posts caught mail for the domain to the webhook in the background of the SMTP loop,
    so the SMTP client gets its 250 at once; failures are retried with backoff, and logged."""

    def __init__(self, settings: ForwardSettings) -> None:
        self.settings = settings
        self._tasks: set[asyncio.Task[bool]] = set()

    def submit(self, message: CaughtMessage) -> None:
        for recipient in mailbox_recipients(message, self.settings.domain):
            task = asyncio.get_running_loop().create_task(self.deliver(message, recipient))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def deliver(self, message: CaughtMessage, recipient: str) -> bool:
        settings = self.settings
        where = {"message_id": message.id, "recipient": recipient}
        async with httpx.AsyncClient(timeout=settings.timeout_seconds, trust_env=False) as http:
            for attempt in range(1, settings.attempts + 1):
                try:
                    answer = await http.post(
                        settings.url, data=fields(message, recipient, settings.signing_key)
                    )
                    status: int | None = answer.status_code
                except httpx.HTTPError as error:
                    status = None
                    log.warning(
                        "mail forward failed",
                        extra={
                            "action": "mailcatcher.forward_failed",
                            "attempt": attempt,
                            "error": type(error).__name__,
                            **where,
                        },
                    )
                if status is not None and 200 <= status < 300:
                    log.info(
                        "mail forwarded",
                        extra={"action": "mailcatcher.forwarded", "attempt": attempt, **where},
                    )
                    return True
                if status == 406:
                    # Mailgun's rule: the receiver says it will never take this one.
                    log.warning(
                        "mail forward refused",
                        extra={"action": "mailcatcher.forward_refused", **where},
                    )
                    return False
                if status is not None:
                    log.warning(
                        "mail forward failed",
                        extra={
                            "action": "mailcatcher.forward_failed",
                            "attempt": attempt,
                            "status": status,
                            **where,
                        },
                    )
                if attempt < settings.attempts:
                    await asyncio.sleep(settings.backoff_seconds * 2 ** (attempt - 1))
        log.error(
            "mail forward given up",
            extra={
                "action": "mailcatcher.forward_given_up",
                "attempts": settings.attempts,
                **where,
            },
        )
        return False
