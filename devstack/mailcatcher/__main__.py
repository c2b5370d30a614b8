"""python -m devstack.mailcatcher [--host 127.0.0.1] [--smtp-port 54325] [--http-port 54324]"""

from __future__ import annotations

import argparse
import os

import uvicorn

from dbolt.log import configure_logging
from devstack.mailcatcher.app import create_app
from devstack.mailcatcher.smtp import smtp_controller
from devstack.mailcatcher.store import DEFAULT_MAX_MESSAGES, Mailbox
from devstack.serving import loopback_host

# The ports `supabase start` gives Inbucket's SMTP and web UI.
DEFAULT_SMTP_PORT = 54325
DEFAULT_HTTP_PORT = 54324


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
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)

    configure_logging(args.log_level)
    mailbox = Mailbox(args.max_messages)
    smtp = smtp_controller(mailbox, args.smtp_port, args.host)
    smtp.start()
    print(f"SMTP_URL=smtp://{args.host}:{args.smtp_port}", flush=True)
    print(f"MAILCATCHER_URL=http://{args.host}:{args.http_port}", flush=True)
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
