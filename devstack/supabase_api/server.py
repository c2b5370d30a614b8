"""Run the stand-in in a background thread: for tests, and for `make up` beside other services."""

from __future__ import annotations

from devstack.serving import AppServer
from devstack.supabase_api.app import create_app
from devstack.supabase_api.runtime import Settings


class ServerThread(AppServer):
    """`with ServerThread(settings) as server:` — serving at `server.url` until the block ends."""

    def __init__(self, settings: Settings, port: int = 0, startup_timeout: float = 20.0) -> None:
        super().__init__(create_app(settings), "the Supabase stand-in", port, startup_timeout)
