"""python -m devstack.mailcatcher [--host 127.0.0.1] [--smtp-port 54325] [--http-port 54324]

With INBOUND_WEBHOOK_URL (or --forward-url) set, mail for MAILBOX_DOMAIN is also posted there
in Mailgun's forward format, signed with MAILGUN_WEBHOOK_SIGNING_KEY (devstack/mailcatcher/
forward.py)."""

from __future__ import annotations

import argparse
import os

import uvicorn

from dbolt.log import configure_logging
from devstack.mailcatcher.app import create_app
from devstack.mailcatcher.forward import Forwarder, ForwardSettings
from devstack.mailcatcher.smtp import smtp_controller
from devstack.mailcatcher.store import DEFAULT_MAX_MESSAGES, Mailbox
from devstack.serving import loopback_host

# The ports `supabase start` gives Inbucket's SMTP and web UI.
DEFAULT_SMTP_PORT = 54325
DEFAULT_HTTP_PORT = 54324
# The webhook's local defaults (webhook/settings.py, dbolt/settings.py), repeated: devstack
# never imports a service. Production refuses both.
DEFAULT_MAILBOX_DOMAIN = "mailbox.directorybolt.localhost"
DEFAULT_SIGNING_KEY = "local-dev-mailgun-signing-key"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.mailcatcher",
        description="SMTP catcher with a web inbox and a JSON API (/api/messages).",
    )
    parser.add_argument("--host", type=loopback_host, default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=DEFAULT_SMTP_PORT)
    parser.add_argument("--http-port", type=int, default=DEFAULT_HTTP_PORT)
    parser.add_argument(
        "--max-messages",
        type=int,
        default=DEFAULT_MAX_MESSAGES,
        help="keep at most this many messages, dropping the oldest (default: %(default)s)",
    )
    parser.add_argument(
        "--forward-url",
        default=os.environ.get("INBOUND_WEBHOOK_URL", ""),
        help="post mail for --forward-domain here, Mailgun-style (default: $INBOUND_WEBHOOK_URL)",
    )
    parser.add_argument(
        "--forward-domain", default=os.environ.get("MAILBOX_DOMAIN", DEFAULT_MAILBOX_DOMAIN)
    )
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)

    configure_logging(args.log_level)
    mailbox = Mailbox(args.max_messages)
    forwarder = None
    if args.forward_url:
        key = os.environ.get("MAILGUN_WEBHOOK_SIGNING_KEY", DEFAULT_SIGNING_KEY)
        forwarder = Forwarder(ForwardSettings(args.forward_url, args.forward_domain, key))
    smtp = smtp_controller(mailbox, args.smtp_port, args.host, forwarder)
    smtp.start()
    print(f"SMTP_URL=smtp://{args.host}:{args.smtp_port}", flush=True)
    print(f"MAILCATCHER_URL=http://{args.host}:{args.http_port}", flush=True)
    if args.forward_url:
        print(f"forwarding mail for @{args.forward_domain} to {args.forward_url}", flush=True)
    try:
        uvicorn.run(
            create_app(mailbox),
            host=args.host,
            port=args.http_port,
            log_config=None,
            access_log=False,
        )
    finally:
        smtp.stop()


if __name__ == "__main__":
    main()
