"""Run the 2Captcha stand-in in a background thread: for tests and for in-process harnesses."""

from __future__ import annotations

from devstack.serving import AppServer
from devstack.twocaptcha.app import create_app
from devstack.twocaptcha.settings import Settings


class ServerThread(AppServer):
    """`with ServerThread(settings) as server:` — serving at `server.url` until the block ends."""

    def __init__(
        self, settings: Settings | None = None, port: int = 0, startup_timeout: float = 20.0
    ) -> None:
        self.settings = settings or Settings.from_env()
        super().__init__(create_app(self.settings), "the 2Captcha stand-in", port, startup_timeout)
