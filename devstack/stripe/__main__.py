"""python -m devstack.stripe [--host 127.0.0.1] [--port 54330] [--webhook-url URL ...]"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

import uvicorn

from dbolt.log import configure_logging
from devstack.serving import loopback_host
from devstack.stripe.app import create_app
from devstack.stripe.settings import Settings

DEFAULT_PORT = 54330


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.stripe",
        description="Stripe Checkout + webhooks stand-in. Environment: STRIPE_SECRET_KEY, "
        "STRIPE_WEBHOOK_SECRET, STRIPE_WEBHOOK_URL, STRIPE_PRICE_<TIER>[_AMOUNT], "
        "STRIPE_CURRENCY, STRIPE_WEBHOOK_RETRY_BASE_SECONDS, STRIPE_WEBHOOK_MAX_ATTEMPTS, "
        "STRIPE_WEBHOOK_TIMEOUT_SECONDS (all with local defaults).",
    )
    parser.add_argument("--host", type=loopback_host, default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--webhook-url",
        action="append",
        default=None,
        help="a loopback webhook endpoint; repeat for several (replaces $STRIPE_WEBHOOK_URL)",
    )
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)

    configure_logging(args.log_level)
    try:
        settings = Settings.from_env()
        if args.webhook_url:
            settings = dataclasses.replace(settings, webhook_urls=tuple(args.webhook_url))
    except ValueError as error:
        # The message names the variable, never its value.
        parser.exit(2, f"{parser.prog}: {error}\n")
    print(f"STRIPE_API_BASE=http://{args.host}:{args.port}", flush=True)
    for url in settings.webhook_urls:
        print(f"webhook endpoint: {url}", flush=True)
    for price in settings.prices:
        print(f"STRIPE_PRICE_{price.tier.upper()}={price.id}", flush=True)
    sys.stdout.flush()
    uvicorn.run(
        create_app(settings), host=args.host, port=args.port, log_config=None, access_log=False
    )


if __name__ == "__main__":
    main()
