"""The SMTP side: aiosmtpd on a loopback port, catching every message, relaying none."""

from __future__ import annotations

import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from devstack.mailcatcher.forward import Forwarder
from devstack.mailcatcher.messages import parse
from devstack.mailcatcher.store import Mailbox

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
_AIOSMTPD_LOG = "mail.log"


class _QuietAiosmtpd(logging.Filter):
    """aiosmtpd logs every connection at INFO, and a deprecation notice about its own
    `login_data` on every AUTH (its code, not ours). Our `mailcatcher.received` line says what
    matters; its warnings and errors still pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "login_data is deprecated" in record.getMessage():
            return False
        return record.levelno >= logging.WARNING


class CatchAll:
    """aiosmtpd handler: every recipient is accepted and every message is kept; mail for the
    campaign mailboxes' domain is also forwarded to the inbound-mail webhook, if one is set."""

    def __init__(self, mailbox: Mailbox, forwarder: Forwarder | None = None) -> None:
        self.mailbox = mailbox
        self.forwarder = forwarder

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        # aiosmtpd's peer is the transport's peername: (host, port, ...) for TCP.
        peer = session.peer
        peer_ip = str(peer[0]) if isinstance(peer, tuple) and peer else str(peer or "")
        message = parse(raw, envelope.mail_from or "", list(envelope.rcpt_tos), peer_ip)
        self.mailbox.add(message)
        log.info(
            "mail caught",
            extra={
                "action": "mailcatcher.received",
                "message_id": message.id,
                "recipients": len(message.rcpt_to),
                "size": len(raw),
            },
        )
        if self.forwarder is not None:
            self.forwarder.submit(message)
        return "250 Message accepted for delivery"


def accept_any_login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    # Like Mailpit's --smtp-auth-accept-any: an SMTP_URL with credentials works locally
    # unchanged. The credentials are neither checked nor logged.
    return AuthResult(success=True)


def smtp_controller(
    mailbox: Mailbox, port: int, host: str = LOOPBACK, forwarder: Forwarder | None = None
) -> Controller:
    """Not started yet. aiosmtpd needs a concrete port: 0 is not supported."""
    if port <= 0:
        raise ValueError("the SMTP port must be a concrete port number (aiosmtpd has no port 0)")
    aiosmtpd_log = logging.getLogger(_AIOSMTPD_LOG)
    if not any(isinstance(f, _QuietAiosmtpd) for f in aiosmtpd_log.filters):
        aiosmtpd_log.addFilter(_QuietAiosmtpd())
    return Controller(
        CatchAll(mailbox, forwarder),
        hostname=host,
        port=port,
        server_hostname="mailcatcher.local",
        enable_SMTPUTF8=True,
        authenticator=accept_any_login,
        # Plain-text AUTH is fine on loopback; real relays would insist on TLS.
        auth_require_tls=False,
    )
