"""Run the sandbox in a background thread on a real port: for end-to-end tests and `make up`."""

from __future__ import annotations

from devstack.sandbox.app import create_app
from devstack.sandbox.settings import Settings
from devstack.serving import AppServer


class SandboxServer(AppServer):
    """`with SandboxServer(settings) as sandbox:` — serving at `sandbox.url` meanwhile."""

    def __init__(
        self, settings: Settings | None = None, port: int = 0, startup_timeout: float = 20.0
    ) -> None:
        # graceful 1 s: the slow site may still be sleeping on a request nobody waits for.
        super().__init__(
            create_app(settings or Settings()), "the sandbox", port, startup_timeout, 1
        )
