"""The HTTP app factory: the inbox pages and the JSON API over one mailbox."""

from __future__ import annotations

from fastapi import FastAPI

from devstack.mailcatcher import api, web
from devstack.mailcatcher.store import Mailbox


def create_app(mailbox: Mailbox) -> FastAPI:
    app = FastAPI(
        title="Mail catcher",
        description="Local SMTP catcher and inbox (devstack); never used in production.",
    )
    app.state.mailbox = mailbox
    app.include_router(api.router)
    app.include_router(web.router)
    return app
