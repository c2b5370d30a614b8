"""What a request or the notifier needs, built once per app."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated, cast

import httpx
from fastapi import Depends, Request

from dbolt.sql.database import Database
from webhook.settings import WebhookSettings


@dataclass
class WebhookState:
    settings: WebhookSettings
    db: Database
    # Created in the lifespan, on the server's event loop.
    http: httpx.AsyncClient | None = None
    # Set by the receiver when an event queued an email, so the notifier sends it at once
    # instead of at its next poll.
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def build(cls, settings: WebhookSettings) -> WebhookState:
        return cls(settings=settings, db=Database.from_settings(settings, name="webhook"))


def current_state(request: Request) -> WebhookState:
    return cast(WebhookState, request.app.state.webhook)


StateDep = Annotated[WebhookState, Depends(current_state)]
