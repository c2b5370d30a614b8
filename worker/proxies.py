"""Rotating proxies from PROXY_URLS: one per browser context, rotated per directory and away
from a proxy that fails, with per-proxy health and backoff."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit


@dataclass
class Proxy:
    server: str
    username: str | None
    password: str | None
    label: str
    failures: int = 0
    resting_until: float = 0.0

    def playwright(self) -> dict[str, str]:
        settings = {"server": self.server}
        if self.username:
            settings["username"] = self.username
            settings["password"] = self.password or ""
        return settings


class ProxiesExhausted(Exception):
    """No healthy proxy is available right now."""


def parse_proxy_urls(text: str) -> list[Proxy]:
    proxies = []
    for index, raw in enumerate(part.strip() for part in text.split(",") if part.strip()):
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https", "socks5") or not parts.hostname or not parts.port:
            raise ValueError(
                f"PROXY_URLS entry {index + 1} must look like http://user:pass@host:port"
            )
        proxies.append(
            Proxy(
                server=f"{parts.scheme}://{parts.hostname}:{parts.port}",
                username=unquote(parts.username) if parts.username else None,
                password=unquote(parts.password) if parts.password else None,
                # Reports and logs name the proxy without its credentials.
                label=f"{parts.hostname}:{parts.port}",
            )
        )
    return proxies


@dataclass
class ProxyPool:
    proxies: list[Proxy]
    base_backoff: float = 5.0
    max_backoff: float = 300.0
    _next: int = field(default=0)

    def healthy(self, now: float | None = None) -> list[Proxy]:
        now = time.monotonic() if now is None else now
        return [p for p in self.proxies if p.resting_until <= now]

    def acquire(self, avoid: str | None = None) -> Proxy:
        """The next healthy proxy in rotation, preferring one other than `avoid`.

        A proxy that failed and has not succeeded since is tried again after its rest only
        when no proxy without failures is healthy: each try is a customer's attempt at a site,
        and a dead proxy would otherwise spend one every time its rest ran out."""
        candidates = self.healthy()
        if not candidates:
            raise ProxiesExhausted("every proxy is failing; none is healthy")
        candidates = [p for p in candidates if p.failures == 0] or candidates
        preferred = [p for p in candidates if p.label != avoid] or candidates
        proxy = preferred[self._next % len(preferred)]
        self._next += 1
        return proxy

    def failed(self, proxy: Proxy) -> None:
        proxy.failures += 1
        delay = min(self.max_backoff, self.base_backoff * 2 ** (proxy.failures - 1))
        proxy.resting_until = time.monotonic() + delay

    def succeeded(self, proxy: Proxy) -> None:
        proxy.failures = 0
        proxy.resting_until = 0.0
