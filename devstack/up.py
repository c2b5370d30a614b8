"""`make up`: the whole local stack in the foreground.

Starts every local service, prints what runs where, and on Ctrl-C (or SIGTERM) stops them
all, newest first. Today that is the Supabase-shaped Postgres; each later part appends its
services to `services()`.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

from devstack import localdb


@dataclass(frozen=True)
class Service:
    name: str
    address: str
    start: Callable[[], None]
    stop: Callable[[], None]
    note: str = ""


def services() -> list[Service]:
    return [
        Service(
            name="postgres",
            address=localdb.database_url(),
            start=lambda: localdb.prepare("postgres"),
            stop=localdb.stop,
            note="Supabase-shaped PostgreSQL 15 (migrations + seed + directories.json)",
        ),
    ]


def _print_table(running: list[Service]) -> None:
    width = max(len(service.name) for service in running)
    print("\nDirectoryBolt local stack is up:\n")
    for service in running:
        print(f"  {service.name.ljust(width)}  {service.address}")
        if service.note:
            print(f"  {' ' * width}  {service.note}")
    print(f"\nDATABASE_URL={localdb.database_url()}")
    print("Press Ctrl-C to stop everything.\n", flush=True)


def main() -> int:
    stop_requested = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop_requested.set())

    running: list[Service] = []
    try:
        for service in services():
            print(f"starting {service.name} …", flush=True)
            service.start()
            running.append(service)
        _print_table(running)
        stop_requested.wait()
    except (subprocess.CalledProcessError, SystemExit, OSError) as error:
        print(f"could not start the stack: {error}", file=sys.stderr)
        return_code = 1
    else:
        return_code = 0
    finally:
        for service in reversed(running):
            print(f"stopping {service.name} …", flush=True)
            service.stop()
    print("stopped.")
    return return_code


if __name__ == "__main__":
    sys.exit(main())
