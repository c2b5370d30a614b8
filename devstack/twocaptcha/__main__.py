"""python -m devstack.twocaptcha [--host 127.0.0.1] [--port 8410] [--solve-delay 0.5]"""

from __future__ import annotations

import argparse
import dataclasses
import os

import uvicorn

from dbolt.log import configure_logging
from devstack.serving import loopback_host
from devstack.twocaptcha.app import create_app
from devstack.twocaptcha.settings import Settings

DEFAULT_PORT = 8410


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.twocaptcha",
        description="2Captcha API stand-in (key: $TWOCAPTCHA_API_KEY, "
        "token secret: $CAPTCHA_SHARED_SECRET, both with local defaults).",
    )
    parser.add_argument("--host", type=loopback_host, default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--solve-delay",
        type=float,
        default=Settings.solve_delay_seconds,
        help="seconds a task stays 'processing' (default: %(default)s)",
    )
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)

    configure_logging(args.log_level)
    settings = dataclasses.replace(Settings.from_env(), solve_delay_seconds=args.solve_delay)
    print(f"TWOCAPTCHA_BASE_URL=http://{args.host}:{args.port}", flush=True)
    uvicorn.run(
        create_app(settings), host=args.host, port=args.port, log_config=None, access_log=False
    )


if __name__ == "__main__":
    main()
