"""python -m devstack.proxies --ports 8421,8422,8423 [--user U --password P] [--admin-port 8420]

Prints the PROXY_URLS value to give the worker, then serves until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
from pathlib import Path

from dbolt.log import configure_logging
from devstack.proxies.service import (
    DEFAULT_LOG_DIR,
    DEFAULT_PASSWORD,
    DEFAULT_USER,
    ProxyConfig,
    ProxyService,
)

DEFAULT_PORTS = "8421,8422,8423"
DEFAULT_ADMIN_PORT = 8420


def _ports(value: str) -> list[int]:
    try:
        ports = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--ports: {value!r} is not a comma-separated list"
        ) from None
    if not ports or any(not 0 < port < 65536 for port in ports) or len(set(ports)) != len(ports):
        raise argparse.ArgumentTypeError(f"--ports: {value!r} needs distinct ports in 1..65535")
    return ports


async def _serve(config: ProxyConfig) -> None:
    service = ProxyService(config)
    await service.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"PROXY_URLS={','.join(service.proxy_urls)}", flush=True)
    if service.admin_url:
        print(f"proxies admin API: {service.admin_url}/_admin/stats", flush=True)
    print(f"request logs: {config.log_dir}/proxy-<index>.log", flush=True)
    try:
        await stop.wait()
    finally:
        await service.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.proxies",
        description="Local forward proxies (Basic auth, Via header, CONNECT, loopback only).",
    )
    parser.add_argument("--ports", type=_ports, default=_ports(DEFAULT_PORTS))
    parser.add_argument("--user", default=DEFAULT_USER)
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    parser.add_argument("--admin-port", type=int, default=DEFAULT_ADMIN_PORT)
    parser.add_argument("--log-dir", type=Path, default=DEFAULT_LOG_DIR)
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)

    configure_logging(args.log_level)
    config = ProxyConfig(
        ports=args.ports,
        user=args.user,
        password=args.password,
        admin_port=args.admin_port,
        log_dir=args.log_dir,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(config))


if __name__ == "__main__":
    main()
