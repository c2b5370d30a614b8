"""Run the 2Captcha stand-in in a background thread: for tests and for in-process harnesses."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

from devstack.twocaptcha.app import create_app
from devstack.twocaptcha.settings import Settings

LOOPBACK = "127.0.0.1"


class ServerThread:
    """`with ServerThread(settings) as server:` — serving at `server.url` until the block ends.

    Port 0 picks a free port; the socket is bound before the thread starts, so no other
    process can take the port in between.
    """

    def __init__(
        self, settings: Settings | None = None, port: int = 0, startup_timeout: float = 20.0
    ) -> None:
        self.settings = settings or Settings.from_env()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((LOOPBACK, port))
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._startup_timeout = startup_timeout
        config = uvicorn.Config(
            create_app(self.settings),
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=3,
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
                raise RuntimeError(f"the 2Captcha stand-in did not start on {self.url}")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
