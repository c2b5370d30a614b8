"""python -m devstack.supabase_api [--host 127.0.0.1] [--port 54321] [--database-url URL]"""

from __future__ import annotations

import argparse
import os

import uvicorn

from dbolt.log import configure_logging
from devstack import localdb
from devstack.serving import loopback_host
from devstack.supabase_api.app import create_app
from devstack.supabase_api.runtime import Settings

DEFAULT_PORT = 54321


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.supabase_api",
        description="Supabase API stand-in: Auth JWKS and Realtime broadcast channels.",
    )
    parser.add_argument("--host", type=loopback_host, default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or localdb.database_url(),
        help="the Supabase-shaped database (default: $DATABASE_URL, else the local cluster)",
    )
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)

    configure_logging(args.log_level)
    app = create_app(Settings(database_url=args.database_url))
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
