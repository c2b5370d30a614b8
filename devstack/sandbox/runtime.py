"""What the routes share: the settings and the in-memory state, on `app.state.sandbox`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, cast

from fastapi import Depends
from starlette.requests import Request

from devstack.sandbox.settings import Settings
from devstack.sandbox.state import SandboxState

# Our local forward proxies add `Via: 1.1 dbolt-proxy-<n>`.
PROXY_VIA_MARK = "dbolt-proxy"


@dataclass
class Sandbox:
    settings: Settings
    state: SandboxState = field(default_factory=SandboxState)


def current_sandbox(request: Request) -> Sandbox:
    return cast(Sandbox, request.app.state.sandbox)


SandboxDep = Annotated[Sandbox, Depends(current_sandbox)]


def via_header(request: Request) -> str | None:
    """Every Via header, joined: a chain of proxies may add one each."""
    return ", ".join(request.headers.getlist("via")) or None


def came_via_proxy(request: Request) -> bool:
    return PROXY_VIA_MARK in (via_header(request) or "").lower()
