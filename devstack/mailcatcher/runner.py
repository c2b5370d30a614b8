"""SMTP and HTTP together in background threads: for tests and in-process harnesses."""

from __future__ import annotations

from types import TracebackType

from devstack.mailcatcher.app import create_app
from devstack.mailcatcher.forward import Forwarder, ForwardSettings
from devstack.mailcatcher.smtp import LOOPBACK, smtp_controller
from devstack.mailcatcher.store import DEFAULT_MAX_MESSAGES, Mailbox
from devstack.serving import AppServer


class MailCatcher:
    """`with MailCatcher(smtp_port=free_port()) as catcher:` — SMTP at `catcher.smtp_url`,
    the inbox at `catcher.http_url`. The HTTP port may be 0 (a free one is picked); the SMTP
    port must be concrete, because aiosmtpd cannot bind port 0. With `forward`, mail for its
    domain is also posted to its URL in Mailgun's signed forward format."""

    def __init__(
        self,
        smtp_port: int,
        http_port: int = 0,
        max_messages: int = DEFAULT_MAX_MESSAGES,
        forward: ForwardSettings | None = None,
    ) -> None:
        self.mailbox = Mailbox(max_messages)
        self.smtp_port = smtp_port
        forwarder = Forwarder(forward) if forward is not None else None
        self._smtp = smtp_controller(self.mailbox, smtp_port, forwarder=forwarder)
        self._http = AppServer(create_app(self.mailbox), "the mail catcher", port=http_port)
        self.http_url = self._http.url
        self.smtp_url = f"smtp://{LOOPBACK}:{smtp_port}"

    def start(self) -> None:
        self._smtp.start()
        try:
            self._http.start()
        except BaseException:
            self._smtp.stop()
            raise

    def stop(self) -> None:
        try:
            self._http.stop()
        finally:
            self._smtp.stop()

    def __enter__(self) -> MailCatcher:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
