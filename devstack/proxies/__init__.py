"""Local forward proxies standing in for a rotating proxy provider (`PROXY_URLS`).

Several HTTP/1.1 forward proxies in one asyncio process, each with Basic proxy
authentication, a `Via: 1.1 dbolt-proxy-<index>` header on what it forwards (so the sandbox
can tell which proxy a request came through), `CONNECT` tunnels, a request log per proxy
under `.local/proxies/`, and an admin API that makes one proxy misbehave on demand. Only
loopback targets are allowed: this machine must never send traffic anywhere else.
Run it with `python -m devstack.proxies`.
"""

from __future__ import annotations

from devstack.proxies.service import ProxyConfig, ProxyService
from devstack.proxies.state import Mode

__all__ = ["Mode", "ProxyConfig", "ProxyService"]
