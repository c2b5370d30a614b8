"""The stand-in only ever calls this machine: webhook URLs must name a loopback host.

Checked on the URL itself, before any connection is made, and without resolving names other
than `localhost` (a name could resolve anywhere).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def loopback_problem(url: str) -> str | None:
    """Why `url` is not a loopback http(s) URL, or None when it is one."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must be an http(s) URL"
    host = (parts.hostname or "").lower()
    if not host:
        return "has no host"
    if host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return f"host {host!r} is not a loopback address"


def require_loopback_url(url: str, name: str) -> str:
    problem = loopback_problem(url)
    if problem is not None:
        raise ValueError(f"{name}: {url!r} {problem}")
    return url
