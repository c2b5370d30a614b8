"""Serving a stand-in's ASGI app: in a background thread on a real loopback port (tests,
in-process harnesses), and the loopback-only host check every stand-in's CLI uses."""

from __future__ import annotations

import argparse
import ipaddress
import socket
import threading
import time
from types import TracebackType
from typing import Any, Self

import uvicorn

LOOPBACK = "127.0.0.1"


def loopback_host(value: str) -> str:
    """argparse type: stand-ins trust anyone who can reach them, so never expose them."""
    host = LOOPBACK if value == "localhost" else value
    try:
        is_loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        is_loopback = False
    if not is_loopback:
        raise argparse.ArgumentTypeError(f"--host: {value!r} is not a loopback address")
    return host


class AppServer:
    """`with AppServer(app, "the sandbox") as server:` — serving at `server.url` meanwhile.

    Port 0 picks a free port. The socket is bound here, before the thread starts, so no other
    process can take the port in between.
    """

    def __init__(
        self,
        app: Any,
        name: str,
        port: int = 0,
        startup_timeout: float = 20.0,
        graceful_seconds: int = 3,
    ) -> None:
        self.name = name
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((LOOPBACK, port))
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._startup_timeout = startup_timeout
        config = uvicorn.Config(
            app, log_config=None, access_log=False, timeout_graceful_shutdown=graceful_seconds
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not start on {self.url}")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
