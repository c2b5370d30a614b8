"""What the portal's request handlers share for the life of the process."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from portal.auth.tokens import TokenVerifier
from portal.database import PortalDatabase
from portal.settings import PortalSettings


@dataclass
class PortalState:
    settings: PortalSettings
    db: PortalDatabase
    http: httpx.AsyncClient
    tokens: TokenVerifier
    # Long-lived objects a feature module creates lazily (a browser for PDFs, …), by name.
    extras: dict[str, object] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: PortalSettings) -> PortalState:
        http = httpx.AsyncClient(timeout=10.0)
        return cls(
            settings=settings,
            db=PortalDatabase.from_settings(settings, name="portal"),
            http=http,
            tokens=TokenVerifier(http, settings.jwks_url),
        )
