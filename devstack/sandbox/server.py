"""Run the sandbox in a background thread on a real port: for end-to-end tests and `make up`."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

from devstack.sandbox.app import create_app
from devstack.sandbox.settings import Settings

LOOPBACK = "127.0.0.1"


class SandboxServer:
    """`with SandboxServer(settings) as sandbox:` — serving at `sandbox.url` until the block ends.

    Port 0 picks a free port. The socket is bound here, before the thread starts, so there is
    no window in which another process can take the port.
    """

    def __init__(
        self, settings: Settings | None = None, port: int = 0, startup_timeout: float = 20.0
    ) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((LOOPBACK, port))
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._startup_timeout = startup_timeout
        config = uvicorn.Config(
            create_app(settings or Settings()),
            log_config=None,
            access_log=False,
            # The slow site may still be sleeping on a request nobody waits for any more.
            timeout_graceful_shutdown=1,
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
                raise RuntimeError(f"the sandbox did not start on {self.url}")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
