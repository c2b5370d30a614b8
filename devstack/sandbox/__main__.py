"""python -m devstack.sandbox [--host 127.0.0.1] [--port 8400] [--slow-delay SECONDS]"""

from __future__ import annotations

import argparse
import dataclasses
import os

import uvicorn

from dbolt.log import configure_logging
from devstack.sandbox.app import create_app
from devstack.sandbox.settings import DEFAULT_PORT, Settings
from devstack.serving import loopback_host


def main(argv: list[str] | None = None) -> None:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(
        prog="python -m devstack.sandbox",
        description="Fake business directories for DirectoryBolt's worker tests and demo.",
    )
    parser.add_argument("--host", type=loopback_host, default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--slow-delay",
        type=float,
        default=settings.slow_delay_seconds,
        help="seconds the slow site waits before answering (default: %(default)s, "
        "or $SANDBOX_SLOW_DELAY_SECONDS)",
    )
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)

    configure_logging(args.log_level)
    app = create_app(dataclasses.replace(settings, slow_delay_seconds=args.slow_delay))
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=1,
    )


if __name__ == "__main__":
    main()
